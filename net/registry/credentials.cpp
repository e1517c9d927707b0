// SPDX-License-Identifier: Apache-2.0
#include "net/registry/credentials.hpp"

#include "crypto/encoding.hpp"
#include "net/http_types.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace hoist::net::registry {
namespace {

// simdjson 3.0's document has no at_end(); past the last token current_location() says so.
bool at_end(simdjson::ondemand::document& doc) {
    const char* at = nullptr;
    return doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
}

// simdjson's message without its trailing period, to be followed by a position.
std::string json_message(simdjson::error_code e) {
    std::string out = simdjson::error_message(e);
    while (!out.empty() && (out.back() == '.' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

namespace ondemand = simdjson::ondemand;
using json_type = ondemand::json_type;

// docker keeps Docker Hub credentials under its v1 index URL, in files and in helpers.
constexpr std::string_view docker_hub = "docker.io";
constexpr std::string_view docker_hub_server = "https://index.docker.io/v1/";

constexpr std::size_t max_helper_output = 1 << 20;
constexpr std::size_t max_file_size = 16 << 20;

std::string errno_text(int e) {
    return std::system_category().message(e);
}

std::string_view trim(std::string_view s) {
    std::size_t start = s.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) {
        return {};
    }
    return s.substr(start, s.find_last_not_of(" \t\r\n") - start + 1);
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c + ('a' - 'A'));
        }
    }
    return out;
}

// An auths/credHelpers key, or a host, in the form lookups compare: the scheme and any
// path after a scheme dropped ("https://index.docker.io/v1/" → "docker.io"), the host
// lower-cased, Docker Hub's aliases folded into "docker.io", and a namespace path kept
// when there was no scheme ("quay.io/org/" → "quay.io/org").
std::string normalize_key(std::string_view key) {
    bool had_scheme = false;
    for (std::string_view scheme : {"https://", "http://"}) {
        if (key.size() >= scheme.size() && iequals(key.substr(0, scheme.size()), scheme)) {
            key.remove_prefix(scheme.size());
            had_scheme = true;
            break;
        }
    }
    std::size_t slash = key.find('/');
    std::string out = ascii_lower(key.substr(0, slash));
    if (out == "index.docker.io" || out == "registry-1.docker.io") {
        out = docker_hub;
    }
    if (!had_scheme && slash != std::string_view::npos) {
        std::string_view path = key.substr(slash);
        while (!path.empty() && path.back() == '/') {
            path.remove_suffix(1);
        }
        out += path;
    }
    return out;
}

std::string helper_server(const std::string& host) {
    return host == docker_hub ? std::string(docker_hub_server) : host;
}

// "line 3, column 7" for an offset into `text`.
std::string line_column(std::string_view text, std::size_t offset) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string json_problem(simdjson::error_code e, ondemand::document& doc,
                         const simdjson::padded_string& text) {
    std::string out = "malformed JSON";
    const char* at = nullptr;
    if (e != simdjson::INCOMPLETE_ARRAY_OR_OBJECT && !doc.current_location().get(at) &&
        at >= text.data() && at <= text.data() + text.size()) {
        out += " at " + line_column(text, static_cast<std::size_t>(at - text.data()));
    }
    return out + ": " + json_message(e);
}

// ---- running helpers ----------------------------------------------------------------

class fd_guard {
public:
    fd_guard() = default;
    explicit fd_guard(int fd) : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    fd_guard& operator=(fd_guard&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~fd_guard() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
};

struct pipe_ends {
    fd_guard read;
    fd_guard write;
};

int open_pipe(pipe_ends& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return errno;
    }
    p.read = fd_guard(fds[0]);
    p.write = fd_guard(fds[1]);
    return 0;
}

struct process_outcome {
    bool timed_out = false;
    bool too_much_output = false;
    int status = 0;  ///< as from waitpid
    std::string out;
    std::string err;
};

void reap(pid_t pid, int& status) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

// Kills the whole process group: a helper that is a shell script leaves its children
// (the sleep, the curl) holding our pipes otherwise.
void kill_and_reap(pid_t pid, int& status) {
    ::kill(-pid, SIGKILL);
    reap(pid, status);
}

