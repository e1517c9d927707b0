// SPDX-License-Identifier: Apache-2.0
// Helpers for tests that build a real git work tree in a temporary directory.
#pragma once

#include "engine/manifest/diff_digests.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace hoist::engine::test_git {

/// `git -C directory args`, with a committer identity and its output discarded.
inline void git_in(const std::string& directory, const std::string& args) {
    std::string command = "git -C " + directory +
                          " -c user.name=t -c user.email=t@example.invalid " + args +
                          " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

/// The commit checked out in `directory`.
inline std::string head_of(const std::string& directory) {
    auto out = run_git(directory, {"rev-parse", "HEAD"});
    EXPECT_TRUE(out.has_value());
    std::string sha = out ? *out : "";
    while (!sha.empty() && sha.back() == '\n') {
        sha.pop_back();
    }
    return sha;
}

}  // namespace hoist::engine::test_git
