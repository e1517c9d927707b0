// SPDX-License-Identifier: Apache-2.0
#include "net/registry/manifest_parse.hpp"

#include "net/registry/media_types.hpp"

#include <gtest/gtest.h>

namespace hoist::net::registry {
namespace {

std::string sha256(char c) {
    return "sha256:" + std::string(64, c);
}

const std::string oci_index_body = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + sha256('1') + R"(",
      "size": 1234,
      "platform": {"architecture": "amd64", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + sha256('2') + R"(",
      "size": 1235,
      "platform": {
        "architecture": "arm64", "os": "linux", "variant": "v8",
        "os.version": "10.0.17763", "os.features": ["win32k"], "features": ["sse4"]
      },
      "annotations": {"org.opencontainers.image.ref.name": "v1"}
    }
  ],
  "annotations": {"com.example.key": "value"}
})";

const std::string docker_manifest_body = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7023,
      "digest": ")" + sha256('a') + R"("
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 32654,
         "digest": ")" + sha256('b') + R"("
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1000000,
         "digest": ")" + sha256('c') + R"(",
         "urls": ["https://mcr.microsoft.com/v2/windows/blobs/x", "https://mirror/x"]
      }
   ]
})";

parsed_manifest parse_ok(std::string_view body, std::string_view content_type = {}) {
    auto r = parse_manifest(body, content_type);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return r ? *r : parsed_manifest{};
}

failure parse_error(std::string_view body, std::string_view content_type = {}) {
    auto r = parse_manifest(body, content_type);
    EXPECT_FALSE(r.has_value()) << body;
    return r ? failure{} : r.error();
}

// A valid OCI image manifest with `patch` spliced in as its last members.
std::string oci_manifest_with(const std::string& extra, const std::string& layer_extra = "") {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           sha256('a') +
           R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
           sha256('b') + R"(","size":20)" + layer_extra + "}]" + extra + "}";
}

TEST(ManifestParse, OciIndex) {
    auto m = parse_ok(oci_index_body, "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(m.media_type, media_type::oci_index);
    EXPECT_TRUE(m.is_index());
    EXPECT_EQ(m.schema_version, 2);
    EXPECT_FALSE(m.config);
    EXPECT_TRUE(m.layers.empty());
    ASSERT_EQ(m.manifests.size(), 2u);
    EXPECT_EQ(m.manifests[0].media_type, media_type::oci_manifest);
    EXPECT_EQ(m.manifests[0].digest, sha256('1'));
    EXPECT_EQ(m.manifests[0].size, 1234);
    ASSERT_TRUE(m.manifests[0].platform);
    EXPECT_EQ(m.manifests[0].platform->architecture, "amd64");
    EXPECT_EQ(m.manifests[0].platform->os, "linux");
    ASSERT_TRUE(m.manifests[1].platform);
    const platform& p = *m.manifests[1].platform;
    EXPECT_EQ(p.variant, "v8");
    EXPECT_EQ(p.os_version, "10.0.17763");
    EXPECT_EQ(p.os_features, std::vector<std::string>{"win32k"});
    EXPECT_EQ(p.features, std::vector<std::string>{"sse4"});
    EXPECT_EQ(m.manifests[1].annotations.at("org.opencontainers.image.ref.name"), "v1");
    EXPECT_EQ(m.annotations.at("com.example.key"), "value");
}

TEST(ManifestParse, DockerManifestWithForeignLayer) {
    auto m = parse_ok(docker_manifest_body, media_type::docker_manifest);
    EXPECT_EQ(m.media_type, media_type::docker_manifest);
    EXPECT_FALSE(m.is_index());
    ASSERT_TRUE(m.config);
    EXPECT_EQ(m.config->media_type, media_type::docker_config);
    EXPECT_EQ(m.config->size, 7023);
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_FALSE(is_foreign_layer(m.layers[0].media_type));
    EXPECT_TRUE(is_foreign_layer(m.layers[1].media_type));
    EXPECT_EQ(m.layers[1].urls,
              (std::vector<std::string>{"https://mcr.microsoft.com/v2/windows/blobs/x",
                                        "https://mirror/x"}));
    EXPECT_EQ(m.layers[1].size, 1000000);
    EXPECT_TRUE(m.manifests.empty());
}

TEST(ManifestParse, DockerManifestList) {
    std::string body = R"({"schemaVersion":2,
      "mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
      "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
                    "digest":")" +
                       sha256('e') + R"(","size":528,
                    "platform":{"architecture":"ppc64le","os":"linux"}}]})";
    auto m = parse_ok(body, "application/vnd.docker.distribution.manifest.list.v2+json");
    EXPECT_EQ(m.media_type, media_type::docker_manifest_list);
    EXPECT_TRUE(m.is_index());
    ASSERT_EQ(m.manifests.size(), 1u);
    EXPECT_EQ(m.manifests[0].platform->architecture, "ppc64le");
}

