// SPDX-License-Identifier: Apache-2.0
/// The OCI and Docker media types the distribution client meets, and their classes
/// (index, image manifest, foreign layer).
#pragma once

#include <string_view>

namespace hoist::net::registry::media_type {

// Manifests.
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 1 (unsigned and signed); hoist does not support them.
inline constexpr std::string_view docker_schema1_manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view docker_schema1_signed_manifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// Configs.
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
/// The empty descriptor ("{}"), config of artifacts that have none (image-spec 1.1).
inline constexpr std::string_view oci_empty = "application/vnd.oci.empty.v1+json";

// Layers.
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view docker_layer =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Layers the registry may not hold: they are fetched from the descriptor's urls.
inline constexpr std::string_view docker_foreign_layer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view oci_nondistributable_layer =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view oci_nondistributable_layer_gzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view oci_nondistributable_layer_zstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

}  // namespace hoist::net::registry::media_type

namespace hoist::net::registry {

/// The media type without parameters and surrounding whitespace, as a Content-Type may
/// carry them: "application/vnd.oci.image.index.v1+json; charset=utf-8" → the type alone.
/// The functions below apply it and compare case-insensitively (RFC 6838 §4.2).
std::string_view media_type_essence(std::string_view content_type);

/// OCI index or Docker manifest list.
bool is_index(std::string_view type);
/// OCI image manifest or Docker schema 2 manifest.
bool is_image_manifest(std::string_view type);
/// is_index or is_image_manifest: the four types hoist copies.
bool is_known_manifest(std::string_view type);
/// Docker schema 1, signed or not.
bool is_schema1_manifest(std::string_view type);
/// Docker foreign and OCI non-distributable layers (plain, gzip, zstd).
bool is_foreign_layer(std::string_view type);

/// The Accept header for manifest requests: the four known manifest types.
std::string_view manifest_accept_header();

}  // namespace hoist::net::registry
