// SPDX-License-Identifier: Apache-2.0
#include "net/registry/listing.hpp"

#include <gtest/gtest.h>

namespace hoist::net::registry {
namespace {

TEST(TagPage, PlainDistributionListing) {
    auto page = parse_tag_page(R"({"name":"k8s/pause","tags":["3.9","3.10"]})");
    ASSERT_TRUE(page.has_value());
    EXPECT_EQ(page->tags, (std::vector<std::string>{"3.9", "3.10"}));
    EXPECT_FALSE(page->has_digest_map);
}

TEST(TagPage, NullTagsMeansNone) {
    auto page = parse_tag_page(R"({"name":"empty","tags":null})");
    ASSERT_TRUE(page.has_value());
    EXPECT_TRUE(page->tags.empty());
}

// GCR and Artifact Registry add every manifest with its tags, tagged or not.
TEST(TagPage, GcrDigestMap) {
    auto page = parse_tag_page(R"({
        "child": [],
        "manifest": {
            "sha256:aaaa": {"imageSizeBytes": "123", "mediaType": "application/vnd.oci.image.index.v1+json",
                            "tag": ["v1", "latest"], "timeCreatedMs": "0", "timeUploadedMs": "1"},
            "sha256:bbbb": {"tag": [], "mediaType": "application/vnd.oci.image.manifest.v1+json"}
        },
        "name": "k8s-artifacts-prod/pause",
        "tags": ["latest", "v1"]
    })");
    ASSERT_TRUE(page.has_value());
    EXPECT_TRUE(page->has_digest_map);
    ASSERT_EQ(page->tags_by_digest.size(), 2u);
    EXPECT_EQ(page->tags_by_digest["sha256:aaaa"], (std::vector<std::string>{"v1", "latest"}));
    EXPECT_TRUE(page->tags_by_digest["sha256:bbbb"].empty());
    EXPECT_EQ(page->tags.size(), 2u);
}

TEST(TagPage, MalformedBodiesAreErrors) {
    for (const char* bad : {"", "[]", "{\"tags\": [1, 2]}", "{\"tags\": \"v1\"}",
                            "{\"manifest\": []}", "{\"tags\": [\"v1\""}) {
        auto page = parse_tag_page(bad);
        EXPECT_FALSE(page.has_value()) << bad;
        if (!page) {
            EXPECT_TRUE(page.error().is(errc::bad_response));
        }
    }
}

TEST(CatalogPage, Repositories) {
    auto page = parse_catalog_page(R"({"repositories":["a/b","c"]})");
    ASSERT_TRUE(page.has_value());
    EXPECT_EQ(*page, (std::vector<std::string>{"a/b", "c"}));
    EXPECT_FALSE(parse_catalog_page(R"({"repositories":{}})").has_value());
}

}  // namespace
}  // namespace hoist::net::registry