TEST(ManifestParse, ArtifactWithSubjectAndEmptyConfig) {
    std::string body =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
      "config":{"mediaType":"application/vnd.oci.empty.v1+json",
        "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,
        "data":"e30="},
      "layers":[],
      "subject":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" +
        sha256('f') + R"(","size":9},
      "annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}})";
    auto m = parse_ok(body);
    EXPECT_EQ(m.artifact_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
    ASSERT_TRUE(m.config);
    EXPECT_EQ(m.config->media_type, media_type::oci_empty);
    EXPECT_TRUE(m.layers.empty());
    ASSERT_TRUE(m.subject);
    EXPECT_EQ(m.subject->digest, sha256('f'));
    EXPECT_EQ(m.annotations.size(), 1u);
}

TEST(ManifestParse, DescriptorArtifactTypeAndSha512) {
    std::string sha512 = "sha512:" + std::string(128, '0');
    std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                       sha512 + R"(","size":0,"artifactType":"application/x-sbom"}]})";
    auto m = parse_ok(body);
    ASSERT_EQ(m.manifests.size(), 1u);
    EXPECT_EQ(m.manifests[0].digest, sha512);
    EXPECT_EQ(m.manifests[0].size, 0);
    EXPECT_EQ(m.manifests[0].artifact_type, "application/x-sbom");
}

TEST(ManifestParse, MediaTypeFromContentTypeWhenBodyHasNone) {
    std::string body = R"({"schemaVersion":2,"manifests":[]})";
    auto m = parse_ok(body, "application/vnd.docker.distribution.manifest.list.v2+json; x=y");
    EXPECT_EQ(m.media_type, media_type::docker_manifest_list);
}

TEST(ManifestParse, MediaTypeInferredWhenNeitherSays) {
    EXPECT_EQ(parse_ok(R"({"schemaVersion":2,"manifests":[]})", "application/json").media_type,
              media_type::oci_index);
    std::string manifest = oci_manifest_with("");
    // Remove the body's mediaType.
    std::string without = manifest;
    without.erase(
        without.find(R"("mediaType":"application/vnd.oci.image.manifest.v1+json",)"),
        std::string_view(R"("mediaType":"application/vnd.oci.image.manifest.v1+json",)").size());
    EXPECT_EQ(parse_ok(without, "").media_type, media_type::oci_manifest);
    EXPECT_EQ(parse_ok(without, "application/octet-stream").media_type, media_type::oci_manifest);
    auto neither = parse_error(R"({"schemaVersion":2})");
    EXPECT_TRUE(neither.is(errc::bad_response));
    EXPECT_NE(neither.detail.find("no mediaType"), std::string::npos);
}

TEST(ManifestParse, BodyMediaTypeWinsOverContentType) {
    auto m = parse_ok(oci_index_body, "application/vnd.docker.distribution.manifest.list.v2+json");
    EXPECT_EQ(m.media_type, media_type::oci_index);
}

TEST(ManifestParse, UnknownFieldsAndNullsAreIgnored) {
    auto m = parse_ok(oci_manifest_with(
        R"(,"x-extra":{"deep":[1,2,{"a":null}]},"subject":null,"annotations":null,"artifactType":null)",
        R"(,"urls":null,"platform":null,"annotations":{},"unknown":[true])"));
    EXPECT_FALSE(m.subject);
    EXPECT_TRUE(m.annotations.empty());
    EXPECT_TRUE(m.layers.at(0).urls.empty());
    EXPECT_FALSE(m.layers.at(0).platform);
}

TEST(ManifestParse, Schema1IsUnsupported) {
    std::string schema1 = R"({"schemaVersion":1,"name":"a/b","tag":"latest","architecture":"amd64",
      "fsLayers":[{"blobSum":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
      "history":[{"v1Compatibility":"{}"}],"signatures":[{"header":{},"signature":"x","protected":"y"}]})";
    auto by_type =
        parse_error(schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws");
    EXPECT_TRUE(by_type.is(errc::unsupported_media_type));
    EXPECT_NE(by_type.detail.find("schema 1"), std::string::npos) << by_type.detail;
    EXPECT_NE(by_type.detail.find("application/vnd.docker.distribution.manifest.v1+prettyjws"),
              std::string::npos);
    auto by_body = parse_error(schema1, "application/json");
    EXPECT_TRUE(by_body.is(errc::unsupported_media_type));
    EXPECT_NE(by_body.detail.find("schema 1"), std::string::npos);
    auto by_media_type = parse_error(
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v1+json"})");
    EXPECT_TRUE(by_media_type.is(errc::unsupported_media_type));
    // Even unparsable bytes are refused by their Content-Type first.
    EXPECT_TRUE(parse_error("garbage", "application/vnd.docker.distribution.manifest.v1+json")
                    .is(errc::unsupported_media_type));
}

TEST(ManifestParse, UnknownManifestTypeIsUnsupported) {
    auto f = parse_error(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]})");
    EXPECT_TRUE(f.is(errc::unsupported_media_type));
    EXPECT_NE(f.detail.find("application/vnd.oci.artifact.manifest.v1+json"), std::string::npos);
    auto by_header = parse_error(R"({"schemaVersion":2,"manifests":[]})", "text/html");
    EXPECT_TRUE(by_header.is(errc::unsupported_media_type));
}

