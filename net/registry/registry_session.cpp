// SPDX-License-Identifier: Apache-2.0
#include "net/registry/registry_session.hpp"

#include "crypto/encoding.hpp"
#include "net/registry/reference.hpp"
#include "net/registry/retry_policy.hpp"

#include <simdjson.h>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <random>

namespace hoist::net::registry {

namespace {

constexpr std::size_t max_token_body = 1u << 20;

std::string url_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char c : text) {
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace

// The ping and the token fetch are what a registry's other requests wait for, some of
// them holding a place in the budget meanwhile: queueing these behind those could
// deadlock. So they are paced by the rate and counted like any request, but never queued.
asio::awaitable<result<http_response>> registry_session::send_outside_queue(
    const std::string& host, const http_request& request, deadline until, std::size_t max_body,
    int attempt) {
    request_budget::permit permit;
    if (budget_ != nullptr) {
        auto granted = co_await budget_->acquire(host, until, true);
        if (!granted) {
            co_return granted.error();
        }
        permit = std::move(*granted);
    }
    auto response = co_await http_.send(request, until, max_body);
    int status = response ? response->status : 0;
    if (budget_ != nullptr) {
        budget_->record(host, request.method, status, request.body.size(),
                        response ? response->body.size() : 0, attempt);
    }
    permit.finish(status);
    co_return response;
}

int registry_session::attempts() const {
    return std::max(1, budget_ ? budget_->limits().attempts : options_.attempts);
}

std::chrono::milliseconds registry_session::request_timeout() const {
    return budget_ ? budget_->limits().request_timeout : options_.request_timeout;
}

struct registry_session::registry_state {
    enum class phase { unknown, resolving, ready, failed };

    std::string name;
    phase state = phase::unknown;
    origin where;
    std::optional<failure> error;
    std::optional<auth_challenge> challenge;
    bool credentials_loaded = false;
    std::optional<credential> credentials;
    wait_list resolved;
};

registry_session::registry_session(http_client& http, credential_store credentials,
                                   session_options options)
    : http_(http), credentials_(std::move(credentials)), options_(std::move(options)) {}

registry_session::~registry_session() = default;

bool registry_session::is_insecure(const std::string& registry) const {
    auto host = registry.substr(0, registry.rfind(':'));
    return std::any_of(
        options_.insecure_registries.begin(), options_.insecure_registries.end(),
        [&](const std::string& entry) { return entry == registry || entry == host; });
}

registry_session::registry_state& registry_session::state_for(const std::string& registry) {
    auto it = registries_.find(registry);
    if (it == registries_.end()) {
        auto state = std::make_unique<registry_state>();
        state->name = registry;
        it = registries_.emplace(registry, std::move(state)).first;
    }
    return *it->second;
}

result<origin> registry_session::origin_of(const std::string& registry) const {
    auto it = registries_.find(registry);
    if (it == registries_.end() || it->second->state != registry_state::phase::ready) {
        return fail(errc::bad_url, "registry " + registry + " not pinged yet");
    }
    return it->second->where;
}

asio::awaitable<result<origin>> registry_session::ping(std::string registry, deadline until) {
    auto& state = state_for(registry);
    for (;;) {
        switch (state.state) {
            case registry_state::phase::ready:
                co_return state.where;
            case registry_state::phase::failed:
                co_return *state.error;
            case registry_state::phase::resolving: {
                auto status = co_await state.resolved.wait(until);
                if (status != wait_status::notified) {
                    co_return fail(errc::timeout, "waiting for registry " + registry);
                }
                continue;
            }
            case registry_state::phase::unknown: {
                state.state = registry_state::phase::resolving;
                auto resolved = co_await resolve(state, until);
                if (resolved) {
                    state.state = registry_state::phase::ready;
                } else {
                    state.state = registry_state::phase::failed;
                    state.error = resolved.error();
                }
                state.resolved.notify_all();
                continue;
            }
        }
    }
}

asio::awaitable<result<void>> registry_session::resolve(registry_state& state, deadline until) {
    auto parsed = parse_url("https://" + api_host(state.name));
    if (!parsed) {
        co_return fail(errc::bad_url, "invalid registry \"" + state.name + "\"");
    }
    bool insecure = is_insecure(state.name);
    bool plain_allowed = insecure || is_loopback_host(parsed->where.host);
    origin where = parsed->where;
    where.verify_tls = !insecure;

    // The ping is retried like any request: a registry that answers its first request with
    // 429 or 503, or drops the connection, is busy, not absent.
    int attempts = this->attempts();
    auto request_timeout = this->request_timeout();
    bool scheme_settled = !plain_allowed;
    // Set once the registry is known to speak TLS although a handshake failed.
    bool speaks_tls = false;
    result<http_response> response = fail(errc::timeout, "registry " + state.name);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        auto attempt_deadline = until.within(request_timeout);
        http_request ping{"GET", url{where, "/v2/"}, {}, {}};
        response =
            co_await send_outside_queue(state.name, ping, attempt_deadline, 64u << 10, attempt);
        if (!response && !scheme_settled &&
            (response.error().is(errc::tls_handshake_failed) ||
             response.error().is(errc::protocol_error) ||
             response.error().is(errc::connection_closed))) {
            // Not TLS on the other side: loopback and insecure registries may speak plain
            // http. Only a plain answer settles it; otherwise TLS is tried again.
            origin plain = where;
            plain.scheme = "http";
            ping.target.where = plain;
            auto plain_response =
                co_await send_outside_queue(state.name, ping, attempt_deadline, 64u << 10, attempt);
            if (plain_response && plain_response->status == 400) {
                // A registry answers GET /v2/ with 200 or 401; 400 is what a TLS server
                // (Go's, docker-registry's) says to plain text on its port. So this one
                // speaks TLS, and the handshake failure above stands (retried if transient).
                scheme_settled = true;
                speaks_tls = true;
            } else if (plain_response) {
                where = plain;
                response = std::move(plain_response);
            } else if (is_transient(plain_response.error())) {
                // Plain http went unanswered too (a stall, a dropped connection): the
                // registry may speak it and be busy, so both are asked again, as for any
                // transient failure, instead of the handshake failure ending the ping.
                response = std::move(plain_response);
            }
        }
        if (response) {
            scheme_settled = true;
        }
        bool last = attempt + 1 == attempts || until.expired();
        if (!response) {
            if (is_transient(response.error()) && !last) {
                co_await sleep_for(retry_delay(attempt, std::nullopt), until);
                continue;
            }
            break;
        }
        if (should_retry_status(response->status) && !last) {
            co_await sleep_for(retry_delay(attempt, response->header("retry-after")), until);
            continue;
        }
        break;
    }
    if (!response) {
        failure why = with_context(response.error(), "registry " + state.name + " unreachable");
        if (speaks_tls) {
            why.detail += " (it answers plain http with HTTP 400, so it does speak TLS)";
        }
        co_return why;
    }
    state.where = where;
    if (response->status == 200) {
        co_return result<void>{};
    }
    if (response->status != 401) {
        // Where the answer came from (after a TLS probe, the plain retry or not) tells a
        // refusal of the probe from the registry's own answer.
        co_return status_failure(*response, "registry " + state.name +
                                                " does not serve the /v2/ API (asked at " +
                                                where.to_string() + "/v2/)");
    }
    auto header = response->header("www-authenticate");
    if (!header) {
        co_return fail(errc::bad_auth_challenge,
                       "registry " + state.name + " answered 401 without WWW-Authenticate", 401);
    }
    auto challenges = parse_www_authenticate(*header);
    if (!challenges) {
        co_return with_context(challenges.error(), "registry " + state.name);
    }
    const auth_challenge* chosen = pick_challenge(*challenges);
    if (chosen == nullptr) {
        co_return fail(errc::bad_auth_challenge,
                       "registry " + state.name +
                           " asks for an authentication scheme hoist "
                           "does not speak: " +
                           std::string(*header),
                       401);
    }
    if (chosen->scheme == "bearer" && chosen->params.count("realm") == 0) {
        co_return fail(errc::bad_auth_challenge,
                       "registry " + state.name + ": Bearer challenge without realm", 401);
    }
    state.challenge = *chosen;
    co_return result<void>{};
}

asio::awaitable<result<std::string>> registry_session::authorization(
    std::string registry, std::vector<std::string> scopes, deadline until) {
    if (!origin_of(registry)) {
        if (auto pinged = co_await ping(registry, until); !pinged) {
            co_return pinged.error();
        }
    }
    auto& state = state_for(registry);
    if (!state.challenge) {
        co_return std::string();
    }
    if (!state.credentials_loaded) {
        auto found = credentials_.lookup(state.name);
        if (!found) {
            co_return with_context(found.error(), "credentials for " + state.name);
        }
        state.credentials = *found;
        state.credentials_loaded = true;
    }
    if (state.challenge->scheme == "basic") {
        if (!state.credentials || state.credentials->username.empty()) {
            co_return std::string();
        }
        co_return "Basic " +
            crypto::base64_encode(state.credentials->username + ":" + state.credentials->password);
    }
    const auto& params = state.challenge->params;
    auto service = params.count("service") ? params.at("service") : std::string();
    token_key key(params.at("realm"), service, std::move(scopes));
    for (;;) {
        if (auto cached = tokens_.find(key)) {
            co_return "Bearer " + cached->token;
        }
        auto in_flight = token_fetches_.find(key);
        if (in_flight == token_fetches_.end()) {
            auto done = std::make_shared<wait_list>();
            token_fetches_.emplace(key, done);
            auto token = co_await fetch_token(state, key, until);
            token_fetches_.erase(key);
            done->notify_all();
            if (!token) {
                co_return token.error();
            }
            co_return "Bearer " + *token;
        }
        // Someone is fetching this very token: wait for it rather than ask again.
        auto done = in_flight->second;
        auto status = co_await done->wait(until);
        if (status != wait_status::notified) {
            co_return fail(errc::timeout, "waiting for a token for " + state.name);
        }
        if (!tokens_.find(key)) {
            // The other fetch failed; try ourselves so the error reaches this caller too.
            auto token = co_await fetch_token(state, key, until);
            if (!token) {
                co_return token.error();
            }
            co_return "Bearer " + *token;
        }
    }
}

asio::awaitable<result<std::string>> registry_session::fetch_token(registry_state& state,
                                                                   token_key key, deadline until) {
    ++stats_.token_fetches;
    auto realm = parse_url(key.realm());
    if (!realm) {
        co_return with_context(realm.error(), "token realm of registry " + state.name);
    }
    // The credentials would cross the network in the clear.
    if (leaves_tls(state.where, realm->where) && !is_insecure(realm->where.authority())) {
        co_return fail(errc::insecure_refused, "token realm " + realm->where.to_string() +
                                                   " of registry " + state.name + " is plain http");
    }
    http_request request;
    request.target = *realm;
    std::string query;
    auto add = [&](std::string_view name, std::string_view value) {
        query += query.empty() ? "" : "&";
        query += std::string(name) + "=" + url_encode(value);
    };
    const auto& creds = state.credentials;
    if (creds && !creds->identity_token.empty()) {
        // OAuth2 refresh-token grant, as docker does with identity tokens.
        request.method = "POST";
        add("grant_type", "refresh_token");
        add("refresh_token", creds->identity_token);
        add("client_id", "hoist");
        if (!key.service().empty()) {
            add("service", key.service());
        }
        std::string scope_list;
        for (const auto& scope : key.scopes()) {
            scope_list += (scope_list.empty() ? "" : " ") + scope;
        }
        add("scope", scope_list);
        request.body = std::move(query);
        request.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    } else {
        if (!key.service().empty()) {
            add("service", key.service());
        }
        for (const auto& scope : key.scopes()) {
            add("scope", scope);
        }
        if (!query.empty()) {
            request.target.target +=
                (request.target.target.find('?') == std::string::npos ? "?" : "&") + query;
        }
        if (creds && !creds->username.empty()) {
            request.headers.push_back(
                {"authorization",
                 "Basic " + crypto::base64_encode(creds->username + ":" + creds->password)});
        }
    }
    auto response = co_await send_outside_queue(
        realm->where.authority(), request, until.within(this->request_timeout()), max_token_body);
    std::string what = "token for " + state.name + " from " + realm->where.to_string();
    if (!response) {
        co_return with_context(response.error(), what);
    }
    if (response->status == 401 || response->status == 403) {
        co_return fail(errc::unauthorized,
                       what + ": credentials refused" +
                           (creds ? "" : " (no credentials found for " + state.name + ")"),
                       response->status);
    }
    if (response->status != 200) {
        co_return status_failure(*response, what);
    }
    auto parsed = parse_token_response(response->body);
    if (!parsed) {
        co_return with_context(parsed.error(), what);
    }
    auto stored = tokens_.store(key, parsed->token, parsed->expires_in, parsed->issued_at);
    co_return stored.token;
}

void registry_session::reject_authorization(const std::string& registry,
                                            const std::vector<std::string>& scopes,
                                            const std::string& header_value,
                                            std::optional<std::string> www_authenticate) {
    auto& state = state_for(registry);
    if (www_authenticate) {
        // The registry may have changed its mind (a new realm, another scheme).
        if (auto challenges = parse_www_authenticate(*www_authenticate)) {
            if (const auth_challenge* chosen = pick_challenge(*challenges)) {
                bool same_realm = state.challenge && state.challenge->scheme == chosen->scheme &&
                                  state.challenge->params == chosen->params;
                if (!same_realm && (chosen->scheme != "bearer" || chosen->params.count("realm"))) {
                    auth_challenge kept = *chosen;
                    kept.params.erase("scope");
                    kept.params.erase("error");
                    state.challenge = std::move(kept);
                }
            }
        }
    }
    if (state.challenge && state.challenge->scheme == "bearer" &&
        header_value.starts_with("Bearer ")) {
        const auto& params = state.challenge->params;
        auto service = params.count("service") ? params.at("service") : std::string();
        tokens_.invalidate(token_key(params.at("realm"), service, scopes),
                           std::string_view(header_value).substr(7));
    }
}

asio::awaitable<result<http_response>> registry_session::send(std::string registry,
                                                              registry_call call, deadline until) {
    // Pinged already (the common case): no coroutine call for it.
    auto where = origin_of(registry);
    if (!where) {
        where = co_await ping(registry, until);
        if (!where) {
            co_return where.error();
        }
    }
    url target{*where, call.target};
    if (call.target.starts_with("http://") || call.target.starts_with("https://")) {
        auto parsed = parse_url(call.target);
        if (!parsed) {
            co_return parsed.error();
        }
        target = *parsed;
        if (target.where.host == where->host && target.where.port == where->port) {
            target.where.verify_tls = where->verify_tls;
        }
        // An upload Location may point elsewhere; not in the clear, unless named insecure.
        if (leaves_tls(*where, target.where) && !is_insecure(target.where.authority())) {
            co_return fail(errc::insecure_refused, "registry " + registry + " sent us to " +
                                                       target.where.to_string() +
                                                       ", plain http from an https registry");
        }
    }
    target.where.http1_only = call.bulk;
    // Credentials go only to the registry's own origin, never to a host it points us at.
    bool same_origin = target.where.host == where->host && target.where.port == where->port &&
                       target.where.scheme == where->scheme;
    http_request request{std::move(call.method), std::move(target), std::move(call.headers),
                         std::move(call.body)};
    std::size_t auth_slot = request.headers.size();
    bool auth_refreshed = false;
    int attempts = this->attempts();
    auto request_timeout = this->request_timeout();
    for (int attempt = 0; attempt < attempts; ++attempt) {
        std::string auth;
        // Most registries of a test or a mirror need no credentials: skip the lookup then.
        if (same_origin && state_for(registry).challenge) {
            auto header = co_await authorization(registry, call.scopes, until);
            if (!header) {
                co_return header.error();
            }
            auth = std::move(*header);
        }
        request.headers.resize(auth_slot);
        if (!auth.empty()) {
            request.headers.push_back({"authorization", auth});
        }
        request_budget::permit permit;
        if (budget_ != nullptr) {
            auto granted = co_await budget_->acquire(registry, until);
            if (!granted) {
                co_return granted.error();
            }
            permit = std::move(*granted);
        }
        auto response = co_await http_.send(request, until.within(request_timeout), call.max_body);
        int status = response ? response->status : 0;
        if (budget_ != nullptr) {
            budget_->record(registry, request.method, status, request.body.size(),
                            response ? response->body.size() : 0, attempt);
        }
        permit.finish(status);
        bool last = attempt + 1 == attempts || until.expired();
        if (!response) {
            if (is_transient(response.error()) && !last) {
                co_await sleep_for(retry_delay(attempt, std::nullopt), until);
                continue;
            }
            co_return response.error();
        }
        if (response->status == 401 && same_origin && !auth_refreshed) {
            auth_refreshed = true;
            ++stats_.auth_retries;
            auto challenge = response->header("www-authenticate");
            reject_authorization(registry, call.scopes, auth,
                                 challenge ? std::optional<std::string>(*challenge) : std::nullopt);
            --attempt;  // a fresh token is not a retry of a failure
            continue;
        }
        if (should_retry_status(response->status) && !last) {
            co_await sleep_for(retry_delay(attempt, response->header("retry-after")), until);
            continue;
        }
        co_return std::move(*response);
    }
    co_return fail(errc::timeout, request.method + " " + request.target.where.to_string() +
                                      request.target.target + ": out of attempts");
}

std::string describe_error_body(std::string_view body) {
    if (body.empty() || body.size() > (1u << 20)) {
        return {};
    }
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(body);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc)) {
        return {};
    }
    simdjson::ondemand::array errors;
    if (doc["errors"].get_array().get(errors)) {
        return {};
    }
    std::string out;
    for (auto item : errors) {
        simdjson::ondemand::object entry;
        if (item.get_object().get(entry)) {
            return {};
        }
        std::string_view code, message;
        std::string text;
        for (auto field : entry) {
            std::string_view key;
            if (field.unescaped_key().get(key)) {
                return {};
            }
            if (key == "code") {
                if (field.value().get_string().get(code) == simdjson::SUCCESS) {
                    text = std::string(code) + (text.empty() ? "" : ": " + text);
                }
            } else if (key == "message") {
                if (field.value().get_string().get(message) == simdjson::SUCCESS) {
                    text += (text.empty() ? "" : ": ") + std::string(message);
                }
            }
        }
        if (!text.empty()) {
            out += (out.empty() ? "" : "; ") + text;
        }
    }
    return out;
}

failure status_failure(const http_response& response, std::string_view what) {
    errc code = errc::unexpected_status;
    switch (response.status) {
        case 401:
            code = errc::unauthorized;
            break;
        case 403:
            code = errc::denied;
            break;
        case 404:
            code = errc::not_found;
            break;
        case 429:
            code = errc::rate_limited;
            break;
        default:
            if (response.status >= 500) {
                code = errc::server_error;
            }
    }
    std::string detail = std::string(what) + ": HTTP " + std::to_string(response.status);
    if (auto described = describe_error_body(response.body); !described.empty()) {
        detail += " (" + described + ")";
    }
    auto failed = fail(code, std::move(detail), response.status);
    if (auto retry_after = response.header("retry-after")) {
        failed.retry_after = parse_retry_after(*retry_after);
    }
    return failed;
}

}  // namespace hoist::net::registry
