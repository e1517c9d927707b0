// SPDX-License-Identifier: Apache-2.0
/// A loopback implementation of the Docker registry token protocol
/// (distribution/docs/spec/auth/token.md) for tests: issues ES256 JWTs that a real
/// docker-registry configured with `auth.token` accepts.
#pragma once

#include "tools/testkit/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::testkit {

/// One `scope` item: "repository:library/alpine:pull,push" → {"repository",
/// "library/alpine", {"pull", "push"}}.
struct resource_scope {
    std::string type;
    std::string name;
    std::vector<std::string> actions;
};

/// What a request asked for and got, for tests that check a client's scope handling.
struct token_request_record {
    std::string user;                     ///< empty: anonymous (or rejected credentials)
    std::string service;                  ///< the `service` parameter, as sent
    std::vector<resource_scope> scopes;   ///< as requested
    std::vector<resource_scope> granted;  ///< as put in the token's `access` claim
    int status = 0;                       ///< HTTP status of the response
};

struct token_server_options {
    /// The audience (`aud`) when a request has no `service` parameter. Requests naming
    /// another service get a token for that service, which its registry will reject.
    std::string service = "hoist-test-registry";
    /// The `iss` claim; the registry's `auth.token.issuer` must match.
    std::string issuer = "hoist-test-token-issuer";
    /// Accounts: user → password, checked against `Authorization: Basic`.
    std::map<std::string, std::string> users;
    /// Anonymous requests get `pull` on repositories when true, nothing otherwise.
    bool anonymous_pull = false;
    /// Lifetime of issued tokens (`expires_in`, `exp`). Note that docker-registry 2.8
    /// accepts tokens up to 60 s past `exp` (clock-skew leeway).
    std::chrono::seconds expires_in{300};
    /// Serve HTTPS with this certificate chain and key (PEM); both empty: plain HTTP.
    std::string tls_certificate_pem;
    std::string tls_private_key_pem;
    /// Which of the requested actions `user` ("" for anonymous) gets on `requested`.
    /// Empty function: authenticated users get everything they ask for, anonymous
    /// users what `anonymous_pull` allows. Called on the server's thread.
    std::function<std::vector<std::string>(std::string_view user, const resource_scope& requested)>
        grant;
};

/// An HTTP/1.1 (or HTTPS) server on 127.0.0.1 with a free port, answering
/// `GET /token?service=…&scope=…[&scope=…]` (optionally with `Authorization: Basic`) with
/// `{"token", "access_token", "expires_in", "issued_at"}`. Wrong credentials get 401.
///
/// Tokens are ES256 JWTs signed by a fresh P-256 key; the header carries the key's
/// self-signed certificate as `x5c`, and that certificate (`signing_certificate_pem()`) is
/// what a registry needs as `auth.token.rootcertbundle`.
///
/// Runs on its own thread with its own io_context, so a test's single-threaded client
/// io_context never has to drive it. All accessors are thread-safe.
class token_server {
public:
    /// Generates the signing key, binds the port and starts serving.
    /// Errors: crypto errors (key/certificate), errc::bad_options (unusable TLS key pair),
    /// system errors from bind.
    static result<std::shared_ptr<token_server>> start(token_server_options options);

    token_server(const token_server&) = delete;
    token_server& operator=(const token_server&) = delete;
    /// Stops serving; open connections are dropped.
    ~token_server();

    /// Stops the server thread and closes every connection. Idempotent.
    void stop();

    std::uint16_t port() const;
    /// "http[s]://127.0.0.1:PORT/token": the registry's `auth.token.realm`.
    std::string realm() const;
    const std::string& service() const;
    const std::string& issuer() const;
    /// PEM certificate of the token-signing key (the registry's `rootcertbundle`).
    const std::string& signing_certificate_pem() const;
    /// Adds or replaces an account. Takes effect for the next request.
    void add_user(std::string user, std::string password);
    /// Changes the lifetime of tokens issued from now on.
    void set_expires_in(std::chrono::seconds lifetime);

    /// Tokens issued (200 responses) so far.
    std::size_t tokens_issued() const;
    /// Every request to /token so far, in arrival order.
    std::vector<token_request_record> requests() const;

    struct impl;

private:
    explicit token_server(std::unique_ptr<impl> state);
    std::unique_ptr<impl> impl_;
};

/// Parses one scope item ("type:name:action,action"; the type may carry a class, as in
/// "repository(plugin)"); the name may itself contain ':' (a host with a port).
/// nullopt when there are fewer than three parts or the type or name is empty.
std::optional<resource_scope> parse_scope(std::string_view text);

}  // namespace hoist::testkit
