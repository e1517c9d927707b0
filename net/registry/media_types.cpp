// SPDX-License-Identifier: Apache-2.0
#include "net/registry/media_types.hpp"

#include "net/http_types.hpp"

namespace hoist::net::registry {
namespace {

bool is_one_of(std::string_view type, std::initializer_list<std::string_view> known) {
    type = media_type_essence(type);
    for (std::string_view k : known) {
        if (iequals(type, k)) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string_view media_type_essence(std::string_view content_type) {
    content_type = content_type.substr(0, content_type.find(';'));
    std::size_t start = content_type.find_first_not_of(" \t");
    if (start == std::string_view::npos) {
        return {};
    }
    std::size_t end = content_type.find_last_not_of(" \t");
    return content_type.substr(start, end - start + 1);
}

bool is_index(std::string_view type) {
    return is_one_of(type, {media_type::oci_index, media_type::docker_manifest_list});
}

bool is_image_manifest(std::string_view type) {
    return is_one_of(type, {media_type::oci_manifest, media_type::docker_manifest});
}

bool is_known_manifest(std::string_view type) {
    return is_index(type) || is_image_manifest(type);
}

bool is_schema1_manifest(std::string_view type) {
    return is_one_of(
        type, {media_type::docker_schema1_manifest, media_type::docker_schema1_signed_manifest});
}

bool is_foreign_layer(std::string_view type) {
    return is_one_of(
        type,
        {media_type::docker_foreign_layer, media_type::oci_nondistributable_layer,
         media_type::oci_nondistributable_layer_gzip, media_type::oci_nondistributable_layer_zstd});
}

std::string_view manifest_accept_header() {
    // Registries answer with the stored manifest when its type is listed; order is no preference.
    static constexpr std::string_view accept =
        "application/vnd.oci.image.index.v1+json, "
        "application/vnd.docker.distribution.manifest.list.v2+json, "
        "application/vnd.oci.image.manifest.v1+json, "
        "application/vnd.docker.distribution.manifest.v2+json";
    return accept;
}

}  // namespace hoist::net::registry
