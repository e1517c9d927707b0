// SPDX-License-Identifier: Apache-2.0
#include "tests/support/skopeo.hpp"

#include "tests/support/client_harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace hoist::testsupport {

std::string skopeo_raw(const std::string& host_port, const std::string& ca_file,
                       const std::string& reference) {
    namespace fs = std::filesystem;
    std::string tls = "--tls-verify=false";
    if (!ca_file.empty()) {
        // skopeo reads CAs from a directory of *.crt files.
        fs::path certs = fs::path(ca_file).parent_path() / "skopeo-certs";
        fs::create_directories(certs);
        fs::copy_file(ca_file, certs / "ca.crt", fs::copy_options::overwrite_existing);
        tls = "--cert-dir " + certs.string();
    }
    int status = 0;
    auto out = run_process(
        "skopeo inspect --raw " + tls + " docker://" + host_port + "/" + reference + " 2>&1",
        &status);
    EXPECT_EQ(status, 0) << reference << ": " << out;
    return out;
}

}  // namespace hoist::testsupport
