// SPDX-License-Identifier: Apache-2.0
/// Registry credentials from the user's auth files and docker credential helpers, found
/// the way docker and containers/image find them.
#pragma once

#include "net/error.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net::registry {

/// What to authenticate with: a user name and password, or an identity token (an OAuth2
/// refresh token for the token endpoint), never both from the same source.
struct credential {
    std::string username;
    std::string password;
    std::string identity_token;

    friend bool operator==(const credential&, const credential&) = default;
};

inline constexpr std::chrono::milliseconds default_helper_timeout{10'000};

/// Runs `docker-credential-<helper> get` (found through PATH, never through a shell) with
/// `server` on stdin and reads {"ServerURL","Username","Secret"} from stdout. Username
/// "<token>" means Secret is an identity token. A non-zero exit printing "credentials not
/// found…" means no credentials (nullopt), as does an answer with neither user nor secret.
/// The helper runs in its own process group, which is killed after `timeout`.
/// Blocks the calling thread until the helper ends.
/// Errors: errc::credentials_failed naming the helper: not found in PATH, timed out,
/// killed by a signal, other non-zero exit (with the first line it printed), malformed
/// JSON. The helper's successful output is never quoted in errors.
result<std::optional<credential>> run_credential_helper(std::string_view helper,
                                                        std::string_view server,
                                                        std::chrono::milliseconds timeout);

/// Credentials per registry host, from auth files tried in order; the first file that
/// has credentials for the host wins. Within one file:
///  1. credHelpers[host] → that helper;
///  2. else the auths entry for the host: with a repository, the longest of
///     "host/ns/repo", "host/ns", "host" that has an entry (containers' namespaced keys);
///     keys may also be written "https://host", "http://host/v1/" (scheme and path
///     dropped), and docker.io, index.docker.io and registry-1.docker.io name the same
///     registry. An exact key wins over a normalized one; among normalized ones, the first
///     in the file. Entries with neither auth, username, password nor identitytoken are
///     markers left by `docker login` with a credsStore and are skipped;
///  3. else credsStore → that helper.
/// Helpers are asked for the host ("host:port"), or "https://index.docker.io/v1/" for
/// Docker Hub as docker does. Missing files are skipped; an empty file has no entries.
///
/// Results, errors included, are cached per (host, repository), and each helper runs at
/// most once per server, so a broken helper costs one timeout, not one per image.
/// Thread-safe; lookup blocks while a helper runs. Secrets never appear in errors.
class credential_store {
public:
    /// The files containers/image reads: $REGISTRY_AUTH_FILE alone when it is set;
    /// otherwise ${XDG_RUNTIME_DIR}/containers/auth.json (when XDG_RUNTIME_DIR is set),
    /// ${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json, and
    /// $DOCKER_CONFIG/config.json or else $HOME/.docker/config.json.
    static std::vector<std::string> environment_files();
    static credential_store from_environment(
        std::chrono::milliseconds helper_timeout = default_helper_timeout);

    explicit credential_store(std::vector<std::string> files,
                              std::chrono::milliseconds helper_timeout = default_helper_timeout);
    credential_store(credential_store&&) noexcept;
    credential_store& operator=(credential_store&&) noexcept;
    ~credential_store();

    /// Credentials for `host` ("registry.example", "localhost:5000", "docker.io") and,
    /// optionally, the repository path on it ("library/busybox"); nullopt when there are
    /// none (anonymous access).
    /// Errors: errc::credentials_failed naming the file or helper: unreadable file,
    /// malformed JSON (line and column), wrong field types, an auth that is not
    /// base64("user:password"), a failing helper (see run_credential_helper).
    result<std::optional<credential>> lookup(std::string_view host,
                                             std::string_view repository = {});

    const std::vector<std::string>& files() const;

private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace hoist::net::registry
