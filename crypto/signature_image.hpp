// SPDX-License-Identifier: Apache-2.0
/// The cosign `.sig` image (tag `sha256-<hex>.sig`): its config blob and OCI manifest,
/// byte-identical to cosign's, and reading an existing one so a signer can append a layer
/// (read, append, write back — how signatures accumulate).
#pragma once

#include "crypto/error.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::crypto {

inline constexpr std::string_view oci_manifest_media_type =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_config_media_type =
    "application/vnd.oci.image.config.v1+json";
/// What `COSIGN_DOCKER_MEDIA_TYPES=1` makes cosign write; read, never written.
inline constexpr std::string_view docker_manifest_media_type =
    "application/vnd.docker.distribution.manifest.v2+json";
/// The layer annotation holding the base64 DER signature over the layer's payload. (The
/// namespace differs from cosign's other annotations, `dev.sigstore.cosign/...`.)
inline constexpr std::string_view cosign_signature_annotation =
    "dev.cosignproject.cosign/signature";
/// cosign refuses to read a signature image with more layers.
inline constexpr std::size_t max_signature_layers = 1000;

/// One layer descriptor of a `.sig` manifest.
struct signature_layer {
    std::string media_type;
    std::int64_t size = 0;
    std::string digest;                              ///< "sha256:<hex>"
    std::map<std::string, std::string> annotations;  ///< written sorted by key, as Go does
    /// Members hoist does not interpret (`urls`, `data`, ...): name → compact JSON value,
    /// kept so that rewriting a manifest read from a registry preserves them.
    std::map<std::string, std::string> other_members;
};

/// The layer for one simple-signing signature: media type, size and digest of `payload`,
/// annotations `extra_annotations` (certificate, chain, Rekor bundle, ...) plus the
/// signature annotation holding base64(`der_signature`).
signature_layer simple_signing_layer(std::string_view payload, std::string_view der_signature,
                                     std::map<std::string, std::string> extra_annotations = {});

/// The blobs that make up a `.sig` image, ready to upload (config first, then the manifest).
struct signature_image {
    /// The config blob: go-containerregistry's empty image config with one zero-time
    /// `history` entry and one `rootfs.diff_ids` digest per layer (233 bytes for one layer).
    std::string config;
    /// The OCI manifest, compact, keys as cosign writes them: schemaVersion, mediaType,
    /// config{mediaType,size,digest}, layers[{mediaType,size,digest,annotations}].
    std::string manifest;
};

/// Builds the config and manifest of a `.sig` image holding `layers` in order. Layers must
/// have sha256 digests (they double as the config's diff_ids, the blobs being uncompressed).
/// Errors: errc::invalid_argument for no layers, a bad digest or a negative size;
/// errc::limit_exceeded for more than `max_signature_layers`.
result<signature_image> build_signature_image(const std::vector<signature_layer>& layers);

/// An existing `.sig` manifest as read from a registry.
struct signature_manifest {
    std::string media_type;  ///< the manifest's `mediaType`; empty when absent (older cosign)
    std::vector<signature_layer> layers;  ///< every layer, signature or not, in order
};

/// Reads a `.sig` manifest: schemaVersion 2, `mediaType` absent, OCI or Docker schema 2, a
/// `layers` array of descriptors (string mediaType, non-negative integer size, sha256
/// digest, string annotations). The config and top-level members other than these are not
/// kept: the config is rebuilt from the layers when the image is written again.
/// Errors: errc::bad_document; errc::unsupported_document for another manifest media type;
/// errc::limit_exceeded for more than `max_signature_layers` layers.
result<signature_manifest> parse_signature_manifest(std::string_view json);

}  // namespace hoist::crypto
