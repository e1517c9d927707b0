// SPDX-License-Identifier: Apache-2.0
/// A staging set: repositories × tags of synthetic images (some multi-platform, all on a
/// shared base layer), pushed to a staging registry path, plus the thin manifests that
/// promote it. Deterministic by seed, so the same set can be rebuilt anywhere.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace hoist::testkit {

struct staging_set_spec {
    std::size_t repositories = 10;
    std::size_t tags = 2;
    /// Every n-th repository (0, n, 2n, …) holds two-platform indexes; 0: none.
    std::size_t index_every = 2;
    std::size_t layers = 2;  ///< unique layers per image, beside the shared base layer
    std::size_t layer_size = 4096;
    std::uint64_t seed = 1;
};

struct staging_image {
    std::string repository;  ///< relative to the staging path, e.g. "img-003"
    std::string tag;
    std::string digest;
};

/// The image of repository `r`, tag `t` of the set.
image_spec staging_image_spec(const staging_set_spec& spec, std::size_t r, std::size_t t);
std::string staging_repository_name(std::size_t r);
std::string staging_tag_name(std::size_t t);

/// Pushes the whole set under `path` ("host:port/staging") with up to `parallel` images
/// in flight, and returns what was pushed, in repository then tag order.
asio::awaitable<net::result<std::vector<staging_image>>> push_staging_set(
    net::registry::registry_client& client, std::string path, staging_set_spec spec,
    std::size_t parallel, net::deadline until);

/// Writes `<dir>/manifests/<project>/promoter-manifest.yaml` (source `source_path`, the
/// given destinations) and `<dir>/images/<project>/images.yaml` for `images`.
void write_thin_manifests(const std::filesystem::path& dir, const std::string& project,
                          const std::string& source_path,
                          const std::vector<std::string>& destination_paths,
                          const std::vector<staging_image>& images);

}  // namespace hoist::testkit
