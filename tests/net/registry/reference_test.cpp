// SPDX-License-Identifier: Apache-2.0
#include "net/registry/reference.hpp"

#include <gtest/gtest.h>

namespace hoist::net::registry {
namespace {

const std::string digest =
    "sha256:5b161f051d017e55d358435f295f5e9a297e66158f136321d9b04520ec6c48a3";

TEST(ImageRef, RegistryRepositoryTagDigest) {
    auto ref = parse_image_ref("registry.k8s.io/ingress-nginx/controller:v1.9.4@" + digest);
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(ref->repo.registry, "registry.k8s.io");
    EXPECT_EQ(ref->repo.repository, "ingress-nginx/controller");
    EXPECT_EQ(ref->tag, "v1.9.4");
    EXPECT_EQ(ref->digest, digest);
    EXPECT_EQ(ref->reference(), digest);  // the digest wins when both are given
    EXPECT_EQ(ref->to_string(), "registry.k8s.io/ingress-nginx/controller:v1.9.4@" + digest);
}

TEST(ImageRef, PortIsNotATag) {
    auto ref = parse_image_ref("127.0.0.1:5000/a/b");
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(ref->repo.registry, "127.0.0.1:5000");
    EXPECT_EQ(ref->repo.repository, "a/b");
    EXPECT_EQ(ref->tag, "latest");
    auto tagged = parse_image_ref("localhost:5000/a:1.0");
    ASSERT_TRUE(tagged.has_value());
    EXPECT_EQ(tagged->repo.registry, "localhost:5000");
    EXPECT_EQ(tagged->tag, "1.0");
    EXPECT_EQ(parse_image_ref("localhost/a")->repo.registry, "localhost");
}

TEST(ImageRef, DockerHubDefaults) {
    auto official = parse_image_ref("nginx");
    ASSERT_TRUE(official.has_value());
    EXPECT_EQ(official->repo.registry, "docker.io");
    EXPECT_EQ(official->repo.repository, "library/nginx");
    EXPECT_EQ(official->tag, "latest");
    auto user = parse_image_ref("someone/tool:2");
    EXPECT_EQ(user->repo.registry, "docker.io");
    EXPECT_EQ(user->repo.repository, "someone/tool");
    EXPECT_EQ(api_host("docker.io"), "registry-1.docker.io");
    EXPECT_EQ(api_host("ghcr.io"), "ghcr.io");
}

TEST(ImageRef, TaglessWhenAsked) {
    auto ref = parse_image_ref("r.example/a", "");
    ASSERT_TRUE(ref.has_value());
    EXPECT_TRUE(ref->tag.empty());
    EXPECT_TRUE(parse_repository_ref("r.example/a/b").has_value());
    EXPECT_FALSE(parse_repository_ref("r.example/a/b:tag").has_value());
}

TEST(ImageRef, RejectsWhatDockerRejects) {
    for (std::string bad : std::vector<std::string>{
             "r.example/UPPER", "r.example/a//b", "r.example/-a", "r.example/a-", "r.example/a..b",
             "r.example/a___b", "r.example/a:" + std::string(129, 't'), "r.example/a:-tag",
             "r.example/a@sha256:abc", "r.example/a@" + digest.substr(0, 70), "r.ex ample/a",
             "r.example/a-.b", ""}) {
        auto ref = parse_image_ref(bad);
        EXPECT_FALSE(ref.has_value()) << bad;
        if (!ref) {
            EXPECT_TRUE(ref.error().is(errc::bad_reference)) << bad;
        }
    }
}

TEST(ImageRef, AcceptsSeparators) {
    for (const char* good : {"r.example/a_b", "r.example/a__b", "r.example/a.b", "r.example/a-b",
                             "r.example/a---b", "r.example/0/1", "r.example/a:V1_0.x-y"}) {
        EXPECT_TRUE(parse_image_ref(good).has_value()) << good;
    }
}

TEST(DigestAsTag, ColonBecomesADashAndTheResultIsAValidTag) {
    std::string digest = "sha256:" + std::string(64, 'e');
    std::string tag = digest_as_tag(digest);
    EXPECT_EQ(tag, "sha256-" + std::string(64, 'e'));
    EXPECT_TRUE(is_valid_tag(tag));
    EXPECT_TRUE(is_valid_tag(tag + ".sig"));
    EXPECT_EQ(digest_as_tag("sha512:ab"), "sha512-ab");
}

}  // namespace
}  // namespace hoist::net::registry
