// SPDX-License-Identifier: Apache-2.0
#include "tests/support/client_harness.hpp"

#include <sys/wait.h>
#include <cstdio>

namespace hoist::testsupport {

std::string run_process(const std::string& command, int* status) {
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        if (status) {
            *status = -1;
        }
        return output;
    }
    char buffer[65536];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
        output.append(buffer, n);
    }
    int raw = ::pclose(pipe);
    if (status) {
        *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    }
    return output;
}

}  // namespace hoist::testsupport