TEST(ManifestParse, SchemaVersion) {
    auto missing =
        parse_error(R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
    EXPECT_TRUE(missing.is(errc::bad_response));
    EXPECT_NE(missing.detail.find("no schemaVersion"), std::string::npos);
    auto three = parse_error(
        R"({"schemaVersion":3,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
    EXPECT_NE(three.detail.find("schemaVersion 3 is not 2"), std::string::npos);
    auto text = parse_error(
        R"({"schemaVersion":"2","mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
    EXPECT_NE(text.detail.find("schemaVersion is not an integer"), std::string::npos);
    // A huge value must not wrap into 1 or 2.
    auto huge = parse_error(
        R"({"schemaVersion":4294967298,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
    EXPECT_TRUE(huge.is(errc::bad_response));
}

TEST(ManifestParse, BadDigests) {
    for (std::string digest : {
             "sha256:" + std::string(63, 'a'),
             "sha256:" + std::string(65, 'a'),
             "sha256:" + std::string(64, 'A'),
             "sha256:" + std::string(63, 'a') + "g",
             "sha384:" + std::string(96, 'a'),
             "sha512:" + std::string(64, 'a'),
             std::string(64, 'a'),
             "SHA256:" + std::string(64, 'a'),
         }) {
        auto f = parse_error(oci_manifest_with("", R"(,"digest":")" + digest + R"(")"));
        EXPECT_TRUE(f.is(errc::bad_response)) << digest;
        EXPECT_NE(f.detail.find("layers[0].digest"), std::string::npos) << f.detail;
    }
    EXPECT_TRUE(is_valid_digest(sha256('0')));
    EXPECT_TRUE(is_valid_digest("sha512:" + std::string(128, 'f')));
    EXPECT_FALSE(is_valid_digest(""));
}

TEST(ManifestParse, BadSizes) {
    auto negative = parse_error(oci_manifest_with("", R"(,"size":-1)"));
    EXPECT_NE(negative.detail.find("layers[0].size is negative"), std::string::npos)
        << negative.detail;
    for (std::string size : {"1.5", "\"20\"", "null", "true", "1e3", "99999999999999999999"}) {
        auto f = parse_error(oci_manifest_with("", R"(,"size":)" + size));
        EXPECT_TRUE(f.is(errc::bad_response)) << size;
        EXPECT_NE(f.detail.find("layers[0].size"), std::string::npos) << size << ": " << f.detail;
    }
}

TEST(ManifestParse, MissingDescriptorFields) {
    std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[{"mediaType":"m","digest":")" +
                       sha256('1') + R"(","size":1},
                   {"digest":")" +
                       sha256('2') + R"(","size":1}]})";
    auto f = parse_error(body);
    EXPECT_NE(f.detail.find("manifests[1] has no mediaType"), std::string::npos) << f.detail;
    auto no_digest = parse_error(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"m","size":1}]})");
    EXPECT_NE(no_digest.detail.find("manifests[0] has no digest"), std::string::npos);
    auto no_size = parse_error(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"m","digest":")" +
        sha256('1') + R"("}]})");
    EXPECT_NE(no_size.detail.find("manifests[0] has no size"), std::string::npos);
}

TEST(ManifestParse, IndexXorImageManifest) {
    std::string both = oci_manifest_with(R"(,"manifests":[])");
    auto f = parse_error(both);
    EXPECT_TRUE(f.is(errc::bad_response));
    EXPECT_NE(f.detail.find("with manifests"), std::string::npos) << f.detail;

    std::string index_with_layers =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"layers":[]})";
    EXPECT_NE(parse_error(index_with_layers).detail.find("with config or layers"),
              std::string::npos);
    auto index_without =
        parse_error(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})");
    EXPECT_NE(index_without.detail.find("without manifests"), std::string::npos);
    auto no_config = parse_error(
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]})");
    EXPECT_NE(no_config.detail.find("without config"), std::string::npos);
    auto no_layers = parse_error(
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"c","digest":")" +
        sha256('1') + R"(","size":1}})");
    EXPECT_NE(no_layers.detail.find("without layers"), std::string::npos);
    auto ambiguous =
        parse_error(R"({"schemaVersion":2,"manifests":[],"config":{"mediaType":"c","digest":")" +
                    sha256('1') + R"(","size":1}})");
    EXPECT_TRUE(ambiguous.is(errc::bad_response));
}

