// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/registry_launcher.hpp"

#include "crypto/x509_cert.hpp"
#include "tools/testkit/process.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace hoist::testkit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr auto certificate_validity = std::chrono::hours(24 * 30);
constexpr int port_attempts = 3;
constexpr auto stop_grace = 5s;
constexpr std::size_t log_tail_lines = 25;
// The readiness probe's User-Agent; access_log() leaves its requests out.
constexpr std::string_view probe_user_agent = "hoist-testkit-readiness-probe";

std::string random_password() {
    std::random_device device;
    static constexpr char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::string out;
    for (int i = 0; i < 24; ++i) {
        out += alphabet[device() % (sizeof(alphabet) - 1)];
    }
    return out;
}

// A JSON string literal is a valid YAML double-quoted scalar, so paths and names with
// any characters survive the trip into config.yml.
std::string yaml_string(std::string_view text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Created with its final mode, so a private key is never readable by others, not even
// briefly (a caller-supplied root_dir need not be private).
result<void> write_file(const fs::path& path, std::string_view content, mode_t mode = 0644) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return fail_errno(errno, "open " + path.string());
    }
    bool ok = ::fchmod(fd, mode) == 0;  // an existing file keeps its old mode otherwise
    for (std::size_t done = 0; ok && done < content.size();) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += ok ? static_cast<std::size_t>(n) : 0;
    }
    const int error_number = errno;
    if (::close(fd) != 0 || !ok) {
        return fail_errno(ok ? errno : error_number, "write " + path.string());
    }
    return {};
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string tail(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') {
        --pos;
    }
    for (std::size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
    }
    return pos == std::string::npos ? text : text.substr(pos == 0 ? 0 : pos + 1);
}

constexpr std::string_view temp_prefix = "hoist-registry-";
constexpr const char* lock_name = ".owner.lock";

// A temporary instance directory holds `.owner.lock`, flock()ed by the owning process for
// the directory's lifetime. A test process that is killed (ctest timeout, crash) cannot
// remove its directories, and benchmark storage can be large, so each new temporary
// directory first sweeps the ones whose lock nobody holds any more. The lock file is only
// renamed into place once locked, so a directory being set up is never swept.
void sweep_abandoned_dirs(const fs::path& parent) {
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->path().filename().string().starts_with(temp_prefix)) {
            continue;
        }
        const int fd = ::open((it->path() / lock_name).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;  // being created, or not ours
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            std::error_code ignored;
            fs::remove_all(it->path(), ignored);
        }
        ::close(fd);
    }
}

struct temp_dir {
    fs::path path;
    int lock_fd = -1;
};

