// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/diff_digests.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace hoist::engine {
namespace {

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/// Positions of quoted sha256 digests in one line.
std::vector<std::string_view> quoted_digests(std::string_view line) {
    constexpr std::string_view prefix = "\"sha256:";
    constexpr std::size_t length = prefix.size() + 64 + 1;
    std::vector<std::string_view> found;
    for (auto at = line.find(prefix); at != std::string_view::npos;
         at = line.find(prefix, at + 1)) {
        if (line.size() - at < length || line[at + length - 1] != '"') {
            continue;
        }
        std::string_view hex = line.substr(at + prefix.size(), 64);
        bool ok = true;
        for (char c : hex) {
            ok = ok && is_lower_hex(c);
        }
        if (ok) {
            found.push_back(line.substr(at + 1, length - 2));
        }
    }
    return found;
}

/// Reads both pipes until they close, so git never blocks on a full stderr pipe.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
    std::array<pollfd, 2> fds{pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
    std::array<char, 65536> buffer;
    int open_count = 2;
    while (open_count > 0) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n > 0) {
                (i == 0 ? out : err).append(buffer.data(), static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
}

std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

net::result<std::set<std::string>> diff_since_base(const std::string& top,
                                                   const std::string& base) {
    auto diff = run_git(top, {"diff", "--unified=0", base});
    if (!diff) {
        return diff.error();
    }
    return digests_in_diff(*diff);
}

}  // namespace

net::result<std::string> git_toplevel(const std::string& directory) {
    auto top = run_git(directory, {"rev-parse", "--show-toplevel"});
    if (!top) {
        return top.error();
    }
    return trim(*top);
}

std::set<std::string> digests_in_diff(std::string_view diff) {
    std::set<std::string> digests;
    while (!diff.empty()) {
        auto end = diff.find('\n');
        std::string_view line = diff.substr(0, end);
        auto found = quoted_digests(line);
        if (found.size() == 1) {
            digests.emplace(found.front());
        }
        if (end == std::string_view::npos) {
            break;
        }
        diff.remove_prefix(end + 1);
    }
    return digests;
}

net::result<std::string> run_git(const std::string& directory,
                                 const std::vector<std::string>& args) {
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        return net::fail(net::errc::io_failed, "pipe: " + std::string(std::strerror(errno)));
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        return net::fail(net::errc::io_failed, "pipe: " + std::string(std::strerror(errno)));
    }
    std::vector<std::string> argv_text{"git", "-C", directory};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_text) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    pid_t pid = 0;
    int spawned = ::posix_spawnp(&pid, "git", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    std::string out;
    std::string err;
    if (spawned == 0) {
        drain(out_pipe[0], err_pipe[0], out, err);
    }
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    std::string command = "git";
    for (const auto& arg : args) {
        command += ' ' + arg;
    }
    if (spawned != 0) {
        return net::fail(net::errc::io_failed,
                         "running " + command + ": " + std::string(std::strerror(spawned)));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return net::fail(net::errc::io_failed,
                         "running " + command + " in " + directory + " failed: " + trim(err));
    }
    return out;
}

net::result<std::set<std::string>> prow_diff_digests(const std::string& directory) {
    const char* job_type = std::getenv("JOB_TYPE");
    if (job_type == nullptr || *job_type == '\0') {
        return net::fail(net::errc::io_failed, "JOB_TYPE not set");
    }
    std::string type = job_type;
    std::string base;
    if (type == "presubmit" || type == "batch") {
        const char* sha = std::getenv("PULL_BASE_SHA");
        if (sha == nullptr || *sha == '\0') {
            return net::fail(net::errc::io_failed, "PULL_BASE_SHA not set");
        }
        base = sha;
    } else if (type == "postsubmit") {
        base = "HEAD^";
    } else {
        return net::fail(net::errc::io_failed, "unknown job type: " + type +
                                                   " (expected presubmit, batch or postsubmit)");
    }
    auto top = git_toplevel(directory);
    if (!top) {
        return top.error();
    }
    return diff_since_base(*top, base);
}

net::result<std::set<std::string>> since_diff_digests(const std::string& directory,
                                                      const std::string& since) {
    auto top = git_toplevel(directory);
    if (!top) {
        return top.error();
    }
    auto log = run_git(*top, {"log", "--since=" + since, "--format=%H"});
    if (!log) {
        return log.error();
    }
    std::string commits = trim(*log);
    if (commits.empty()) {
        return std::set<std::string>{};
    }
    std::string oldest = commits.substr(commits.find_last_of('\n') + 1);
    std::string base = oldest + "~1";
    if (!run_git(*top, {"rev-parse", "--verify", "--quiet", base})) {
        base = oldest;  // the oldest commit in the window has no parent
    }
    return diff_since_base(*top, base);
}

}  // namespace hoist::engine
