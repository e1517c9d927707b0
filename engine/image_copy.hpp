// SPDX-License-Identifier: Apache-2.0
/// Digest-preserving copy of one image between repositories: blobs first (skipped when
/// present, mounted within a registry, otherwise streamed GET→PUT with sha256 checked on
/// the way), then child manifests, then the index, then the tag. Manifest bytes are
/// pushed exactly as read, so every digest stays the same.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"

#include <cstdint>
#include <string>

namespace hoist::engine {

struct copy_options {
    /// Copy a whole index and every child. Without it, an index source is narrowed to the
    /// child of `platform`, which is then copied as a single image (as skopeo does).
    bool all = false;
    /// "os/architecture[/variant]" picked from an index when `all` is off.
    std::string platform = "linux/amd64";
    /// Blobs transferred at once.
    std::size_t parallel_blobs = 8;
};

struct copy_report {
    std::string digest;  ///< digest of the top manifest written at the destination
    std::size_t manifests_written = 0;
    std::size_t manifests_present = 0;
    std::size_t blobs_uploaded = 0;
    std::size_t blobs_mounted = 0;
    std::size_t blobs_present = 0;
    std::size_t blobs_foreign = 0;  ///< non-distributable layers left where they live
    std::uint64_t bytes_uploaded = 0;
};

/// Copies `source` to `destination` (a tag, or a digest that must equal the source's).
/// Nothing is tagged unless everything the tag points to is present at the destination.
// lifetime: `client` outlives the copy.
asio::awaitable<net::result<copy_report>> copy_image(net::registry::registry_client& client,
                                                     net::registry::image_ref source,
                                                     net::registry::image_ref destination,
                                                     copy_options options, net::deadline until);

}  // namespace hoist::engine
