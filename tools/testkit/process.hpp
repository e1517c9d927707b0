// SPDX-License-Identifier: Apache-2.0
/// Child processes for tests: long-running servers that die with the test process, and
/// short helper commands (htpasswd, curl, skopeo) run to completion with captured output.
#pragma once

#include "tools/testkit/error.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::testkit {

/// The absolute path of `name`: itself when it contains a '/', else the first executable
/// match in $PATH. Errors: errc::executable_not_found.
result<std::filesystem::path> find_executable(std::string_view name);

/// The current environment minus every variable whose name starts with one of `prefixes`
/// (e.g. "REGISTRY_", which docker-registry would read as configuration overrides).
std::vector<std::string> environment_without(const std::vector<std::string>& prefixes);

struct command_output {
    int exit_status = 0;  ///< 0..255, or 128 + signal number
    std::string out;      ///< everything written to stdout
    std::string err;      ///< everything written to stderr
};

/// Runs `argv` to completion, feeding `input` on stdin and capturing stdout and stderr.
/// The child is killed (and errc::command_timeout returned) if it has not finished
/// within `timeout`. A non-zero exit is not an error: check `exit_status`.
/// Errors: errc::executable_not_found, errc::spawn_failed, errc::command_timeout.
result<command_output> run_command(const std::vector<std::string>& argv,
                                   std::string_view input = {},
                                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct spawn_options {
    /// argv[0] is resolved with `find_executable`.
    std::vector<std::string> argv;
    /// The complete environment ("NAME=value"); nullopt inherits ours.
    std::optional<std::vector<std::string>> environment;
    /// stdout and stderr are appended to this file (created, truncated first); empty:
    /// /dev/null. stdin is always /dev/null.
    std::filesystem::path output_file;
    /// Working directory; empty: ours.
    std::filesystem::path working_dir;
};

/// A running child process, owned: the destructor terminates and reaps it.
///
/// The child gets SIGKILL when the *thread* that spawned it exits (Linux
/// PR_SET_PDEATHSIG is tied to the parent thread, not the process), so a crashed or
/// killed test never leaves servers behind. Spawn from a thread that lives as long as the
/// child (the main thread, or a test body's thread). Not thread-safe.
class child_process {
public:
    /// fork + exec. The child starts with default signal dispositions, an empty signal
    /// mask and no inherited descriptors except 0-2.
    /// Errors: errc::executable_not_found, errc::spawn_failed (exec's errno in the
    /// detail), errc::io_failed (output file).
    static result<child_process> spawn(const spawn_options& options);

    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&& other) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    /// terminate(5 s) if still running.
    ~child_process();

    pid_t pid() const { return pid_; }
    /// A pidfd (readable once the child exited) to poll on; -1 once reaped.
    int exit_fd() const { return pidfd_; }

    /// False once the child exited (it is reaped then). Never blocks.
    bool running();
    /// Waits up to `timeout` for the child to exit; true when it has (and is reaped).
    bool wait_for(std::chrono::milliseconds timeout);
    /// SIGTERM, up to `grace` for it to exit, then SIGKILL; always reaps. Returns the exit
    /// status as a shell reports it (code, or 128 + signal). Idempotent.
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
    /// The shell-style exit status once the child exited, else nullopt.
    std::optional<int> exit_status() const { return status_; }

private:
    friend result<command_output> run_command(const std::vector<std::string>&, std::string_view,
                                              std::chrono::milliseconds);
    child_process(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
    void reap(int wait_status);
    bool try_reap();

    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::optional<int> status_;
};

}  // namespace hoist::testkit
