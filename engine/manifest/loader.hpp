// SPDX-License-Identifier: Apache-2.0
/// Reading a whole manifest set: one plain manifest, or a thin tree
/// (`manifests/<p>/promoter-manifest.yaml` + `images/<p>/images.yaml`, kpromo's T1–T6),
/// parsed on several threads, then validated as one.
#pragma once

#include "engine/manifest/diagnostics.hpp"
#include "engine/manifest/manifest.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hoist::engine {

struct load_options {
    /// Threads that parse files at once; 0 means one per CPU.
    unsigned threads = 0;
    /// When set, every dmap is narrowed to these digests (the diff-restricted modes).
    std::optional<std::set<std::string>> only_digests;
};

struct manifest_set {
    std::vector<promotion_manifest> manifests;  ///< ordered by project
    diagnostics problems;                       ///< errors: the set must not be used
    diagnostics warnings;                       ///< worth saying, not fatal
    bool ok() const { return problems.empty(); }
};

manifest_set load_plain_manifest(const std::string& path, const load_options& options = {});
manifest_set load_thin_manifests(const std::string& directory, const load_options& options = {});

/// Reads a whole file; nullopt (with a diagnostic) when it cannot be read.
std::optional<std::string> read_text_file(const std::string& path, diagnostics& problems);

}  // namespace hoist::engine
