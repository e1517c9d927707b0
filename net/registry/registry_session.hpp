// SPDX-License-Identifier: Apache-2.0
/// Talking to registries as an authenticated client: which origin serves a registry
/// (https, or http for loopback and registries named insecure), the /v2/ ping that tells
/// how it authenticates, credentials, bearer tokens per scope (fetched once however many
/// requests need them, refreshed on 401), and the requests themselves.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/http_client.hpp"
#include "net/registry/credentials.hpp"
#include "net/registry/request_budget.hpp"
#include "net/registry/token_cache.hpp"
#include "net/registry/www_authenticate.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hoist::net::registry {

struct session_options {
    /// Registries ("host" or "host:port") where plain http and unverified TLS are allowed.
    std::vector<std::string> insecure_registries;
    /// Deadline of one small request (ping, token, manifest, HEAD, tag page).
    std::chrono::milliseconds request_timeout{60'000};
    /// Attempts for requests that failed transiently (429, 5xx, resets): small and bounded;
    /// the engine's budgets do the heavy lifting.
    int attempts = 3;
};

/// A request to a registry, with what it needs access to.
struct registry_call {
    std::string method = "GET";
    std::string target;  ///< "/v2/..." on the registry, or an absolute URL
    header_list headers;
    std::string body;
    std::vector<std::string> scopes;  ///< e.g. {"repository:foo/bar:pull"}
    std::size_t max_body = 16u << 20;
    /// A large body: send it over an HTTP/1.1 connection of its own (see bulk_threshold).
    bool bulk = false;
};

struct session_stats {
    std::size_t token_fetches = 0;
    std::size_t auth_retries = 0;
};

class registry_session {
public:
    // lifetime: `http` outlives the session (both owned by the command or the engine).
    registry_session(http_client& http, credential_store credentials, session_options options);
    ~registry_session();
    registry_session(const registry_session&) = delete;
    registry_session& operator=(const registry_session&) = delete;

    /// Finds the origin serving `registry` and how it authenticates (GET /v2/). Done once
    /// per registry; concurrent callers wait for the first. Errors name the registry.
    asio::awaitable<result<origin>> ping(std::string registry, deadline until);

    /// Sends a request with the right credentials, retrying once with fresh ones on 401
    /// and a bounded number of times on transient failures. Returns any HTTP status: the
    /// caller decides what it means (see `status_failure`).
    asio::awaitable<result<http_response>> send(std::string registry, registry_call call,
                                                deadline until);

    /// The Authorization header value for `scopes` on `registry` (empty: none needed).
    /// For streaming requests that cannot be replayed after a 401.
    asio::awaitable<result<std::string>> authorization(std::string registry,
                                                       std::vector<std::string> scopes,
                                                       deadline until);
    /// Forgets the token that a 401 rejected, so the next `authorization` fetches anew.
    void reject_authorization(const std::string& registry, const std::vector<std::string>& scopes,
                              const std::string& header_value,
                              std::optional<std::string> www_authenticate);

    /// The origin of a registry already pinged.
    result<origin> origin_of(const std::string& registry) const;
    http_client& http() { return http_; }
    const session_options& options() const { return options_; }

    /// Every request from now on waits for `budget` and is counted by it; its limits
    /// (attempts, request timeout) replace the session's. Null: no budget.
    // lifetime: `budget` outlives its use by the session.
    void set_budget(request_budget* budget) { budget_ = budget; }
    /// Tries per request, and how long one may take (for a streamed body: how long it may
    /// go without progress), from the budget when there is one.
    int attempts() const;
    std::chrono::milliseconds request_timeout() const;
    request_budget* budget() const { return budget_; }
    const session_stats& stats() const { return stats_; }

private:
    /// A request sent without queueing for the budget, but paced and counted by it.
    asio::awaitable<result<http_response>> send_outside_queue(const std::string& host,
                                                              const http_request& request,
                                                              deadline until, std::size_t max_body,
                                                              int attempt = 0);
    struct registry_state;

    asio::awaitable<result<void>> resolve(registry_state& state, deadline until);
    asio::awaitable<result<std::string>> fetch_token(registry_state& state, token_key key,
                                                     deadline until);
    registry_state& state_for(const std::string& registry);
    bool is_insecure(const std::string& registry) const;

    http_client& http_;
    credential_store credentials_;
    session_options options_;
    token_cache tokens_;
    std::map<std::string, std::unique_ptr<registry_state>> registries_;
    std::map<token_key, std::shared_ptr<wait_list>> token_fetches_;
    session_stats stats_;
    request_budget* budget_ = nullptr;
};

/// Turns a response with an unexpected status into a failure: 401 unauthorized, 403
/// denied, 404 not_found, 429 rate_limited, 5xx server_error, else unexpected_status.
/// The detail is `what` plus the status and the registry's error codes and messages.
failure status_failure(const http_response& response, std::string_view what);

/// The OCI error list of a response body ("MANIFEST_UNKNOWN: manifest unknown; ..."),
/// empty when the body is not one.
std::string describe_error_body(std::string_view body);

}  // namespace hoist::net::registry
