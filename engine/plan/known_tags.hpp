// SPDX-License-Identifier: Apache-2.0
/// The tags of repositories as hoist last saw them: Plan's listings (every destination,
/// and the staging repositories Sign will look into), plus every tag hoist may have
/// written since. Sign and Attest ask it before reading a `.sig` tag or a `sha256-<hex>`
/// referrers tag, which in a first promotion do not exist yet, and skip that GET when the
/// answer is sure.
///
/// A tag another client writes after the listing is not seen. Reading just before
/// writing leaves the same race (two writers of one `.sig` tag, the last one wins), only
/// over a shorter window; kpromo has it too.
#pragma once

#include "net/registry/reference.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace hoist::engine {

class known_tags {
public:
    /// The complete listing of `repository`; empty when the registry has no such
    /// repository.
    void listed(const net::registry::repository_ref& repository,
                std::unordered_set<std::string> tags);
    /// `tag` may exist from now on, whether or not the write went through.
    void wrote(const net::registry::repository_ref& repository, const std::string& tag);
    /// True only when `repository` was listed and `tag` was neither listed nor written.
    bool surely_absent(const net::registry::repository_ref& repository,
                       const std::string& tag) const;

private:
    /// By "registry/repository".
    std::unordered_map<std::string, std::unordered_set<std::string>> tags_;
};

}  // namespace hoist::engine
