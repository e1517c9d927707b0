// SPDX-License-Identifier: Apache-2.0
#include "tests/support/test_registries.hpp"

#include "tests/support/client_harness.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>

namespace hoist::testsupport {

testkit::registry_instance start_registry(testkit::registry_options options) {
    auto instance = testkit::registry_instance::start(std::move(options));
    if (!instance) {
        ADD_FAILURE() << "cannot start docker-registry: " << instance.error().message();
        std::abort();
    }
    return std::move(*instance);
}

testkit::registry_instance start_registry(testkit::registry_options::kind kind) {
    testkit::registry_options options;
    options.mode = kind;
    return start_registry(std::move(options));
}

testkit::registry_instance start_registry() {
    return start_registry(testkit::registry_options::kind::tls);
}

std::vector<std::string> settled_log(const testkit::registry_instance& registry) {
    auto lines = registry.settled_access_log();
    if (!lines) {
        ADD_FAILURE() << "the access log of " << registry.host_port() << " did not settle";
        return registry.access_log();
    }
    return std::move(*lines);
}

std::vector<testkit::staging_image> push_single_layer_images(
    const testkit::registry_instance& registry, const std::string& path, std::size_t repositories,
    std::size_t layer_size, std::uint64_t seed) {
    testkit::staging_set_spec large;
    large.repositories = repositories;
    large.tags = 1;
    large.index_every = 0;
    large.layers = 1;
    large.layer_size = layer_size;
    large.seed = seed;
    client_setup setup;
    setup.ca_files = {registry.ca_file().string()};
    std::string where = registry.host_port() + "/" + path;
    auto pushed = run_client<net::result<std::vector<testkit::staging_image>>>(
        setup, [&large, &where](net::registry::registry_client& client) {
            return testkit::push_staging_set(client, where, large, 2,
                                             net::deadline::from_now(std::chrono::seconds(60)));
        });
    if (!pushed) {
        ADD_FAILURE() << "push " << where << ": " << pushed.error().message();
        return {};
    }
    return std::move(*pushed);
}

bool run_and_kill_when(const std::string& command, const std::string& log_file,
                       const testkit::registry_instance& registry,
                       const std::function<bool()>& ready) {
    int grown = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    std::string watched = (registry.root_dir() / "registry.log").string();
    if (grown < 0 || ::inotify_add_watch(grown, watched.c_str(), IN_MODIFY) < 0) {
        ADD_FAILURE() << "cannot watch " << watched;
        return false;
    }
    std::string shell = "exec " + command + " >" + log_file + " 2>&1";
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", shell.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Readable once the process has ended: nothing to poll for.
    const int ended = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    bool killed = false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (pid > 0 && ended >= 0) {
        if (ready()) {
            killed = true;
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            give_up - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        std::array<pollfd, 2> events{{{grown, POLLIN, 0}, {ended, POLLIN, 0}}};
        ::poll(events.data(), events.size(), static_cast<int>(left.count()));
        if (events[1].revents != 0) {
            break;
        }
        std::array<char, 4096> drained;
        while (::read(grown, drained.data(), drained.size()) > 0) {
        }
    }
    if (pid > 0) {
        ::kill(pid, SIGKILL);  // killed when ready; otherwise nothing is left running
        int status = 0;
        ::waitpid(pid, &status, 0);
    }
    if (ended >= 0) {
        ::close(ended);
    }
    ::close(grown);
    return killed;
}

}  // namespace hoist::testsupport
