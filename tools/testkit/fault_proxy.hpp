// SPDX-License-Identifier: Apache-2.0
/// A fault-injecting HTTP/1.1 proxy in front of one registry, for tests and scripts that
/// check how hoist copes with a flaky registry: 429s, 503s, connections reset before or
/// after the registry did the work, and connections that go silent. Faults are drawn
/// from a seeded generator, so a run can be repeated.
#pragma once

#include "tools/testkit/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::testkit {

/// reset_body stays the last: the proxy counts faults in an array indexed by kind.
enum class fault_kind {
    none,          ///< forwarded and answered faithfully
    rate_limit,    ///< 429 with `Retry-After: 1` and an OCI error body; not forwarded
    unavailable,   ///< 503 with an OCI error body; not forwarded
    reset_before,  ///< connection reset on the request's head, before its body is read
    reset_after,   ///< forwarded, then the connection reset instead of the answer
    stall,         ///< not forwarded; the connection stays silent, then closes
    /// forwarded; the answer's head and the first half of its body are sent, then the
    /// connection stays silent, then closes (a download that stops partway)
    stall_body,
    /// forwarded; the answer's head and the first half of its body are sent, then the
    /// connection is reset (a download cut partway)
    reset_body,
};

/// "none", "rate_limit", "unavailable", "reset_before", "reset_after", "stall",
/// "stall_body", "reset_body".
std::string_view fault_name(fault_kind kind);

struct fault_options {
    /// Seeds the generator that picks faults. Requests arrive in an order that depends
    /// on the client's concurrency, so the same seed gives the same sequence of
    /// decisions, not necessarily the same faulted requests.
    std::uint64_t seed = 1;
    /// Probability per request of each fault; their sum must not exceed 1.
    double rate_limit = 0;
    double unavailable = 0;
    double reset_before = 0;
    double reset_after = 0;
    double stall = 0;
    double stall_body = 0;
    double reset_body = 0;
    /// How long a stalled connection stays silent before it is closed.
    std::chrono::milliseconds stall_time = std::chrono::seconds(3);
    /// Only requests with one of these methods ("PUT", …) are faulted; empty: all.
    std::vector<std::string> methods;
    /// Only requests whose target contains one of these ("/referrers/", ".sig") are
    /// faulted; empty: all.
    std::vector<std::string> targets;
    /// Faults injected in all; further requests are forwarded faithfully.
    std::size_t max_faults = std::numeric_limits<std::size_t>::max();
    /// The same request (method and target) is faulted at most this many times in a
    /// row, so a client that retries always gets through.
    int max_consecutive = 2;
    /// Request and response bodies are held in memory, up to this size.
    std::size_t max_body = 64u << 20;
    /// Bound on one forwarded request, from sending it upstream to its whole response.
    std::chrono::milliseconds upstream_timeout = std::chrono::seconds(60);
    /// Serves the OCI 1.1 referrers API in front of an upstream without it (see
    /// referrers_api.hpp), `referrers_page_size` referrers per answer (0: all).
    bool referrers_api = false;
    std::size_t referrers_page_size = 0;
    /// Without referrers_api: answers `GET …/referrers/…` with this status instead of
    /// forwarding it (0: forwarded; docker-registry answers 404), as registries without
    /// the API but other routing do (400).
    int referrers_refusal = 0;
};

/// What the proxy did so far.
struct fault_counts {
    std::size_t requests = 0;         ///< HTTP requests received (TLS probes not included)
    std::size_t forwarded = 0;        ///< requests sent upstream (reset_after included)
    std::size_t upstream_errors = 0;  ///< forwarded requests without an upstream answer (502)
    /// Forwarded requests the upstream answered with a status of 400 or more.
    std::size_t upstream_refusals = 0;
    /// Connections the proxy itself answered 400: TLS probes and unparsable requests.
    std::size_t refused = 0;
    std::size_t rate_limit = 0;
    std::size_t unavailable = 0;
    std::size_t reset_before = 0;
    std::size_t reset_after = 0;
    std::size_t stall = 0;
    std::size_t stall_body = 0;
    std::size_t reset_body = 0;

    std::size_t faults() const {
        return rate_limit + unavailable + reset_before + reset_after + stall + stall_body +
               reset_body;
    }
    std::size_t of(fault_kind kind) const;
    /// "requests=… forwarded=… rate_limit=… …" for logs and test messages.
    std::string to_string() const;
};

/// One request as the proxy received it.
struct seen_request {
    std::chrono::steady_clock::time_point at;
    std::string method;
    std::string target;
    fault_kind fault = fault_kind::none;  ///< what the proxy did to it
};

/// A plain-HTTP/1.1 server on 127.0.0.1 (a free port; keep-alive, Content-Length and
/// chunked request bodies) that forwards every request to one upstream registry origin
/// over hoist's own HTTP client (HTTP/2 over TLS, verified against a CA file), and
/// returns the answer with hop-by-hop headers dropped and `Location` headers that point
/// upstream rewritten to the proxy, so uploads continue through it. Bodies are held in
/// memory: it is meant for small test images.
///
/// A TLS ClientHello is answered with a plain-HTTP 400, as a plain registry does, so
/// clients that try https first fall back to http.
///
/// Runs on its own thread with its own io_context. All accessors are thread-safe.
class fault_proxy {
public:
    /// `upstream`: "https://host:port" or "host:port" (https); `ca_file`: the PEM bundle
    /// that verifies it (empty: the system roots).
    /// Errors: errc::bad_options (unparsable upstream, probabilities), system errors from
    /// bind.
    static result<std::unique_ptr<fault_proxy>> start(std::string upstream, std::string ca_file,
                                                      fault_options options);

    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;
    /// stop().
    ~fault_proxy();

    /// Stops accepting, closes every connection (stalled ones included) and shuts the
    /// upstream client down; waits for the thread (bounded). Idempotent.
    void stop();

    std::uint16_t port() const;
    /// "127.0.0.1:PORT": the registry name clients use to go through the proxy.
    std::string host_port() const;
    /// "http://127.0.0.1:PORT".
    std::string base_url() const;
    /// The upstream origin, "https://host:port".
    std::string upstream() const;

    fault_counts counts() const;
    /// Faults of one kind injected so far.
    std::size_t injected(fault_kind kind) const;
    /// Requests received so far.
    std::size_t requests() const;
    /// The last faulted requests (up to 1000), oldest first: "reset_after PUT /v2/…".
    std::vector<std::string> fault_log() const;
    /// Per connection, in order: its first bytes and every response head written (the
    /// last 1000 events), to tell which connection got what when a client is confused.
    std::vector<std::string> traffic_log() const;
    /// The last requests received (up to 1000), oldest first: when each came and what
    /// the proxy did to it, to tell how long a client waited before asking again.
    std::vector<seen_request> request_log() const;

    struct impl;

private:
    explicit fault_proxy(std::unique_ptr<impl> state);
    std::unique_ptr<impl> impl_;
};

}  // namespace hoist::testkit
