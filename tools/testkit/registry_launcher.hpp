// SPDX-License-Identifier: Apache-2.0
/// Real docker-registry (distribution 2.8) instances on 127.0.0.1 for integration tests,
/// demos and benchmarks: plain HTTP, TLS with a generated certificate, basic auth
/// (htpasswd) or token auth (with a `token_server`).
#pragma once

#include "tools/testkit/error.hpp"
#include "tools/testkit/token_server.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::testkit {

struct registry_options {
    enum class kind {
        tls,         ///< HTTPS (HTTP/2 via ALPN), no authentication
        plain,       ///< plain HTTP/1.1, no authentication
        basic_auth,  ///< HTTPS + htpasswd basic auth
        token_auth,  ///< HTTPS + bearer tokens from a token_server
    };
    kind mode = kind::tls;
    /// Directory for everything the instance writes: config.yml, ca.pem/key.pem,
    /// htpasswd, registry.log and storage/. Created if missing and kept afterwards
    /// (reusing it keeps the stored images). Empty: a fresh mkdtemp directory
    /// $TMPDIR/hoist-registry-XXXXXX (or under /tmp), removed by the destructor; those a
    /// killed process left behind are swept by the next start (see .owner.lock).
    std::string root_dir;
    /// Account for basic_auth and token_auth.
    std::string username = "hoist";
    /// Empty: a random password.
    std::string password;
    /// token_auth: the issuer to trust; the account above is added to it. Null: the
    /// instance starts its own, configured from `token_options` (served over HTTPS with
    /// the registry's certificate, so `ca_file()` covers both).
    std::shared_ptr<token_server> token_issuer;
    token_server_options token_options;
    /// token_auth: the realm the registry names in its challenges, when not the issuer's
    /// own (a realm a client must refuse to follow, say).
    std::string token_realm;
    /// The registry's log level; "info" also logs why a token was rejected.
    std::string log_level = "info";
    /// Bound on the wait for the registry to answer.
    std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
    /// The registry executable. Empty: $HOIST_DOCKER_REGISTRY, else `docker-registry`,
    /// else `registry` from $PATH.
    std::string registry_binary;
};

/// A running docker-registry child process and its files.
///
/// The process is stopped (SIGTERM, then SIGKILL after 5 s) by `stop()` or the
/// destructor, and dies with the thread that started it (PR_SET_PDEATHSIG), so it never
/// outlives a test binary, even one that crashes. Start it from a long-lived thread.
/// Not thread-safe; the files it names may be read from any thread.
class registry_instance {
public:
    using kind = registry_options::kind;

    /// Picks a free port, writes the configuration (and certificate, htpasswd, token
    /// trust bundle), starts `docker-registry serve` and waits until `GET /v2/` answers
    /// (over TLS verified against ca_file(), so it is this registry that answers). A port
    /// lost to another process in between is retried twice.
    /// Errors: errc::executable_not_found, errc::registry_exited and
    /// errc::start_timeout (detail: the end of the registry's log), errc::command_failed
    /// (htpasswd), errc::io_failed, errc::bad_options, crypto errors.
    static result<registry_instance> start(registry_options options);

    registry_instance(registry_instance&&) noexcept;
    registry_instance& operator=(registry_instance&&) noexcept;
    /// Stops the registry and removes the directory if it is a temporary one.
    ~registry_instance();

    kind mode() const;
    /// "127.0.0.1:PORT", the registry's host in image references.
    std::string host_port() const;
    std::uint16_t port() const;
    /// "https://127.0.0.1:PORT" (or http:// for kind::plain).
    std::string base_url() const;

    /// The instance directory (`registry_options::root_dir`, or the temporary one).
    const std::filesystem::path& root_dir() const;
    /// The registry's storage root (`storage.filesystem.rootdirectory`): root_dir()/storage.
    std::filesystem::path storage_dir() const;
    /// PEM certificate to trust (it is its own CA); empty for kind::plain.
    std::filesystem::path ca_file() const;
    /// The registry's combined stdout+stderr.
    std::filesystem::path log_file() const;

    /// The whole log so far.
    std::string log() const;
    /// The access-log lines so far, oldest first, without the start-up probe's, e.g.
    /// `127.0.0.1 - - [02/Jan/2025:15:04:05 +0000] "HEAD /v2/ HTTP/2.0" 200 2 "" "curl/7.88.1"`.
    std::vector<std::string> access_log() const;
    /// Waits until the access log has at least `lines` lines, up to `timeout`; true if it
    /// has. Needed because the registry may write a line after the client already has the
    /// response (HTTP/2 in particular). Bounded polling of the log file.
    bool wait_for_access_log(std::size_t lines,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
    /// The access log once it holds every request answered before this call: a probe is
    /// sent after them, and the log is read once the registry has logged the probe (it logs
    /// a request right after answering it), so no earlier request is still unlogged.
    /// Probe lines are left out, as always. Fails the wait (nullopt) after `timeout`.
    std::optional<std::vector<std::string>> settled_access_log(
        std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

    /// The account for basic_auth and token_auth; empty otherwise.
    const std::string& username() const;
    const std::string& password() const;
    /// token_auth: the issuer the registry trusts; null otherwise.
    const std::shared_ptr<token_server>& token_issuer() const;

    /// True while the registry process runs.
    bool running();
    /// Stops the registry (files stay until destruction). Idempotent.
    void stop();

    struct state;

private:
    explicit registry_instance(std::unique_ptr<state> s);
    std::unique_ptr<state> state_;
};

/// "tls", "plain", "basic", "token" (and "basic_auth", "token_auth") → kind.
std::optional<registry_options::kind> parse_registry_kind(std::string_view name);

}  // namespace hoist::testkit
