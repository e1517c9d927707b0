// SPDX-License-Identifier: Apache-2.0
/// The digests a git change touches, for kpromo's diff-restricted modes: every line of
/// `git diff --unified=0 <base>` (whole repository, working tree against base) holding
/// exactly one quoted "sha256:<64 hex>" contributes it, added and removed lines alike.
#pragma once

#include "net/error.hpp"

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {

/// The digests of a diff text, by the rule above.
std::set<std::string> digests_in_diff(std::string_view diff);

/// `--use-prow-manifest-diff`: base from JOB_TYPE (presubmit/batch: PULL_BASE_SHA;
/// postsubmit: HEAD^), diff taken in the repository holding `directory`.
net::result<std::set<std::string>> prow_diff_digests(const std::string& directory);

/// `--manifest-diff-since "7 days"`: base is the parent of the oldest commit within the
/// window (or that commit when it has no parent); no commit in the window, no digest.
net::result<std::set<std::string>> since_diff_digests(const std::string& directory,
                                                      const std::string& since);

/// The root of the work tree holding `directory` (symbolic links resolved), as git says.
net::result<std::string> git_toplevel(const std::string& directory);

/// Runs `git args...` in `directory` without a shell; its standard output, or a failure
/// carrying git's exit status and standard error.
net::result<std::string> run_git(const std::string& directory,
                                 const std::vector<std::string>& args);

}  // namespace hoist::engine
