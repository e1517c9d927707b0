// SPDX-License-Identifier: Apache-2.0
#include "tests/support/test_registries.hpp"

#include "tests/support/client_harness.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <thread>

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
                       const std::function<bool()>& ready) {
    auto pid_text = run_process("sh -c '" + command + " >" + log_file + " 2>&1 & echo $!'");
    const pid_t pid = std::stoi(pid_text);
    bool killed = false;
    for (int i = 0; i < 6000 && ::kill(pid, 0) == 0; ++i) {
        if (ready()) {
            ::kill(pid, SIGKILL);
            killed = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!killed) {
        ::kill(pid, SIGKILL);  // past the 30 s: the test fails, and nothing is left running
    }
    for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return killed;
}

}  // namespace hoist::testsupport
