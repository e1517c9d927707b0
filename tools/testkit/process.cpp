// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

extern char** environ;

namespace hoist::testkit {
namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        reset(std::exchange(other.fd_, -1));
        return *this;
    }
    ~unique_fd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

std::string errno_text(int error_number) {
    return std::strerror(error_number);
}

int shell_status(int wait_status) {
    if (WIFEXITED(wait_status)) {
        return WEXITSTATUS(wait_status);
    }
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return 255;
}

int poll_timeout(clock::time_point deadline) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

struct child_stdio {
    int in = -1;
    int out = -1;
    int err = -1;
};

/// fork + execve with the child set up for tests: dies with the spawning thread, default
/// signal state, only `stdio` inherited. Returns the pid and a pidfd (or -1).
result<std::pair<pid_t, int>> fork_exec(const fs::path& executable,
                                        const std::vector<std::string>& argv,
                                        const std::vector<std::string>* environment,
                                        child_stdio stdio, const fs::path& working_dir) {
    // Everything the child needs is prepared before fork(): between fork and execve a
    // child of a multi-threaded process may only make async-signal-safe calls.
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    std::vector<char*> env;
    if (environment != nullptr) {
        for (const auto& entry : *environment) {
            env.push_back(const_cast<char*>(entry.c_str()));
        }
        env.push_back(nullptr);
    }
    char* const* envp = environment != nullptr ? env.data() : environ;
    const std::string exe = executable.string();
    const std::string cwd = working_dir.string();

    // The child reports a failed exec through this pipe; a successful exec closes it.
    std::array<int, 2> report{-1, -1};
    if (::pipe2(report.data(), O_CLOEXEC) != 0) {
        return fail_errno(errno, "pipe2");
    }
    unique_fd report_read(report[0]);
    unique_fd report_write(report[1]);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        return fail_errno(errno, "fork " + exe);
    }
    if (pid == 0) {
        auto die = [&](int error_number) {
            (void)!::write(report[1], &error_number, sizeof(error_number));
            ::_exit(127);
        };
        // Killed when the spawning thread exits; checking the parent afterwards closes the
        // race with a parent that died before prctl().
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
            die(errno);
        }
        if (::getppid() != parent) {
            ::_exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig = 1; sig < NSIG; ++sig) {
            ::signal(sig, SIG_DFL);  // ignored signals would stay ignored across exec
        }
        // Move the stdio sources out of the 0..2 range first so that dup2 onto 0..2
        // cannot clobber a source that happens to sit there.
        const std::array<int, 3> sources{stdio.in, stdio.out, stdio.err};
        std::array<int, 3> high{};
        for (std::size_t i = 0; i < 3; ++i) {
            high[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, 3);
            if (high[i] < 0) {
                die(errno);
            }
        }
        for (int target = 0; target < 3; ++target) {
            if (::dup2(high[target], target) < 0) {
                die(errno);
            }
        }
        // Descriptors other threads opened without O_CLOEXEC must not leak into servers
        // (they would keep, e.g., a test's listening socket alive).
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            die(errno);
        }
        ::execve(exe.c_str(), args.data(), envp);
        die(errno);
    }

    report_write.reset();
    int exec_errno = 0;
    ssize_t n = 0;
    do {
        n = ::read(report_read.get(), &exec_errno, sizeof(exec_errno));
    } while (n < 0 && errno == EINTR);
    if (n == sizeof(exec_errno)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return fail(errc::spawn_failed, exe + ": " + errno_text(exec_errno));
    }
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    return std::pair{pid, pidfd};
}

result<unique_fd> open_dev_null(int flags) {
    unique_fd fd(::open("/dev/null", flags | O_CLOEXEC));
    if (!fd) {
        return fail_errno(errno, "open /dev/null");
    }
    return fd;
}

}  // namespace