TEST(ManifestParse, WrongTypes) {
    struct {
        std::string body;
        std::string expected;
    } cases[] = {
        {oci_manifest_with(R"(,"annotations":{"a":1})"), "annotations.a is not a string"},
        {oci_manifest_with(R"(,"annotations":[])"), "annotations is not an object"},
        {oci_manifest_with("", R"(,"urls":"https://x")"), "layers[0].urls is not an array"},
        {oci_manifest_with("", R"(,"urls":[1])"), "layers[0].urls[0] is not a string"},
        {oci_manifest_with("", R"(,"platform":"linux")"), "layers[0].platform is not an object"},
        {oci_manifest_with("", R"(,"platform":{"os.features":"x"})"),
         "layers[0].platform.os.features is not an array"},
        {oci_manifest_with(R"(,"subject":"x")"), "subject is not an object"},
        {oci_manifest_with(R"(,"artifactType":7)"), "artifactType is not a string"},
        {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":{}})",
         "manifests is not an array"},
        {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[1]})",
         "manifests[0] is not an object"},
        {R"({"schemaVersion":2,"mediaType":5,"manifests":[]})", "mediaType is not a string"},
    };
    for (const auto& c : cases) {
        auto f = parse_error(c.body);
        EXPECT_TRUE(f.is(errc::bad_response)) << c.body;
        EXPECT_NE(f.detail.find(c.expected), std::string::npos)
            << "want: " << c.expected << "\ngot: " << f.detail;
    }
}

TEST(ManifestParse, MalformedJson) {
    auto truncated = parse_error(oci_index_body.substr(0, 200));
    EXPECT_TRUE(truncated.is(errc::bad_response));
    EXPECT_NE(truncated.detail.find("malformed JSON"), std::string::npos) << truncated.detail;

    std::string broken = oci_index_body;
    broken.replace(broken.find("1234"), 4, "12}4");
    auto bad = parse_error(broken);
    EXPECT_TRUE(bad.is(errc::bad_response));
    EXPECT_NE(bad.detail.find("malformed JSON"), std::string::npos) << bad.detail;

    EXPECT_TRUE(parse_error("").is(errc::bad_response));
    EXPECT_NE(parse_error("[]").detail.find("not a JSON object"), std::string::npos);
    EXPECT_NE(parse_error("\"x\"").detail.find("not a JSON object"), std::string::npos);
    auto trailing = parse_error(oci_index_body + " {}");
    EXPECT_NE(trailing.detail.find("content after"), std::string::npos) << trailing.detail;
    auto bad_escape = parse_error(R"({"schemaVersion":2,"mediaType":"a\qb"})");
    EXPECT_TRUE(bad_escape.is(errc::bad_response));
}

TEST(ManifestParse, MalformedJsonReportsOffset) {
    std::string body =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType" "m"}]})";
    auto f = parse_error(body);
    EXPECT_TRUE(f.is(errc::bad_response));
    EXPECT_NE(f.detail.find("offset"), std::string::npos) << f.detail;
}

TEST(ManifestParse, TooLarge) {
    std::string body = oci_manifest_with(R"(,"annotations":{"pad":")" +
                                         std::string(max_manifest_size, 'x') + R"("})");
    auto f = parse_error(body);
    EXPECT_TRUE(f.is(errc::manifest_too_large));
    // Just below the limit parses (and is handled by a parser of its own).
    std::string big = oci_manifest_with(R"(,"annotations":{"pad":")" +
                                        std::string(max_manifest_size - 1000, 'x') + R"("})");
    ASSERT_LE(big.size(), max_manifest_size);
    auto m = parse_ok(big);
    EXPECT_EQ(m.annotations.at("pad").size(), max_manifest_size - 1000);
    // And the shared parser still works afterwards.
    EXPECT_TRUE(parse_manifest(oci_index_body, "").has_value());
}

TEST(ManifestParse, LongValuesAreTruncatedInErrors) {
    auto f = parse_error(
        oci_manifest_with("", R"(,"digest":"sha256:)" + std::string(5000, 'a') + R"(")"));
    EXPECT_LT(f.detail.size(), 300u) << f.detail;
}

}  // namespace
}  // namespace hoist::net::registry
