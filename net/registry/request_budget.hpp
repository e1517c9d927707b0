// SPDX-License-Identifier: Apache-2.0
/// How much a run may ask of each registry, and what it did ask.
///
/// A budget bounds requests in flight (over all registries and per registry host) and
/// their rate per host (a token bucket), and adapts to the registry: each 429 halves the
/// host's window of requests in flight (at most once per half second), each success
/// grows it back by one request per window's worth of successes, up to the configured
/// limit; the rate follows the window. The engine sets the limits per phase.
///
/// The accounting counts, per host: requests by method and status, bytes, retries,
/// 429s, and time spent waiting on the budget.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace hoist::net::registry {

struct budget_limits {
    std::size_t inflight = 512;       ///< requests in flight over all registries
    std::size_t host_inflight = 128;  ///< requests in flight per registry host
    double rate = 2000;               ///< requests per second per host; 0: no limit
    double burst = 200;               ///< requests a host may take at once above the rate
    int attempts = 5;                 ///< tries per request on 429, 5xx, resets, timeouts
    std::chrono::milliseconds request_timeout{60'000};
};

struct host_accounting {
    /// method → status (0: no response) → count
    std::map<std::string, std::map<int, std::size_t>> requests;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::size_t retries = 0;
    std::size_t rate_limited = 0;  ///< 429 responses
    std::chrono::duration<double> budget_wait{};
    std::size_t window_halvings = 0;

    std::size_t total_requests() const;
};

struct accounting {
    std::map<std::string, host_accounting> hosts;
    host_accounting& host(const std::string& name) { return hosts[name]; }
    host_accounting total() const;
};

class request_budget {
public:
    explicit request_budget(budget_limits limits = {});
    ~request_budget();
    request_budget(const request_budget&) = delete;
    request_budget& operator=(const request_budget&) = delete;

    /// New limits (a new phase); adaptive windows start again from them.
    void set_limits(budget_limits limits);
    const budget_limits& limits() const { return limits_; }

    /// Where requests are counted from now on (null: nowhere).
    // lifetime: the sink outlives its use here (the engine's report holds it).
    void set_accounting(accounting* sink) { sink_ = sink; }
    accounting* accounting_sink() const { return sink_; }

    /// A place for one request to `host`. Release it with `finish`.
    class permit {
    public:
        permit() = default;
        permit(permit&& other) noexcept;
        permit& operator=(permit&& other) noexcept;
        ~permit();
        /// The outcome: an HTTP status, or 0 when no response came.
        void finish(int status);
        /// Still holds its place (not finished, not moved from).
        bool held() const { return budget_ != nullptr; }

    private:
        friend class request_budget;
        request_budget* budget_ = nullptr;
        std::string host_;
    };

    /// Waits until `host` may take one more request (slot and rate), or `until`.
    /// `beside_held`: the caller already holds a permit for the other half of one transfer
    /// (an upload fed by a running download), so this one is granted past the in-flight
    /// limits, paced by the rate only. Queueing there could deadlock: every place taken by
    /// a transfer waiting for its second one. The overshoot is at most one per upload fed
    /// by a download (several, when one download feeds the uploads to several registries).
    asio::awaitable<result<permit>> acquire(const std::string& host, deadline until,
                                            bool beside_held = false);

    /// Counts a request (its attempt number from 0), its outcome and its bytes.
    void record(const std::string& host, const std::string& method, int status, std::uint64_t sent,
                std::uint64_t received, int attempt);
    void record_bytes(const std::string& host, std::uint64_t sent, std::uint64_t received);

    /// The current window of `host` (for tests and progress output).
    double window(const std::string& host) const;

private:
    struct host_state;
    host_state& state_for(const std::string& host);
    void release(const std::string& host, int status);

    budget_limits limits_;
    accounting* sink_ = nullptr;
    std::size_t inflight_ = 0;
    wait_list total_waiters_;
    std::map<std::string, std::unique_ptr<host_state>> hosts_;
};

}  // namespace hoist::net::registry