result<fs::path> find_executable(std::string_view name) {
    if (name.empty()) {
        return fail(errc::executable_not_found, "empty executable name");
    }
    if (name.find('/') != std::string_view::npos) {
        if (::access(std::string(name).c_str(), X_OK) == 0) {
            return fs::absolute(fs::path(name));
        }
        return fail(errc::executable_not_found, std::string(name));
    }
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const auto colon = dirs.find(':');
        const std::string_view dir = dirs.substr(0, colon);
        const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
            return fs::absolute(candidate);
        }
        if (colon == std::string_view::npos) {
            break;
        }
        dirs.remove_prefix(colon + 1);
    }
    return fail(errc::executable_not_found, std::string(name) + " (searched $PATH)");
}

std::vector<std::string> environment_without(const std::vector<std::string>& prefixes) {
    std::vector<std::string> out;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        bool drop = false;
        for (const auto& prefix : prefixes) {
            drop = drop || text.starts_with(prefix);
        }
        if (!drop) {
            out.emplace_back(text);
        }
    }
    return out;
}

result<child_process> child_process::spawn(const spawn_options& options) {
    if (options.argv.empty()) {
        return fail(errc::bad_options, "spawn: empty argv");
    }
    auto executable = find_executable(options.argv.front());
    if (!executable) {
        return executable.error();
    }
    auto in = open_dev_null(O_RDONLY);
    if (!in) {
        return in.error();
    }
    unique_fd out;
    if (options.output_file.empty()) {
        auto null_out = open_dev_null(O_WRONLY);
        if (!null_out) {
            return null_out.error();
        }
        out = std::move(*null_out);
    } else {
        out.reset(::open(options.output_file.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
        if (!out) {
            return fail(errc::io_failed, options.output_file.string() + ": " + errno_text(errno));
        }
    }
    // stdout and stderr share one O_APPEND description, so whole-line writes from either
    // never overwrite each other.
    auto spawned =
        fork_exec(*executable, options.argv, options.environment ? &*options.environment : nullptr,
                  {in->get(), out.get(), out.get()}, options.working_dir);
    if (!spawned) {
        return spawned.error();
    }
    return child_process(spawned->first, spawned->second);
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0 && !status_) {
            terminate();
        }
        if (pidfd_ >= 0) {
            ::close(pidfd_);
        }
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::exchange(other.pidfd_, -1);
        status_ = std::exchange(other.status_, std::nullopt);
    }
    return *this;
}

child_process::~child_process() {
    if (pid_ > 0 && !status_) {
        terminate();
    }
    if (pidfd_ >= 0) {
        ::close(pidfd_);
    }
}

void child_process::reap(int wait_status) {
    status_ = shell_status(wait_status);
    if (pidfd_ >= 0) {
        ::close(pidfd_);
        pidfd_ = -1;
    }
}

bool child_process::try_reap() {
    if (status_) {
        return true;
    }
    int wait_status = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(pid_, &wait_status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        reap(wait_status);
        return true;
    }
    if (r < 0) {
        // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN in this process).
        reap(W_EXITCODE(255, 0));
        return true;
    }
    return false;
}

bool child_process::running() {
    return pid_ > 0 && !try_reap();
}

bool child_process::wait_for(milliseconds timeout) {
    if (pid_ <= 0) {
        return true;
    }
    const auto deadline = clock::now() + timeout;
    while (!try_reap()) {
        if (clock::now() >= deadline) {
            return false;
        }
        if (pidfd_ >= 0) {
            pollfd exited{pidfd_, POLLIN, 0};
            ::poll(&exited, 1, poll_timeout(deadline));  // EINTR: loop re-checks
        } else {
            // No pidfd (kernel < 5.3): fall back to polling.
            std::this_thread::sleep_for(
                std::min<clock::duration>(milliseconds(10), deadline - clock::now()));
        }
    }
    return true;
}