result<temp_dir> make_temp_dir() {
    const char* tmp = std::getenv("TMPDIR");
    const fs::path parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    sweep_abandoned_dirs(parent);
    std::string pattern = (parent / (std::string(temp_prefix) + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return fail(errc::io_failed, "mkdtemp " + pattern + ": " + std::strerror(errno));
    }
    const fs::path dir = pattern;
    const fs::path staging = dir / ".owner.lock.new";
    const int fd = ::open(staging.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0 ||
        ::rename(staging.c_str(), (dir / lock_name).c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        if (fd >= 0) {
            ::close(fd);
        }
        std::error_code ignored;
        fs::remove_all(dir, ignored);
        return fail(errc::io_failed, "lock " + staging.string() + ": " + reason);
    }
    return temp_dir{dir, fd};
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// Asks the kernel for a free port by binding port 0. The registry binds it moments later;
// in the unlikely case another process takes it in between, start() retries.
result<std::uint16_t> free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fail_errno(errno, "socket");
    }
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof(address);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error_number = errno;
    ::close(fd);
    if (!ok) {
        return fail_errno(error_number, "bind 127.0.0.1:0");
    }
    return ntohs(address.sin_port);
}

// Writes to a socket the peer has closed raise SIGPIPE; BoringSSL writes with write(), not
// send(MSG_NOSIGNAL). This blocks SIGPIPE on the calling thread for the guard's lifetime
// and discards one raised meanwhile, leaving the process's disposition alone.
class sigpipe_guard {
public:
    sigpipe_guard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~sigpipe_guard() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
            const timespec now{0, 0};
            while (sigtimedwait(&pipe_, nullptr, &now) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    sigpipe_guard(const sigpipe_guard&) = delete;
    sigpipe_guard& operator=(const sigpipe_guard&) = delete;

private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
};

bool has_registry_headers(std::string response) {
    std::transform(response.begin(), response.end(), response.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return response.starts_with("http/1.1 ") &&
           response.find("\r\ndocker-distribution-api-version: registry/2.0") != std::string::npos;
}

// One `GET /v2/` on a fresh connection. True once the registry answers (any status: auth
// modes say 401) with its API version header. Over TLS the certificate is verified against
// our CA for 127.0.0.1, so another server that grabbed the port is never taken for ours.
// Every socket operation is bounded by a 1 s timeout.
bool answers_v2(std::uint16_t port, const fs::path& ca_file) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};
    const sockaddr_in address = loopback(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        return false;  // not listening yet: a loopback connect is refused at once
    }
    const timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));

    const std::string request = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                "\r\nUser-Agent: " + std::string(probe_user_agent) +
                                "\r\nConnection: close\r\n\r\n";
    std::string response;
    std::array<char, 4096> buffer{};
    auto headers_done = [&] {
        return response.find("\r\n\r\n") != std::string::npos || response.size() > 16384;
    };
    if (ca_file.empty()) {
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
            return false;
        }
        while (!headers_done()) {
            const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                break;
            }
            response.append(buffer.data(), static_cast<std::size_t>(n));
        }
        return has_registry_headers(response);
    }

    sigpipe_guard no_sigpipe;
    bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
    bssl::UniquePtr<SSL> ssl;
    bool ok = ctx && SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) == 1;
    if (ok) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
        ssl.reset(SSL_new(ctx.get()));
        static constexpr std::uint8_t http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
        ok = ssl && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1") == 1 &&
             SSL_set_alpn_protos(ssl.get(), http11, sizeof(http11)) == 0 &&
             SSL_set_fd(ssl.get(), fd) == 1 && SSL_connect(ssl.get()) == 1 &&
             SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) ==
                 static_cast<int>(request.size());
    }
    while (ok && !headers_done()) {
        const int n = SSL_read(ssl.get(), buffer.data(), static_cast<int>(buffer.size()));
        if (n <= 0) {
            break;
        }
        response.append(buffer.data(), static_cast<std::size_t>(n));
    }
    if (ok) {
        SSL_shutdown(ssl.get());  // close_notify, so the registry logs no handshake error
    }
    ERR_clear_error();
    return ok && has_registry_headers(response);
}

result<fs::path> registry_executable(const std::string& configured) {
    if (!configured.empty()) {
        return find_executable(configured);
    }
    if (const char* env = std::getenv("HOIST_DOCKER_REGISTRY"); env != nullptr && *env) {
        return find_executable(env);
    }
    if (auto debian = find_executable("docker-registry")) {
        return debian;
    }
    return find_executable("registry");  // the upstream binary's name
}

result<std::string> bcrypt_htpasswd_line(const std::string& user, const std::string& password) {
    // -i reads the password from stdin, keeping it off the command line; bcrypt (-B) is
    // the only scheme docker-registry's htpasswd auth accepts.
    auto run = run_command({"htpasswd", "-niB", "-C", "5", user}, password, 30s);
    if (!run) {
        return run.error();
    }
    const auto newline = run->out.find('\n');
    const std::string line = run->out.substr(0, newline);
    if (run->exit_status != 0 || !line.starts_with(user + ":$2")) {
        return fail(errc::command_failed,
                    "htpasswd exited with " + std::to_string(run->exit_status) + ": " + run->err);
    }
    return line + "\n";
}

}  // namespace

