// SPDX-License-Identifier: Apache-2.0
/// Bearer tokens for the registry token flow (distribution "Token Authentication
/// Specification"): scopes, the token endpoint's JSON response, and a cache of tokens per
/// (realm, service, scope set) that forgets them before they expire.
#pragma once

#include "net/error.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net::registry {

/// Token lifetimes are wall-clock times: the auth server states them as issued_at (RFC
/// 3339) plus expires_in. A clock step makes a token look valid for too long (the
/// registry answers 401, the caller invalidates) or too short (an early refetch).
using token_clock = std::chrono::system_clock;

/// The lifetime assumed when expires_in is absent, and the least one honoured: the spec
/// says tokens must not be issued with less than 60 s to live.
inline constexpr std::chrono::seconds min_token_lifetime{60};

/// A cached token is handed out only while it stays valid for this long, or for a tenth
/// of its lifetime when that is shorter.
inline constexpr std::chrono::seconds max_token_margin{10};

/// The scope that allows listing the catalog.
inline constexpr std::string_view catalog_scope = "registry:catalog:*";

/// "repository:NAME:pull", or "repository:NAME:pull,push" when `push` is set.
std::string scope_for(std::string_view repository, bool push);

/// Normalizes a scope list: scopes naming the same resource ("type:name") are merged into
/// one with the union of their actions (sorted: "repository:a:pull" and
/// "repository:a:push" become "repository:a:pull,push"); the result is sorted and has no
/// duplicates. A scope without two colons is kept as it is.
std::vector<std::string> merge_scopes(std::vector<std::string> scopes);

/// What a token is for. The scopes are normalized with merge_scopes, so two keys asking
/// for the same access compare equal however their scope lists were written.
class token_key {
public:
    token_key(std::string realm, std::string service, std::vector<std::string> scopes);

    const std::string& realm() const { return realm_; }
    const std::string& service() const { return service_; }
    const std::vector<std::string>& scopes() const { return scopes_; }

    friend auto operator<=>(const token_key&, const token_key&) = default;
    friend bool operator==(const token_key&, const token_key&) = default;

private:
    std::string realm_;
    std::string service_;
    std::vector<std::string> scopes_;
};

struct bearer_token {
    std::string token;
    token_clock::time_point expires_at;
};

/// The token endpoint's answer (GET realm?service=…&scope=… or the OAuth2 POST form).
struct token_response {
    std::string token;  ///< "access_token" when non-empty, else "token"
    /// min_token_lifetime when absent; values below it are raised by token_cache::store.
    std::chrono::seconds expires_in = min_token_lifetime;
    std::optional<token_clock::time_point> issued_at;
    std::optional<std::string> refresh_token;
};

/// Parses the token endpoint's JSON body. Unknown fields are ignored.
/// Errors: errc::bad_response for malformed JSON, a body that is not an object, a field
/// of the wrong type, an issued_at that is not RFC 3339, or no token at all. The detail
/// never contains a token.
result<token_response> parse_token_response(std::string_view json);

/// Tokens per token_key with their expiry.
/// Not thread-safe: use one per worker thread, or guard it.
class token_cache {
public:
    using clock_function = std::function<token_clock::time_point()>;

    /// `now` is injectable so tests can move time.
    explicit token_cache(clock_function now = &token_clock::now);

    /// The token for `key` if it is still valid for at least
    /// min(max_token_margin, lifetime / 10); nullopt otherwise.
    std::optional<bearer_token> find(const token_key& key) const;

    /// Caches `token` for `key`, replacing any previous one, and returns it with its
    /// expiry: min(issued_at, now) + max(expires_in, min_token_lifetime). An issued_at in
    /// the future (server clock ahead) is not trusted. Expired entries are dropped from
    /// time to time, so the cache does not grow with tokens nobody asks for again.
    bearer_token store(const token_key& key, std::string token, std::chrono::seconds expires_in,
                       std::optional<token_clock::time_point> issued_at = std::nullopt);

    /// Forgets the token for `key` (the registry answered 401 with it). When
    /// `rejected_token` is given, only that token is forgotten: a fresher one stored by a
    /// concurrent request stays.
    void invalidate(const token_key& key, std::string_view rejected_token = {});

    /// Entries held, expired or not.
    std::size_t size() const { return entries_.size(); }

private:
    struct entry {
        bearer_token token;
        token_clock::duration margin;
    };

    void drop_expired(token_clock::time_point now);

    clock_function now_;
    std::map<token_key, entry> entries_;
    std::size_t sweep_at_;
};

}  // namespace hoist::net::registry
