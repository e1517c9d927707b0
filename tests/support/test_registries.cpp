// SPDX-License-Identifier: Apache-2.0
#include "tests/support/test_registries.hpp"

#include <gtest/gtest.h>

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

}  // namespace hoist::testsupport