struct registry_instance::state {
    kind mode = kind::tls;
    fs::path dir;
    bool owns_dir = false;
    int lock_fd = -1;  // owns_dir: holds .owner.lock (see sweep_abandoned_dirs)
    std::uint16_t port = 0;
    std::string username;
    std::string password;
    std::shared_ptr<token_server> tokens;
    std::optional<child_process> process;

    state() = default;
    state(const state&) = delete;
    state& operator=(const state&) = delete;
    ~state() {
        if (process) {
            process->terminate(stop_grace);
        }
        if (owns_dir) {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
        if (lock_fd >= 0) {
            ::close(lock_fd);
        }
    }

    bool tls() const { return mode != kind::plain; }
    fs::path config_file() const { return dir / "config.yml"; }
    fs::path cert_file() const { return dir / "ca.pem"; }
    fs::path key_file() const { return dir / "key.pem"; }
    fs::path htpasswd_file() const { return dir / "htpasswd"; }
    fs::path token_bundle_file() const { return dir / "token-signer.pem"; }
    fs::path log_path() const { return dir / "registry.log"; }

    std::string config(const registry_options& options, const std::string& secret) const;
    result<void> launch(const registry_options& options, const fs::path& executable);
};

std::string registry_instance::state::config(const registry_options& options,
                                             const std::string& secret) const {
    std::string yaml;
    yaml += "version: 0.1\n";
    yaml += "log:\n";
    yaml += "  level: " + yaml_string(options.log_level) + "\n";
    yaml += "  formatter: text\n";
    // Access-log lines (Apache combined format) go to stdout, application logs to stderr;
    // both end up in registry.log.
    yaml += "  accesslog:\n    disabled: false\n";
    yaml += "storage:\n";
    yaml += "  filesystem:\n    rootdirectory: " + yaml_string((dir / "storage").string()) + "\n";
    yaml += "  delete:\n    enabled: true\n";
    // Nothing should rewrite the storage behind a test's back.
    yaml += "  maintenance:\n    uploadpurging:\n      enabled: false\n";
    yaml += "http:\n";
    yaml += "  addr: " + yaml_string("127.0.0.1:" + std::to_string(port)) + "\n";
    // Without a secret every start logs a warning and picks a random one anyway.
    yaml += "  secret: " + yaml_string(secret) + "\n";
    if (tls()) {
        yaml += "  tls:\n";
        yaml += "    certificate: " + yaml_string(cert_file().string()) + "\n";
        yaml += "    key: " + yaml_string(key_file().string()) + "\n";
    }
    yaml += "health:\n  storagedriver:\n    enabled: false\n";
    // Manifests naming foreign (non-distributable) layers by URL are refused unless allowed;
    // registries that serve Windows images allow them, and tests promote such images.
    yaml += "validation:\n  manifests:\n    urls:\n      allow:\n        - \"^https?://\"\n";
    if (mode == kind::basic_auth) {
        yaml += "auth:\n  htpasswd:\n";
        yaml += "    realm: \"hoist-test-registry\"\n";
        yaml += "    path: " + yaml_string(htpasswd_file().string()) + "\n";
    } else if (mode == kind::token_auth) {
        yaml += "auth:\n  token:\n";
        yaml += "    realm: " +
                yaml_string(options.token_realm.empty() ? tokens->realm() : options.token_realm) +
                "\n";
        yaml += "    service: " + yaml_string(tokens->service()) + "\n";
        yaml += "    issuer: " + yaml_string(tokens->issuer()) + "\n";
        yaml += "    rootcertbundle: " + yaml_string(token_bundle_file().string()) + "\n";
    }
    return yaml;
}

result<void> registry_instance::state::launch(const registry_options& options,
                                              const fs::path& executable) {
    const std::string secret = random_password();
    failure last = fail(errc::registry_exited);
    for (int attempt = 0; attempt < port_attempts; ++attempt) {
        auto chosen = free_port();
        if (!chosen) {
            return chosen.error();
        }
        port = *chosen;
        if (auto written = write_file(config_file(), config(options, secret), 0600); !written) {
            return written.error();
        }
        spawn_options spawn;
        spawn.argv = {executable.string(), "serve", config_file().string()};
        // REGISTRY_* variables override config.yml (e.g. a developer's REGISTRY_HTTP_ADDR).
        spawn.environment = environment_without({"REGISTRY_"});
        spawn.output_file = log_path();
        spawn.working_dir = dir;
        auto child = child_process::spawn(spawn);
        if (!child) {
            return child.error();
        }
        process.emplace(std::move(*child));

        const auto deadline = clock::now() + options.start_timeout;
        while (true) {
            if (answers_v2(port, tls() ? cert_file() : fs::path())) {
                return {};
            }
            if (!process->running()) {
                break;
            }
            if (clock::now() >= deadline) {
                process->terminate(0ms);
                process.reset();
                return fail(errc::start_timeout,
                            "no answer to GET /v2/ on 127.0.0.1:" + std::to_string(port) +
                                " after " + std::to_string(options.start_timeout.count()) +
                                " ms; log:\n" + tail(read_file(log_path()), log_tail_lines));
            }
            // Bounded polling of the port; returns early if the registry exits.
            process->wait_for(20ms);
        }
        const std::string log = read_file(log_path());
        last = fail(errc::registry_exited, "exit status " +
                                               std::to_string(process->exit_status().value_or(-1)) +
                                               "; log:\n" + tail(log, log_tail_lines));
        process.reset();
        if (log.find("address already in use") == std::string::npos) {
            break;
        }
    }
    return last;
}

registry_instance::registry_instance(std::unique_ptr<state> s) : state_(std::move(s)) {}
registry_instance::registry_instance(registry_instance&&) noexcept = default;
registry_instance& registry_instance::operator=(registry_instance&&) noexcept = default;
registry_instance::~registry_instance() = default;

result<registry_instance> registry_instance::start(registry_options options) {
    auto s = std::make_unique<state>();
    s->mode = options.mode;
    const bool authenticated = options.mode == kind::basic_auth || options.mode == kind::token_auth;
    if (authenticated &&
        (options.username.empty() || options.username.find(':') != std::string::npos)) {
        return fail(errc::bad_options, "username must be non-empty and contain no ':'");
    }
    if (options.start_timeout <= 0ms) {
        return fail(errc::bad_options, "start_timeout must be positive");
    }
    auto executable = registry_executable(options.registry_binary);
    if (!executable) {
        return executable.error();
    }

    if (options.root_dir.empty()) {
        auto dir = make_temp_dir();
        if (!dir) {
            return dir.error();
        }
        s->dir = std::move(dir->path);
        s->lock_fd = dir->lock_fd;
        s->owns_dir = true;  // from here on, `s` removes it on every error path
    } else {
        s->dir = fs::absolute(options.root_dir);
        std::error_code ec;
        fs::create_directories(s->dir, ec);
        if (ec) {
            return fail(errc::io_failed, "create " + s->dir.string() + ": " + ec.message());
        }
    }

    if (authenticated) {
        s->username = options.username;
        s->password = options.password.empty() ? random_password() : options.password;
    }

    crypto::self_signed identity;
    if (s->tls()) {
        // A subject unique to this instance: trust stores look issuers up by subject
        // name, so two registries' certificates must not share one.
        auto made =
            crypto::make_self_signed_cert("hoist test registry " + s->dir.filename().string(),
                                          {"127.0.0.1"}, {"localhost"}, certificate_validity);
        if (!made) {
            return failure{made.error(), "registry TLS certificate"};
        }
        identity = std::move(*made);
        if (auto w = write_file(s->cert_file(), identity.certificate_pem); !w) {
            return w.error();
        }
        if (auto w = write_file(s->key_file(), identity.private_key_pem, 0600); !w) {
            return w.error();
        }
    }

    if (options.mode == kind::basic_auth) {
        auto line = bcrypt_htpasswd_line(s->username, s->password);
        if (!line) {
            return line.error();
        }
        if (auto w = write_file(s->htpasswd_file(), *line, 0600); !w) {
            return w.error();
        }
    } else if (options.mode == kind::token_auth) {
        if (options.token_issuer) {
            s->tokens = options.token_issuer;
        } else {
            token_server_options token_options = options.token_options;
            token_options.tls_certificate_pem = identity.certificate_pem;
            token_options.tls_private_key_pem = identity.private_key_pem;
            auto started = token_server::start(std::move(token_options));
            if (!started) {
                return started.error();
            }
            s->tokens = std::move(*started);
        }
        s->tokens->add_user(s->username, s->password);
        if (auto w = write_file(s->token_bundle_file(), s->tokens->signing_certificate_pem()); !w) {
            return w.error();
        }
    }

    if (auto launched = s->launch(options, *executable); !launched) {
        return launched.error();
    }
    return registry_instance(std::move(s));
}

registry_options::kind registry_instance::mode() const {
    return state_->mode;
}

std::string registry_instance::host_port() const {
    return "127.0.0.1:" + std::to_string(state_->port);
}

std::uint16_t registry_instance::port() const {
    return state_->port;
}

std::string registry_instance::base_url() const {
    return (state_->tls() ? "https://" : "http://") + host_port();
}

const fs::path& registry_instance::root_dir() const {
    return state_->dir;
}
fs::path registry_instance::storage_dir() const {
    return state_->dir / "storage";
}
fs::path registry_instance::ca_file() const {
    return state_->tls() ? state_->cert_file() : fs::path();
}
fs::path registry_instance::log_file() const {
    return state_->log_path();
}

std::string registry_instance::log() const {
    return read_file(state_->log_path());
}

std::vector<std::string> registry_instance::access_log() const {
    // gorilla/handlers' combined log format, as docker-registry writes it to stdout:
    // host ident user [time] "request line" status size "referer" "user agent"
    static const std::regex access_line(R"(^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" \d{3} .*)");
    const std::string probe = "\"" + std::string(probe_user_agent) + "\"";
    std::vector<std::string> lines;
    std::istringstream in(log());
    for (std::string line; std::getline(in, line);) {
        if (std::regex_match(line, access_line) && !line.ends_with(probe)) {
            lines.push_back(std::move(line));
        }
    }
    return lines;
}

bool registry_instance::wait_for_access_log(std::size_t lines,
                                            std::chrono::milliseconds timeout) const {
    const auto deadline = clock::now() + timeout;
    while (access_log().size() < lines) {
        if (clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

std::optional<std::vector<std::string>> registry_instance::settled_access_log(
    std::chrono::milliseconds timeout) const {
    const std::string probe = "\"" + std::string(probe_user_agent) + "\"";
    auto probes_logged = [&] {
        auto text = log();
        std::size_t n = 0;
        for (auto at = text.find(probe); at != std::string::npos; at = text.find(probe, at + 1)) {
            ++n;
        }
        return n;
    };
    const auto before = probes_logged();
    if (!answers_v2(state_->port, state_->tls() ? state_->cert_file() : fs::path())) {
        return std::nullopt;
    }
    const auto deadline = clock::now() + timeout;
    while (probes_logged() <= before) {
        if (clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(10ms);
    }
    return access_log();
}

const std::string& registry_instance::username() const {
    return state_->username;
}
const std::string& registry_instance::password() const {
    return state_->password;
}

const std::shared_ptr<token_server>& registry_instance::token_issuer() const {
    return state_->tokens;
}

bool registry_instance::running() {
    return state_->process && state_->process->running();
}

void registry_instance::stop() {
    if (state_->process) {
        state_->process->terminate(stop_grace);
    }
}

std::optional<registry_options::kind> parse_registry_kind(std::string_view name) {
    using kind = registry_options::kind;
    if (name == "tls") {
        return kind::tls;
    }
    if (name == "plain") {
        return kind::plain;
    }
    if (name == "basic" || name == "basic_auth") {
        return kind::basic_auth;
    }
    if (name == "token" || name == "token_auth") {
        return kind::token_auth;
    }
    return std::nullopt;
}

}  // namespace hoist::testkit
