// SPDX-License-Identifier: Apache-2.0
#include "net/registry/media_types.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hoist::net::registry {
namespace {

TEST(MediaTypes, Classes) {
    EXPECT_TRUE(is_index(media_type::oci_index));
    EXPECT_TRUE(is_index(media_type::docker_manifest_list));
    EXPECT_FALSE(is_index(media_type::oci_manifest));
    EXPECT_FALSE(is_index(media_type::docker_manifest));

    EXPECT_TRUE(is_image_manifest(media_type::oci_manifest));
    EXPECT_TRUE(is_image_manifest(media_type::docker_manifest));
    EXPECT_FALSE(is_image_manifest(media_type::oci_index));
    EXPECT_FALSE(is_image_manifest(media_type::docker_schema1_signed_manifest));

    for (auto t : {media_type::oci_index, media_type::docker_manifest_list,
                   media_type::oci_manifest, media_type::docker_manifest}) {
        EXPECT_TRUE(is_known_manifest(t)) << t;
    }
    for (auto t : {media_type::docker_schema1_manifest, media_type::docker_schema1_signed_manifest,
                   media_type::oci_config, media_type::oci_empty, media_type::oci_layer_gzip,
                   std::string_view("application/json"), std::string_view()}) {
        EXPECT_FALSE(is_known_manifest(t)) << t;
    }
    EXPECT_TRUE(is_schema1_manifest(media_type::docker_schema1_manifest));
    EXPECT_TRUE(is_schema1_manifest(media_type::docker_schema1_signed_manifest));
    EXPECT_FALSE(is_schema1_manifest(media_type::docker_manifest));
}

TEST(MediaTypes, ForeignLayers) {
    for (auto t : {media_type::docker_foreign_layer, media_type::oci_nondistributable_layer,
                   media_type::oci_nondistributable_layer_gzip,
                   media_type::oci_nondistributable_layer_zstd}) {
        EXPECT_TRUE(is_foreign_layer(t)) << t;
    }
    for (auto t : {media_type::docker_layer, media_type::oci_layer, media_type::oci_layer_gzip,
                   media_type::oci_layer_zstd, media_type::oci_config}) {
        EXPECT_FALSE(is_foreign_layer(t)) << t;
    }
    EXPECT_EQ(media_type::docker_foreign_layer,
              "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
    EXPECT_EQ(media_type::oci_nondistributable_layer_zstd,
              "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd");
}

TEST(MediaTypes, ParametersWhitespaceAndCase) {
    EXPECT_EQ(media_type_essence(" application/vnd.oci.image.index.v1+json ; charset=utf-8"),
              "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(media_type_essence(""), "");
    EXPECT_EQ(media_type_essence(" ; x=y"), "");
    EXPECT_TRUE(is_index("application/vnd.oci.image.index.v1+json; charset=utf-8"));
    EXPECT_TRUE(is_image_manifest("Application/VND.Docker.Distribution.Manifest.V2+JSON"));
    EXPECT_FALSE(is_index("application/vnd.oci.image.index.v1+json-x"));
    EXPECT_FALSE(is_index("application/vnd.oci.image.index.v1"));
}

TEST(MediaTypes, AcceptHeaderListsTheFourManifestTypes) {
    std::string accept(manifest_accept_header());
    for (auto t : {media_type::oci_index, media_type::docker_manifest_list,
                   media_type::oci_manifest, media_type::docker_manifest}) {
        EXPECT_NE(accept.find(t), std::string::npos) << t;
    }
    EXPECT_EQ(accept.find("v1+prettyjws"), std::string::npos);
    // Four types, comma-separated.
    EXPECT_EQ(std::count(accept.begin(), accept.end(), ','), 3);
}

}  // namespace
}  // namespace hoist::net::registry
