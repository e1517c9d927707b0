// SPDX-License-Identifier: Apache-2.0
/// Where a promotion manifest comes from, for the `manifest` resource descriptor of the
/// promotion predicate (kpromo v4.6): the file's path in its git repository, the commit
/// checked out and the repository's URL, so that an attestation names the reviewed change
/// that asked for the promotion.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {

struct manifest_origin {
    /// The path relative to the root of the work tree; outside of one, the path as given.
    std::string name;
    std::optional<std::string> uri;         ///< git+https URL of the repository
    std::optional<std::string> git_commit;  ///< the commit checked out (HEAD)
};

/// Asks git about the checkouts holding manifests, once per work tree: the k8s.io set
/// has 75 manifests in one checkout.
class manifest_locator {
public:
    /// `job_spec`: Prow's JOB_SPEC JSON, empty when not in a job.
    explicit manifest_locator(std::string job_spec);

    /// Where `file` is. The URL is the `origin` remote's; a Prow job clones without
    /// remotes, so there it is the repository of the job spec whose clone is this work
    /// tree. Not in a work tree, or without git: only the name.
    manifest_origin locate(const std::string& file);

    /// The work trees git was asked about so far.
    std::size_t work_trees() const { return trees_.size(); }

private:
    struct work_tree {
        std::filesystem::path root;
        std::optional<std::string> uri;
        std::optional<std::string> git_commit;
    };
    /// The known work tree holding `path`, unless another repository nested in it does.
    const work_tree* known_tree_of(const std::filesystem::path& path) const;

    std::string job_spec_;
    std::vector<work_tree> trees_;
};

/// A remote URL as a `git+https` URI: https, ssh and scp-like ("git@host:org/repo.git")
/// remotes name the same repository over https; credentials, the ssh port and a `.git`
/// suffix are dropped (a signed record must not carry a token). Local paths and other
/// schemes name nothing that a reader could fetch: no URI.
std::optional<std::string> git_https_uri(std::string_view remote);

/// The URL of the repository in `job_spec` (its `refs` or one of its `extra_refs`) whose
/// clone is `work_tree`: Prow clones `org/repo` into `.../org/repo`, or into its
/// `path_alias`.
std::optional<std::string> job_spec_repository(std::string_view job_spec,
                                               std::string_view work_tree);

}  // namespace hoist::engine
