// SPDX-License-Identifier: Apache-2.0
/// The Plan phase: read what the source and destination repositories hold, then decide
/// for every edge whether it is to be promoted, already present, a refused tag move, or
/// lost (its digest is missing from the source).
///
/// Requests: one listing per repository (tags/list, which on GCR and Artifact Registry
/// also maps every digest to its tags), then a HEAD only for what the listings leave
/// unknown — a destination tag the listing shows without its digest, a tagless digest at
/// the destination, and the source digest of each edge still to promote.
#pragma once

#include "engine/plan/edges.hpp"
#include "engine/plan/known_tags.hpp"
#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace hoist::engine {

enum class edge_outcome : std::uint8_t {
    promote,   ///< to copy (or only to tag, when the digest is already there)
    present,   ///< the destination already has it: nothing to do
    tag_move,  ///< a destination tag points at another digest: refused
    lost,      ///< the digest is not in the source repository
    failed,    ///< a repository could not be read
    blocked,   ///< a supply-chain check (provenance, staging signature) refused the source
};

std::string_view to_string(edge_outcome outcome);

struct edge_decision {
    edge_outcome outcome = edge_outcome::promote;
    /// For promote: the tags still to write (all of them when the digest is new).
    std::vector<std::string> missing_tags;
    /// For promote: the digest is already in the destination repository (only tags move).
    bool digest_present = false;
    /// For tag_move: "tag v1 points at sha256:…"; for failed: the error; for blocked: which
    /// check refused the source image, and why.
    std::string detail;
};

struct plan_options {
    /// Repository listings and HEADs in flight at once.
    std::size_t parallel_requests = 64;
    /// Sign will look for the staging `.sig` of each promoted digest: list every source
    /// repository with two digests or more to promote, so that it asks only for the
    /// `.sig` tags that exist. With one digest the listing would save nothing.
    bool list_source_tags = false;
};

struct plan_counts {
    std::size_t promote = 0;
    std::size_t present = 0;
    std::size_t tag_move = 0;
    std::size_t lost = 0;
    std::size_t failed = 0;
    std::size_t blocked = 0;

    void add(edge_outcome outcome);
};

struct plan_requests {
    std::size_t listings = 0;       ///< tags/list calls, one per repository
    std::size_t listing_pages = 0;  ///< pages those listings took
    std::size_t heads = 0;          ///< manifest HEADs
    std::size_t http_requests = 0;  ///< everything the HTTP client sent (auth included)
    /// The least any plan could ask: one listing per repository plus one HEAD per
    /// destination tag whose digest the listing did not give.
    std::size_t minimum = 0;
};

struct promotion_plan {
    const edge_set* edges = nullptr;
    std::vector<edge_decision> decisions;  ///< beside edges->edges
    plan_counts counts;
    plan_requests requests;
    /// The tags of every repository Plan listed (all destinations; sources as
    /// `list_source_tags` asks); the phases after Plan add the tags they write.
    known_tags tags;
    /// Digests a HEAD answered with an image manifest's media type: they list no children,
    /// so Sign need not read them to find any. Digests name content, so the answer of one
    /// repository holds for all.
    std::unordered_set<std::string> image_manifests;

    /// Refused tag moves, lost digests or unreadable repositories: the run must fail.
    bool clean() const { return counts.tag_move == 0 && counts.lost == 0 && counts.failed == 0; }

    /// Takes a to-promote edge out of the promotion, or a present one out of signing,
    /// saying why; a no-op for others.
    void block(std::size_t edge, std::string reason);
    /// The same for an edge whose source a check could not read: it fails (a later run
    /// tries again) instead of being blocked.
    void fail(std::size_t edge, std::string reason);
};

/// Reads the inventories through `client` and decides every edge of `edges` (which must
/// outlive the plan).
asio::awaitable<promotion_plan> make_plan(net::registry::registry_client& client,
                                          const edge_set& edges, plan_options options,
                                          net::deadline until);

}  // namespace hoist::engine