// Runs argv[0] from PATH with `input` on stdin; failure() holds only what went wrong, the
// caller says which program it was.
result<process_outcome> run_process(std::vector<std::string> argv, std::string_view input,
                                    std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + timeout;
    // The input is written before the child exists: it fits in the pipe buffer, and a
    // child that exits without reading cannot raise SIGPIPE in this process.
    if (input.size() > PIPE_BUF) {
        return fail(errc::credentials_failed, "input too long");
    }
    pipe_ends in, out, err;
    for (pipe_ends* p : {&in, &out, &err}) {
        if (int e = open_pipe(*p)) {
            return fail(errc::credentials_failed, "pipe: " + errno_text(e));
        }
    }
    for (std::size_t done = 0; done < input.size();) {
        ssize_t n = ::write(in.write.get(), input.data() + done, input.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return fail(errc::credentials_failed, "writing stdin: " + errno_text(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    in.write.reset();

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_adddup2(&actions, in.read.get(), 0);
    ::posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
    ::posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
    sigset_t no_signals;
    sigemptyset(&no_signals);
    sigset_t default_signals;
    sigemptyset(&default_signals);
    sigaddset(&default_signals, SIGPIPE);
    ::posix_spawnattr_setsigmask(&attr, &no_signals);
    ::posix_spawnattr_setsigdefault(&attr, &default_signals);
    ::posix_spawnattr_setpgroup(&attr, 0);
    ::posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    int spawn_error = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    if (spawn_error != 0) {
        return fail(errc::credentials_failed, spawn_error == ENOENT
                                                  ? std::string("not found in PATH")
                                                  : "cannot run: " + errno_text(spawn_error));
    }
    in.read.reset();
    out.write.reset();
    err.write.reset();

    process_outcome outcome;
    pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
    std::string* buffers[2] = {&outcome.out, &outcome.err};
    bool open[2] = {true, true};
    while ((open[0] || open[1]) && !outcome.too_much_output) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) {
            outcome.timed_out = true;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            fds[i].fd = open[i] ? (i == 0 ? out.read.get() : err.read.get()) : -1;
        }
        int ready = ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) {
            int e = errno;
            kill_and_reap(pid, outcome.status);
            return fail(errc::credentials_failed, "poll: " + errno_text(e));
        }
        for (int i = 0; i < 2 && ready > 0; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            char chunk[4096];
            ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                buffers[i]->append(chunk, static_cast<std::size_t>(n));
                outcome.too_much_output = buffers[i]->size() > max_helper_output;
            } else if (n == 0 || errno != EINTR) {
                open[i] = false;
            }
        }
    }
    if (outcome.timed_out || outcome.too_much_output) {
        kill_and_reap(pid, outcome.status);
        return outcome;
    }
    // Both pipes are closed; the helper should exit right away, but it may not.
    while (true) {
        pid_t waited = ::waitpid(pid, &outcome.status, WNOHANG);
        if (waited == pid) {
            return outcome;
        }
        if (waited < 0 && errno != EINTR) {
            return fail(errc::credentials_failed, "waitpid: " + errno_text(errno));
        }
        if (clock::now() >= deadline) {
            outcome.timed_out = true;
            kill_and_reap(pid, outcome.status);
            return outcome;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::string first_line(std::string_view text) {
    text = trim(text);
    text = text.substr(0, text.find('\n'));
    constexpr std::size_t limit = 200;
    std::string out(trim(text.substr(0, limit)));
    if (text.size() > limit) {
        out += "…";
    }
    return out;
}

result<std::optional<credential>> parse_helper_answer(const std::string& json) {
    auto bad = [](const std::string& what) { return fail(errc::credentials_failed, what); };
    simdjson::padded_string text(json);
    ondemand::parser parser;
    ondemand::document doc;
    ondemand::object object;
    if (auto e = parser.iterate(text).get(doc)) {
        return bad("malformed JSON: " + json_message(e));
    }
    if (auto e = doc.get_object().get(object)) {
        return bad(e == simdjson::INCORRECT_TYPE ? "answer is not a JSON object"
                                                 : json_problem(e, doc, text));
    }
    std::string username;
    std::string secret;
    for (auto member : object) {
        ondemand::field field;
        std::string_view key;
        if (auto e = std::move(member).get(field)) {
            return bad(json_problem(e, doc, text));
        }
        if (auto e = field.unescaped_key().get(key)) {
            return bad(json_problem(e, doc, text));
        }
        // Go's encoding/json matches field names case-insensitively; so do we.
        std::string* target = iequals(key, "Username") ? &username
                              : iequals(key, "Secret") ? &secret
                                                       : nullptr;
        if (target == nullptr) {
            continue;
        }
        json_type type;
        if (auto e = field.value().type().get(type)) {
            return bad(json_problem(e, doc, text));
        }
        if (type == json_type::null) {
            continue;
        }
        std::string_view value;
        if (type != json_type::string || field.value().get_string().get(value)) {
            return bad("\"" + std::string(key) + "\" is not a string");
        }
        *target = value;
    }
    if (!at_end(doc)) {
        return bad("malformed JSON: content after the object");
    }
    if (username.empty() && secret.empty()) {
        return std::optional<credential>();
    }
    credential out;
    if (username == "<token>") {
        out.identity_token = std::move(secret);
    } else {
        out.username = std::move(username);
        out.password = std::move(secret);
    }
    return std::optional<credential>(std::move(out));
}

// ---- auth files ---------------------------------------------------------------------

struct auth_entry {
    std::string key;
    std::string normalized;
    std::string auth;
    std::string username;
    std::string password;
    std::string identity_token;

    bool is_marker() const {
        return auth.empty() && username.empty() && password.empty() && identity_token.empty();
    }
};

struct auth_file {
    std::string path;
    std::vector<std::pair<std::string, std::string>> cred_helpers;  // normalized key, helper
    std::vector<auth_entry> auths;                                  // in file order
    std::string creds_store;
};

class auth_file_reader {
public:
    auth_file_reader(std::string path, ondemand::document& doc, const simdjson::padded_string& text)
        : path_(std::move(path)), doc_(doc), text_(text) {}

    failure bad(const std::string& what) const {
        return fail(errc::credentials_failed, path_ + ": " + what);
    }
    failure malformed(simdjson::error_code e) const { return bad(json_problem(e, doc_, text_)); }

    // nullopt for null: Go leaves a field unset for null, and so do we.
    result<std::optional<ondemand::object>> object_of(ondemand::value& v,
                                                      const std::string& where) const {
        json_type type;
        if (auto e = v.type().get(type)) {
            return malformed(e);
        }
        if (type == json_type::null) {
            return std::optional<ondemand::object>();
        }
        ondemand::object object;
        if (type != json_type::object) {
            return bad(where + " is not an object");
        }
        if (auto e = v.get_object().get(object)) {
            return malformed(e);
        }
        return std::optional<ondemand::object>(object);
    }

    result<void> read_string(ondemand::value& v, std::string& out, const std::string& where) const {
        json_type type;
        if (auto e = v.type().get(type)) {
            return malformed(e);
        }
        if (type == json_type::null) {
            return {};
        }
        std::string_view s;
        if (type != json_type::string) {
            return bad(where + " is not a string");
        }
        if (auto e = v.get_string().get(s)) {
            return malformed(e);
        }
        out = s;
        return {};
    }

    template <class Fn>
    result<void> for_each_member(ondemand::object& object, Fn&& fn) const {
        for (auto member : object) {
            ondemand::field field;
            std::string_view key;
            if (auto e = std::move(member).get(field)) {
                return malformed(e);
            }
            if (auto e = field.unescaped_key().get(key)) {
                return malformed(e);
            }
            if (auto r = fn(key, field.value()); !r) {
                return r;
            }
        }
        return {};
    }

    result<auth_file> read() {
        auth_file out;
        out.path = path_;
        ondemand::object root;
        {
            json_type type;
            if (auto e = doc_.type().get(type)) {
                return malformed(e);
            }
            if (type != json_type::object) {
                return bad("not a JSON object");
            }
            if (auto e = doc_.get_object().get(root)) {
                return malformed(e);
            }
        }
        auto r = for_each_member(root, [&](std::string_view key, ondemand::value& value) {
            if (iequals(key, "auths")) {
                return read_auths(value, out.auths);
            }
            if (iequals(key, "credHelpers")) {
                return read_helpers(value, out.cred_helpers);
            }
            if (iequals(key, "credsStore")) {
                return read_string(value, out.creds_store, "credsStore");
            }
            return result<void>();
        });
        if (!r) {
            return r.error();
        }
        if (!at_end(doc_)) {
            return bad("malformed JSON: content after the top-level object");
        }
        return out;
    }

private:
    result<void> read_auths(ondemand::value& v, std::vector<auth_entry>& out) const {
        auto object = object_of(v, "auths");
        if (!object || !*object) {
            return object ? result<void>() : result<void>(object.error());
        }
        return for_each_member(**object, [&](std::string_view key, ondemand::value& value) {
            std::string where = "auths[\"" + std::string(key) + "\"]";
            auth_entry entry;
            entry.key = key;
            entry.normalized = normalize_key(key);
            auto fields = object_of(value, where);
            if (!fields || !*fields) {
                return fields ? result<void>() : result<void>(fields.error());
            }
            auto r = for_each_member(**fields, [&](std::string_view name, ondemand::value& field) {
                std::string at = where + "." + std::string(name);
                if (iequals(name, "auth")) {
                    return read_string(field, entry.auth, at);
                }
                if (iequals(name, "username")) {
                    return read_string(field, entry.username, at);
                }
                if (iequals(name, "password")) {
                    return read_string(field, entry.password, at);
                }
                if (iequals(name, "identitytoken")) {
                    return read_string(field, entry.identity_token, at);
                }
                return result<void>();
            });
            if (!r) {
                return r;
            }
            if (!entry.is_marker()) {
                out.push_back(std::move(entry));
            }
            return result<void>();
        });
    }

    result<void> read_helpers(ondemand::value& v,
                              std::vector<std::pair<std::string, std::string>>& out) const {
        auto object = object_of(v, "credHelpers");
        if (!object || !*object) {
            return object ? result<void>() : result<void>(object.error());
        }
        return for_each_member(**object, [&](std::string_view key, ondemand::value& value) {
            std::string helper;
            std::string normalized = normalize_key(key);
            if (auto r = read_string(value, helper, "credHelpers[\"" + std::string(key) + "\"]");
                !r) {
                return r;
            }
            if (!helper.empty()) {
                out.emplace_back(std::move(normalized), std::move(helper));
            }
            return result<void>();
        });
    }

    std::string path_;
    ondemand::document& doc_;
    const simdjson::padded_string& text_;
};

result<auth_file> load_auth_file(const std::string& path) {
    auto bad = [&](const std::string& what) {
        return fail(errc::credentials_failed, path + ": " + what);
    };
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return auth_file{path, {}, {}, {}};
        }
        return bad("cannot open: " + errno_text(errno));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        return bad("cannot stat: " + errno_text(errno));
    }
    if (!S_ISREG(info.st_mode)) {
        return bad("not a regular file");
    }
    std::string content;
    char chunk[16384];
    while (true) {
        ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return bad("cannot read: " + errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        content.append(chunk, static_cast<std::size_t>(n));
        if (content.size() > max_file_size) {
            return bad("larger than " + std::to_string(max_file_size) + " bytes");
        }
    }
    if (trim(content).empty()) {
        return auth_file{path, {}, {}, {}};  // as docker reads an empty config.json
    }
    simdjson::padded_string text(content);
    ondemand::parser parser;
    ondemand::document doc;
    if (auto e = parser.iterate(text).get(doc)) {
        return bad("malformed JSON: " + json_message(e));
    }
    return auth_file_reader(path, doc, text).read();
}

result<std::optional<credential>> decode_entry(const auth_file& file, const auth_entry& entry) {
    auto bad = [&](const std::string& what) {
        return fail(errc::credentials_failed,
                    file.path + ": auths[\"" + entry.key + "\"].auth " + what);
    };
    credential out;
    if (!entry.auth.empty()) {
        std::string text(trim(entry.auth));
        if (text.size() % 4 != 0) {
            text.append(4 - text.size() % 4, '=');  // tolerate missing padding
        }
        auto decoded = crypto::base64_decode(text);
        if (!decoded) {
            return bad("is not valid base64");
        }
        std::size_t colon = decoded->find(':');
        if (colon == std::string::npos) {
            return bad("does not decode to \"user:password\"");
        }
        out.username = decoded->substr(0, colon);
        // docker trims NULs that some old tools appended to the password.
        std::string_view password = std::string_view(*decoded).substr(colon + 1);
        while (!password.empty() && password.back() == '\0') {
            password.remove_suffix(1);
        }
        while (!password.empty() && password.front() == '\0') {
            password.remove_prefix(1);
        }
        out.password = password;
    } else {
        out.username = entry.username;
        out.password = entry.password;
    }
    out.identity_token = entry.identity_token;
    if (out == credential{}) {
        return std::optional<credential>();
    }
    return std::optional<credential>(std::move(out));
}

// The auths entry for `host` and `repository`: longest namespace first, exact keys
// before normalized ones, file order among equals.
const auth_entry* match_auth(const auth_file& file, const std::string& host,
                             std::string_view repository) {
    std::vector<std::string> candidates;
    std::string candidate = host;
    while (!repository.empty() && repository.front() == '/') {
        repository.remove_prefix(1);
    }
    while (!repository.empty() && repository.back() == '/') {
        repository.remove_suffix(1);
    }
    if (!repository.empty()) {
        candidate += "/";
        candidate += repository;
    }
    while (true) {
        candidates.push_back(candidate);
        std::size_t slash = candidate.rfind('/');
        if (slash == std::string::npos) {
            break;
        }
        candidate.resize(slash);
    }
    for (const auto& c : candidates) {
        for (const auto& entry : file.auths) {
            if (entry.key == c) {
                return &entry;
            }
        }
        for (const auto& entry : file.auths) {
            if (entry.normalized == c) {
                return &entry;
            }
        }
    }
    return nullptr;
}

}  // namespace

result<std::optional<credential>> run_credential_helper(std::string_view helper,
                                                        std::string_view server,
                                                        std::chrono::milliseconds timeout) {
    std::string program = "docker-credential-" + std::string(helper);
    auto bad = [&](const std::string& what) {
        return fail(errc::credentials_failed, "credential helper " + program + ": " + what);
    };
    if (helper.empty() || helper.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
        return bad("invalid helper name");
    }
    auto outcome = run_process({program, "get"}, server, timeout);
    if (!outcome) {
        return bad(outcome.error().detail);
    }
    if (outcome->timed_out) {
        return bad("no answer within " + std::to_string(timeout.count()) + " ms; killed");
    }
    if (outcome->too_much_output) {
        return bad("printed more than " + std::to_string(max_helper_output) + " bytes; killed");
    }
    int status = outcome->status;
    if (WIFSIGNALED(status)) {
        const char* name = ::sigabbrev_np(WTERMSIG(status));
        return bad("killed by signal " + std::to_string(WTERMSIG(status)) +
                   (name ? std::string(" (SIG") + name + ")" : std::string()));
    }
    if (!WIFEXITED(status)) {
        return bad("ended abnormally");
    }
    if (WEXITSTATUS(status) != 0) {
        // docker-credential-helpers print errors on stdout; "credentials not found in
        // native keychain" is their way of saying there is nothing for this server.
        if (trim(outcome->out).starts_with("credentials not found")) {
            return std::optional<credential>();
        }
        std::string said = first_line(outcome->out);
        if (said.empty()) {
            said = first_line(outcome->err);
        }
        return bad("exit status " + std::to_string(WEXITSTATUS(status)) +
                   (said.empty() ? std::string() : ": " + said));
    }
    auto answer = parse_helper_answer(outcome->out);
    if (!answer) {
        return bad(answer.error().detail);
    }
    return answer;
}

struct credential_store::state {
    std::vector<std::string> files;
    std::chrono::milliseconds helper_timeout;
    std::mutex mutex;
    std::vector<std::optional<result<auth_file>>> loaded;  // by index in files, on first use
    std::map<std::string, result<std::optional<credential>>> helper_answers;
    std::map<std::string, result<std::optional<credential>>> answers;

    result<const auth_file*> file(std::size_t i) {
        if (!loaded[i]) {
            loaded[i].emplace(load_auth_file(files[i]));
        }
        if (!*loaded[i]) {
            return loaded[i]->error();
        }
        return &loaded[i]->value();
    }

    result<std::optional<credential>> ask_helper(const std::string& helper,
                                                 const std::string& server) {
        std::string key = helper + '\n' + server;
        auto it = helper_answers.find(key);
        if (it == helper_answers.end()) {
            it = helper_answers.emplace(key, run_credential_helper(helper, server, helper_timeout))
                     .first;
        }
        return it->second;
    }

    result<std::optional<credential>> find(const std::string& host, std::string_view repository) {
        for (std::size_t i = 0; i < files.size(); ++i) {
            auto loaded_file = file(i);
            if (!loaded_file) {
                return loaded_file.error();
            }
            const auth_file& f = **loaded_file;
            bool has_helper = false;
            for (const auto& [key, helper] : f.cred_helpers) {
                if (key == host) {
                    has_helper = true;
                    auto answer = ask_helper(helper, helper_server(host));
                    if (!answer) {
                        return with_context(answer.error(), f.path + ": credHelpers");
                    }
                    if (*answer) {
                        return answer;
                    }
                    break;
                }
            }
            if (has_helper) {
                continue;  // credHelpers decides for this host within its file
            }
            if (const auth_entry* entry = match_auth(f, host, repository)) {
                return decode_entry(f, *entry);
            }
            if (!f.creds_store.empty()) {
                auto answer = ask_helper(f.creds_store, helper_server(host));
                if (!answer) {
                    return with_context(answer.error(), f.path + ": credsStore");
                }
                if (*answer) {
                    return answer;
                }
            }
        }
        return std::optional<credential>();
    }
};

std::vector<std::string> credential_store::environment_files() {
    auto env = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    };
    if (std::string file = env("REGISTRY_AUTH_FILE"); !file.empty()) {
        return {file};
    }
    std::vector<std::string> out;
    if (std::string dir = env("XDG_RUNTIME_DIR"); !dir.empty()) {
        out.push_back(dir + "/containers/auth.json");
    }
    std::string home = env("HOME");
    std::string config_home = env("XDG_CONFIG_HOME");
    if (config_home.empty() && !home.empty()) {
        config_home = home + "/.config";
    }
    if (!config_home.empty()) {
        out.push_back(config_home + "/containers/auth.json");
    }
    if (std::string dir = env("DOCKER_CONFIG"); !dir.empty()) {
        out.push_back(dir + "/config.json");
    } else if (!home.empty()) {
        out.push_back(home + "/.docker/config.json");
    }
    return out;
}

