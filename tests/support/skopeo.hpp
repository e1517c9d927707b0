// SPDX-License-Identifier: Apache-2.0
/// skopeo as an independent reader of what a registry holds, for byte-for-byte checks.
#pragma once

#include <string>

namespace hoist::testsupport {

/// The exact bytes `skopeo inspect --raw` reads for `host_port/reference`, trusting
/// `ca_file` (empty: plain http). Fails the current test when skopeo fails.
std::string skopeo_raw(const std::string& host_port, const std::string& ca_file,
                       const std::string& reference);

}  // namespace hoist::testsupport
