// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/password.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hoist::tools {
namespace {

constexpr const char* password_variable = "COSIGN_PASSWORD";

std::optional<std::string> password_from_environment() {
    const char* value = std::getenv(password_variable);
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

// The controlling terminal, opened for the prompts; stdin may be a pipe or a file, and
// a password must come from the person at the terminal, not from the data.
class terminal {
public:
    terminal() : fd_(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) {}
    terminal(const terminal&) = delete;
    terminal& operator=(const terminal&) = delete;
    ~terminal() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    bool available() const { return fd_ >= 0; }

    // Writes `prompt`, reads one line with echo off. nullopt when the terminal fails or
    // ends before a newline.
    std::optional<std::string> ask(std::string_view prompt) {
        write_all(prompt);
        termios saved{};
        if (::tcgetattr(fd_, &saved) != 0) {
            return std::nullopt;
        }
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;  // the user still sees the line end
        if (::tcsetattr(fd_, TCSAFLUSH, &quiet) != 0) {
            return std::nullopt;
        }
        auto line = read_line();
        ::tcsetattr(fd_, TCSAFLUSH, &saved);
        return line;
    }

private:
    void write_all(std::string_view text) {
        while (!text.empty()) {
            const auto written = ::write(fd_, text.data(), text.size());
            if (written < 0 && errno == EINTR) {
                continue;
            }
            if (written <= 0) {
                return;
            }
            text.remove_prefix(static_cast<std::size_t>(written));
        }
    }

    std::optional<std::string> read_line() {
        std::string line;
        for (;;) {
            char c = 0;
            const auto got = ::read(fd_, &c, 1);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got <= 0) {
                return std::nullopt;
            }
            if (c == '\n') {
                return line;
            }
            line.push_back(c);
        }
    }

    int fd_;
};

password_answer no_source() {
    return {std::nullopt, std::string("no password: set ") + password_variable +
                              " (it may be empty) or run on a terminal"};
}

}  // namespace

password_answer password_for_new_key() {
    if (auto password = password_from_environment()) {
        return {std::move(password), {}};
    }
    terminal tty;
    if (!tty.available()) {
        return no_source();
    }
    auto first = tty.ask("Enter password for private key: ");
    if (!first) {
        return {std::nullopt, "cannot read the password from the terminal"};
    }
    auto second = tty.ask("Enter password for private key again: ");
    if (!second) {
        return {std::nullopt, "cannot read the password from the terminal"};
    }
    if (*first != *second) {
        return {std::nullopt, "the passwords do not match"};
    }
    return {std::move(first), {}};
}

password_answer password_for_key(std::string_view key_file) {
    if (auto password = password_from_environment()) {
        return {std::move(password), {}};
    }
    terminal tty;
    if (!tty.available()) {
        return no_source();
    }
    auto password = tty.ask("Enter password for private key " + std::string(key_file) + ": ");
    if (!password) {
        return {std::nullopt, "cannot read the password from the terminal"};
    }
    return {std::move(password), {}};
}

}  // namespace hoist::tools
