// SPDX-License-Identifier: Apache-2.0
/// Promotion edges: (source image@digest) → (destination registry/image, tags), one per
/// digest and destination, from every manifest of a set. Edges point into the manifests
/// instead of copying them; the k8s.io set has ~720,000 of them.
#pragma once

#include "engine/manifest/manifest.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {

struct promotion_edge {
    static constexpr std::uint32_t no_merged_tags = UINT32_MAX;

    const promotion_manifest* manifest;
    const image_entry* image;
    const digest_entry* entry;  ///< the digest and (unless merged) its tags
    const registry_entry* source;
    const registry_entry* destination;
    std::uint32_t source_repository;       ///< index in edge_set::repositories
    std::uint32_t destination_repository;  ///< index in edge_set::repositories
    /// Set when another manifest promotes the same digest to the same repository with
    /// other tags: the union lives in edge_set::merged_tags.
    std::uint32_t merged_tags = no_merged_tags;

    const std::string& digest() const { return entry->digest; }
};

struct edge_set {
    /// Full repository paths ("<registry name>/<image>"), sources and destinations.
    std::vector<std::string> repositories;
    std::vector<promotion_edge> edges;
    std::vector<std::vector<std::string>> merged_tags;
    /// Edges dropped because an earlier manifest promotes the same digest to the same
    /// repository (kpromo's "redundant promotion").
    std::size_t redundant = 0;

    const std::vector<std::string>& tags(const promotion_edge& edge) const {
        return edge.merged_tags == promotion_edge::no_merged_tags ? edge.entry->tags
                                                                  : merged_tags[edge.merged_tags];
    }
    const std::string& source_path(const promotion_edge& edge) const {
        return repositories[edge.source_repository];
    }
    const std::string& destination_path(const promotion_edge& edge) const {
        return repositories[edge.destination_repository];
    }
};

/// Every edge of `manifests` (which must be valid and outlive the result). A manifest's
/// source registry is never one of its destinations.
edge_set compute_edges(const std::vector<promotion_manifest>& manifests);

/// The shard (in [0, count)) an edge belongs to: a stable hash of its destination
/// repository path, so every edge of one repository lands in the same shard.
std::uint32_t shard_of(std::string_view destination_path, std::uint32_t count);

/// Keeps the edges of shard `index` of `count`; repositories no edge uses any more stay
/// listed but are never read.
void keep_shard(edge_set& set, std::uint32_t index, std::uint32_t count);

}  // namespace hoist::engine