credential_store credential_store::from_environment(std::chrono::milliseconds helper_timeout) {
    return credential_store(environment_files(), helper_timeout);
}

credential_store::credential_store(std::vector<std::string> files,
                                   std::chrono::milliseconds helper_timeout)
    : state_(std::make_unique<state>()) {
    state_->loaded.resize(files.size());
    state_->files = std::move(files);
    state_->helper_timeout = helper_timeout;
}

credential_store::credential_store(credential_store&&) noexcept = default;
credential_store& credential_store::operator=(credential_store&&) noexcept = default;
credential_store::~credential_store() = default;

const std::vector<std::string>& credential_store::files() const {
    return state_->files;
}

result<std::optional<credential>> credential_store::lookup(std::string_view host,
                                                           std::string_view repository) {
    std::string normalized = normalize_key(host);
    normalized.resize(std::min(normalized.size(), normalized.find('/')));
    if (normalized.empty()) {
        return fail(errc::credentials_failed, "empty registry host");
    }
    std::lock_guard lock(state_->mutex);
    std::string key = normalized + '/' + std::string(repository);
    auto it = state_->answers.find(key);
    if (it == state_->answers.end()) {
        it = state_->answers.emplace(key, state_->find(normalized, repository)).first;
    }
    return it->second;
}

}  // namespace hoist::net::registry
