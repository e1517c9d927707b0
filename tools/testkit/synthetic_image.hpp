// SPDX-License-Identifier: Apache-2.0
/// Synthetic images for tests, the demo and the benchmarks: deterministic by seed,
/// single-platform or multi-platform (an index), with OCI or Docker media types, and an
/// optional base layer shared by every image built with the same base seed.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace hoist::testkit {

struct image_spec {
    /// "os/arch[/variant]" per image; one entry builds a plain image, several an index.
    std::vector<std::string> platforms{"linux/amd64"};
    /// Layers unique to each image.
    std::size_t layers = 2;
    std::size_t layer_size = 4096;
    /// Seeds every byte: the same spec builds the same digests.
    std::uint64_t seed = 1;
    /// A base layer of `layer_size` bytes shared by all images of the same `base_seed`
    /// (0: none).
    std::uint64_t base_seed = 0;
    /// OCI media types, else Docker v2 schema 2.
    bool oci = true;
    /// When several platforms: build an index even for one platform.
    bool force_index = false;
};

struct built_blob {
    std::string media_type;
    std::string digest;
    std::string bytes;
};

struct built_manifest {
    std::string media_type;
    std::string digest;
    std::string body;
};

struct built_image {
    std::vector<built_blob> blobs;          ///< configs and layers of every image, deduplicated
    std::vector<built_manifest> manifests;  ///< the per-platform image manifests
    built_manifest top;                     ///< the index, or the only manifest
    std::uint64_t total_bytes() const;
};

built_image build_image(const image_spec& spec);

/// Pushes blobs, then image manifests by digest, then the top manifest under `tag`
/// (by digest only when `tag` is empty). Returns the top digest.
// lifetime: `client` and `image` outlive the call.
asio::awaitable<net::result<std::string>> push_image(net::registry::registry_client& client,
                                                     net::registry::repository_ref repo,
                                                     std::string tag, const built_image& image,
                                                     net::deadline until);

}  // namespace hoist::testkit
