// SPDX-License-Identifier: Apache-2.0
/// The Promote phase: copies every edge the plan marked "promote", digest for digest.
///
/// Work is grouped by source image (repository@digest): its manifests are read once and
/// its small blobs are held in memory once, then fanned out to every destination; a large
/// blob is read once too, streamed to every destination registry at once. Per
/// destination the order is blobs, child manifests, the top manifest by digest or by its
/// first tag, then the other tags — so a tag never names something incomplete, and a
/// run killed at any point leaves nothing dangling. A blob is uploaded once per
/// destination registry: other repositories of that registry mount it.
#pragma once

#include "engine/plan/edges.hpp"
#include "engine/plan/plan.hpp"
#include "engine/promote/blob_fanout.hpp"
#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/registry/registry_client.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace hoist::engine {

/// Live counters for progress output, updated as edges finish.
struct promote_progress {
    std::size_t edges_total = 0;
    std::size_t edges_done = 0;  ///< promoted or failed
    std::size_t edges_failed = 0;
    std::uint64_t bytes_uploaded = 0;
};

struct promote_options {
    /// Source images promoted at once.
    std::size_t parallel_images = 16;
    /// Blob transfers (uploads, mounts, HEADs) in flight at once, over all images.
    std::size_t parallel_blobs = 64;
    /// Source blobs up to this size are read once and kept in memory while their image
    /// is fanned out; larger ones stream from one download to every destination registry
    /// whose upload gets there while the first pieces are kept (see blob_fanout.hpp).
    std::uint64_t cached_blob_limit = 16u << 20;
    /// The shared downloads of larger ones: window, join grace, stall.
    fanout_limits fanout;
    /// Bytes of source blobs held in memory at once, over all images (cached blobs and
    /// shared downloads' windows).
    std::uint64_t blob_cache_bytes = 256u << 20;
    /// Blobs at least this large are looked for (HEAD) before an upload; smaller ones
    /// are uploaded directly, which costs the registry about what the HEAD would.
    std::uint64_t head_before_upload = 1u << 20;
    /// Tries per edge when a step fails transiently after the session's own retries.
    int edge_attempts = 4;
    /// Where to keep live counters (null: nowhere).
    // lifetime: outlives the promote() call.
    promote_progress* progress = nullptr;
};

enum class promote_status : std::uint8_t { not_attempted, promoted, failed };

struct promote_edge_result {
    promote_status status = promote_status::not_attempted;
    std::string error;
};

struct promote_counts {
    std::size_t images = 0;
    std::size_t edges_promoted = 0;
    std::size_t edges_failed = 0;
    std::size_t manifests_put = 0;
    std::size_t tags_put = 0;
    std::size_t blobs_uploaded = 0;
    std::size_t blobs_mounted = 0;
    std::size_t blobs_present = 0;
    std::size_t blobs_foreign = 0;
    std::uint64_t bytes_uploaded = 0;
    std::uint64_t source_bytes_read = 0;
    std::size_t edge_retries = 0;
};

/// What Promote learnt of a manifest it read, for the phases after it (Sign, Attest), which
/// then need not read it again: the bytes are the same wherever the digest is.
struct manifest_facts {
    std::string media_type;
    std::int64_t size = 0;
    std::vector<std::string> children;  ///< an index's manifests; empty for an image
};

struct promote_result {
    std::vector<promote_edge_result> edges;  ///< beside plan.edges->edges
    /// Every manifest read, by digest: the top manifest of each promoted image and, where
    /// some destination lacked the digest, the manifests below it.
    std::unordered_map<std::string, manifest_facts> manifests;
    promote_counts counts;
    bool ok() const { return counts.edges_failed == 0; }
};

// lifetime: `client`, `plan` and the edges it points to outlive the call.
asio::awaitable<promote_result> promote(net::registry::registry_client& client,
                                        const promotion_plan& plan, promote_options options,
                                        net::deadline until);

}  // namespace hoist::engine
