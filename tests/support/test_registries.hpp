// SPDX-License-Identifier: Apache-2.0
/// Real docker-registry instances for integration tests, and their access logs.
#pragma once

#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/staging_set.hpp"

#include <cstdint>

#include <functional>
#include <string>
#include <vector>

namespace hoist::testsupport {

/// A registry for a test, or the end of the test binary: nothing after it could run.
testkit::registry_instance start_registry(testkit::registry_options options);
testkit::registry_instance start_registry(testkit::registry_options::kind kind);
/// A TLS registry (HTTP/2), what most tests want.
testkit::registry_instance start_registry();

/// The registry logs a request at times after its client has the answer: the log once
/// every request answered before this call is in it, or (with a test failure) the log as
/// it stands.
std::vector<std::string> settled_log(const testkit::registry_instance& registry);

/// `repositories` single-platform images under `<registry>/<path>`, one tag each, whose
/// own layer and shared base layer are `layer_size` bytes each (a test failure, and none,
/// when the push fails).
std::vector<testkit::staging_image> push_single_layer_images(
    const testkit::registry_instance& registry, const std::string& path, std::size_t repositories,
    std::size_t layer_size, std::uint64_t seed);

/// Starts `command` in the background, its output into `log_file`, and kills it with
/// SIGKILL as soon as `ready()` holds, asked again whenever `registry`'s log grows (it
/// says what the registry was asked), for at most 30 s; then waits for it to end. False
/// when it ended, or the 30 s passed, before `ready()` held.
bool run_and_kill_when(const std::string& command, const std::string& log_file,
                       const testkit::registry_instance& registry,
                       const std::function<bool()>& ready);

}  // namespace hoist::testsupport