int child_process::terminate(milliseconds grace) {
    if (pid_ <= 0) {
        return 0;
    }
    if (!status_) {
        ::kill(pid_, SIGTERM);
        if (!wait_for(grace)) {
            ::kill(pid_, SIGKILL);
            int wait_status = 0;
            pid_t r = 0;
            do {
                r = ::waitpid(pid_, &wait_status, 0);
            } while (r < 0 && errno == EINTR);
            reap(r == pid_ ? wait_status : W_EXITCODE(255, 0));
        }
    }
    return *status_;
}

result<command_output> run_command(const std::vector<std::string>& argv, std::string_view input,
                                   milliseconds timeout) {
    if (argv.empty()) {
        return fail(errc::bad_options, "run_command: empty argv");
    }
    auto executable = find_executable(argv.front());
    if (!executable) {
        return executable.error();
    }
    const auto deadline = clock::now() + timeout;
    const std::string what = argv.front();

    // stdin is a socket rather than a pipe so writing to a child that stopped reading
    // fails with EPIPE under MSG_NOSIGNAL instead of raising SIGPIPE in the test process.
    unique_fd in_parent;
    unique_fd in_child;
    if (input.empty()) {
        auto null_in = open_dev_null(O_RDONLY);
        if (!null_in) {
            return null_in.error();
        }
        in_child = std::move(*null_in);
    } else {
        std::array<int, 2> pair{-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0) {
            return fail_errno(errno, "socketpair");
        }
        in_parent.reset(pair[0]);
        in_child.reset(pair[1]);
    }
    std::array<int, 2> out_pipe{-1, -1};
    std::array<int, 2> err_pipe{-1, -1};
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) {
        return fail_errno(errno, "pipe2");
    }
    unique_fd out_read(out_pipe[0]);
    unique_fd out_write(out_pipe[1]);
    if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        return fail_errno(errno, "pipe2");
    }
    unique_fd err_read(err_pipe[0]);
    unique_fd err_write(err_pipe[1]);

    auto spawned = fork_exec(*executable, argv, nullptr,
                             {in_child.get(), out_write.get(), err_write.get()}, {});
    if (!spawned) {
        return spawned.error();
    }
    child_process child(spawned->first, spawned->second);
    in_child.reset();
    out_write.reset();
    err_write.reset();

    command_output output;
    std::size_t written = 0;
    std::array<char, 16384> buffer{};
    while (in_parent || out_read || err_read) {
        std::array<pollfd, 3> fds{};
        nfds_t count = 0;
        if (in_parent) {
            fds[count++] = pollfd{in_parent.get(), POLLOUT, 0};
        }
        if (out_read) {
            fds[count++] = pollfd{out_read.get(), POLLIN, 0};
        }
        if (err_read) {
            fds[count++] = pollfd{err_read.get(), POLLIN, 0};
        }
        if (clock::now() >= deadline) {
            child.terminate(milliseconds(0));
            return fail(errc::command_timeout, what);
        }
        if (::poll(fds.data(), count, poll_timeout(deadline)) < 0 && errno != EINTR) {
            return fail_errno(errno, "poll");
        }
        for (nfds_t i = 0; i < count; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (fds[i].fd == in_parent.get()) {
                const ssize_t n = ::send(in_parent.get(), input.data() + written,
                                         input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                    written += static_cast<std::size_t>(n);
                }
                if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
                    in_parent.reset();  // done, or the child closed its stdin
                }
                continue;
            }
            unique_fd& source = fds[i].fd == out_read.get() ? out_read : err_read;
            std::string& sink = fds[i].fd == out_read.get() ? output.out : output.err;
            const ssize_t n = ::read(source.get(), buffer.data(), buffer.size());
            if (n > 0) {
                sink.append(buffer.data(), static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                source.reset();
            }
        }
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
    if (!child.wait_for(std::max(left, milliseconds(0)))) {
        child.terminate(milliseconds(0));
        return fail(errc::command_timeout, what);
    }
    output.exit_status = *child.exit_status();
    return output;
}

}  // namespace hoist::testkit
