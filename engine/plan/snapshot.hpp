// SPDX-License-Identifier: Apache-2.0
/// Snapshots: what a registry path holds (or, from manifests alone, what a destination
/// should hold) as image → digest → tags, printed as an images.yaml that the manifest
/// loader reads back, or as kpromo's CSV.
#pragma once

#include "engine/plan/edges.hpp"
#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"

#include <map>
#include <set>
#include <string>

namespace hoist::engine {

/// image name (relative to the snapshot root) → digest → tags
using snapshot = std::map<std::string, std::map<std::string, std::set<std::string>>>;

/// kpromo's images.yaml rendering: images, digests and tags sorted; `"<digest>": []` for
/// a digest without tags.
std::string render_snapshot_yaml(const snapshot& images);
/// `<name>@<digest>,<name>:<tag>` per tag, `<name>@<digest>,-` without tags.
std::string render_snapshot_csv(const snapshot& images);

/// What the edges put under `destination` (a registry path; edges of registries below it
/// get the rest of their path as an image-name prefix). Unlike kpromo, a tagless edge
/// does not erase the tags other edges give the same digest, and the prefix must end at
/// a path boundary.
snapshot manifest_based_snapshot(const edge_set& edges, std::string destination);

/// Keeps only the digests that carry `tag` (with all their tags).
void keep_tagged(snapshot& images, const std::string& tag);

struct snapshot_options {
    std::size_t parallel_requests = 64;
};

/// Walks `root` (host[/path]) through the catalog: every repository at or below it, its
/// tags, and each tag's digest (from the listing's digest map when the registry has one,
/// else by HEAD).
asio::awaitable<net::result<snapshot>> registry_snapshot(net::registry::registry_client& client,
                                                         std::string root, snapshot_options options,
                                                         net::deadline until);

/// --minimal-snapshot: drops digests without tags that are children of an index or
/// manifest list in the snapshot. `repository_of(name)` names where to GET the manifests.
asio::awaitable<net::result<void>> drop_tagless_children(
    net::registry::registry_client& client, snapshot& images,
    std::function<std::string(const std::string&)> repository_of, snapshot_options options,
    net::deadline until);

}  // namespace hoist::engine
