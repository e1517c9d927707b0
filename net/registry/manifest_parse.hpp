// SPDX-License-Identifier: Apache-2.0
/// Parsing and validation of image manifests and indexes (OCI image-spec 1.1, Docker
/// schema 2) into descriptors, without changing or re-serializing the bytes.
#pragma once

#include "net/error.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net::registry {

/// Manifests larger than this are refused (the distribution spec's common limit).
inline constexpr std::size_t max_manifest_size = 4 * 1024 * 1024;

struct platform {
    std::string architecture;
    std::string os;
    std::string os_version;                ///< "os.version"
    std::vector<std::string> os_features;  ///< "os.features"
    std::string variant;
    std::vector<std::string> features;

    friend bool operator==(const platform&, const platform&) = default;
};

struct descriptor {
    std::string media_type;
    std::string digest;  ///< validated: see is_valid_digest
    std::int64_t size = 0;
    std::vector<std::string> urls;  ///< where foreign layers live
    std::optional<registry::platform> platform;
    std::string artifact_type;
    std::map<std::string, std::string> annotations;

    friend bool operator==(const descriptor&, const descriptor&) = default;
};

struct parsed_manifest {
    /// The body's mediaType; when absent the Content-Type; when that is no manifest type
    /// either (empty, application/json, application/octet-stream), inferred from the
    /// structure: "manifests" → OCI index, "config" → OCI image manifest.
    std::string media_type;
    int schema_version = 0;
    std::optional<descriptor> config;   ///< image manifests only
    std::vector<descriptor> layers;     ///< image manifests only
    std::vector<descriptor> manifests;  ///< index children
    std::optional<descriptor> subject;
    std::string artifact_type;
    std::map<std::string, std::string> annotations;

    bool is_index() const;
};

/// True for "sha256:" + 64 or "sha512:" + 128 lower-case hex digits.
bool is_valid_digest(std::string_view digest);

/// Parses a manifest body as received with `content_type`. Validates: schemaVersion 2;
/// every descriptor has a mediaType, a valid digest and a size >= 0; an index has
/// "manifests" and no config or layers; an image manifest has config and layers and no
/// "manifests". Unknown fields are ignored; null counts as absent.
/// Errors: errc::manifest_too_large over max_manifest_size; errc::unsupported_media_type
/// for Docker schema 1 and unknown manifest types; errc::bad_response for malformed JSON
/// (with the offset) or a manifest that fails validation (naming the field, e.g.
/// "layers[2].digest").
result<parsed_manifest> parse_manifest(std::string_view body, std::string_view content_type);

}  // namespace hoist::net::registry
