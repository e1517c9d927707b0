// SPDX-License-Identifier: Apache-2.0
#include "crypto/signature_image.hpp"

#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "crypto/simple_signing.hpp"
#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hoist::crypto {
namespace {

using test::read_sigstore_vector;

constexpr const char* harbor_signature_b64 =
    "MEUCIQD/"
    "imXjZJlcV82eXu9y9FJGgbDwVPw7AaGFzqva8G+CgwIgYc4CRvEjwoAwkzGoX+aZxQWCASpv5G+EAWDKOJRLbTQ=";
constexpr const char* zero_time = "0001-01-01T00:00:00Z";

signature_layer harbor_layer() {
    return simple_signing_layer(read_sigstore_vector("harbor/payload.reconstructed.json"),
                                base64_decode(harbor_signature_b64).value());
}

TEST(SignatureImage, ReproducesHarborsConfigByteForByte) {
    const auto image = build_signature_image({harbor_layer()});
    ASSERT_TRUE(image);
    EXPECT_EQ(image->config, read_sigstore_vector("harbor/config.reconstructed.json"));
    EXPECT_EQ(image->config.size(), 233u);
    EXPECT_EQ(digest_of(image->config),
              "sha256:d4e6059ece7bea95266fd7766353130d4bf3dc21048b8a9783c98b8412618c38");
}

TEST(SignatureImage, WritesTheManifestAsCosign) {
    const auto image = build_signature_image({harbor_layer()});
    ASSERT_TRUE(image);
    EXPECT_EQ(
        image->manifest,
        std::string(
            R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)") +
            R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,)"
            R"("digest":"sha256:d4e6059ece7bea95266fd7766353130d4bf3dc21048b8a9783c98b8412618c38"},)"
            R"("layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json",)"
            R"("size":250,"digest":"sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564",)"
            R"("annotations":{"dev.cosignproject.cosign/signature":")" +
            harbor_signature_b64 + R"("}}]})");
    // Apart from the top-level mediaType that older cosign left out, it is Harbor's manifest.
    auto ours = nlohmann::json::parse(image->manifest);
    ours.erase("mediaType");
    EXPECT_EQ(ours, nlohmann::json::parse(read_sigstore_vector("harbor/sig-manifest.json")));
}

TEST(SignatureImage, ReadsHarborsManifest) {
    const auto manifest =
        parse_signature_manifest(read_sigstore_vector("harbor/sig-manifest.json"));
    ASSERT_TRUE(manifest);
    EXPECT_EQ(manifest->media_type, "");
    ASSERT_EQ(manifest->layers.size(), 1u);
    const auto& layer = manifest->layers[0];
    EXPECT_EQ(layer.media_type, simple_signing_media_type);
    EXPECT_EQ(layer.size, 250);
    EXPECT_EQ(layer.digest,
              "sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564");
    EXPECT_EQ(layer.annotations,
              (std::map<std::string, std::string>{
                  {std::string(cosign_signature_annotation), harbor_signature_b64}}));
    EXPECT_TRUE(layer.other_members.empty());
}

TEST(SignatureImage, AppendingALayerKeepsTheExistingOnes) {
    const auto key = ec_private_key::generate().value();
    const std::string payload = simple_signing_payload(
        "registry.k8s.io/pause",
        "sha256:1b26826f602946860c279fce658f31050cff2c596583af237d971f4629b57792",
        {{"org.kubernetes.kpromo.version", "kpromo-v4"}});
    const std::string signature = key.sign_der(payload).value();

    auto existing = parse_signature_manifest(read_sigstore_vector("harbor/sig-manifest.json"));
    ASSERT_TRUE(existing);
    auto layers = existing->layers;
    layers.push_back(
        simple_signing_layer(payload, signature, {{"dev.sigstore.cosign/certificate", "PEM"}}));
    const auto image = build_signature_image(layers);
    ASSERT_TRUE(image);

    const std::string new_digest = digest_of(payload);
    EXPECT_EQ(
        image->config,
        std::string(R"({"architecture":"","created":")") + zero_time +
            R"(","history":[{"created":")" + zero_time + R"("},{"created":")" + zero_time +
            R"("}],"os":"","rootfs":{"type":"layers","diff_ids":)"
            R"(["sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564",")" +
            new_digest + R"("]},"config":{}})");

    const auto reread = parse_signature_manifest(image->manifest);
    ASSERT_TRUE(reread);
    EXPECT_EQ(reread->media_type, oci_manifest_media_type);
    ASSERT_EQ(reread->layers.size(), 2u);
    EXPECT_EQ(reread->layers[0].digest, existing->layers[0].digest);
    EXPECT_EQ(reread->layers[0].annotations, existing->layers[0].annotations);
    const auto& added = reread->layers[1];
    EXPECT_EQ(added.media_type, simple_signing_media_type);
    EXPECT_EQ(added.size, static_cast<std::int64_t>(payload.size()));
    EXPECT_EQ(added.digest, new_digest);
    EXPECT_EQ(added.annotations.at("dev.sigstore.cosign/certificate"), "PEM");
    EXPECT_TRUE(key.public_key().verify_der(
        payload,
        base64_decode(added.annotations.at(std::string(cosign_signature_annotation))).value()));
    // Annotations are written sorted by key, as Go writes maps.
    EXPECT_NE(image->manifest.find(R"("annotations":{"dev.cosignproject.cosign/signature":")" +
                                   base64_encode(signature) +
                                   R"(","dev.sigstore.cosign/certificate":"PEM"}})"),
              std::string::npos);
}

TEST(SignatureImage, KeepsLayerMembersItDoesNotInterpret) {
    const auto manifest = parse_signature_manifest(
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
        R"("config":{},"layers":[{"urls":["https://a.test/b"],"mediaType":"m","size":3,)"
        R"("digest":"sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564",)"
        R"("data":"YWJj"}]})");
    ASSERT_TRUE(manifest);
    EXPECT_EQ(manifest->media_type, docker_manifest_media_type);
    ASSERT_EQ(manifest->layers.size(), 1u);
    EXPECT_EQ(manifest->layers[0].other_members,
              (std::map<std::string, std::string>{{"data", R"("YWJj")"},
                                                  {"urls", R"(["https://a.test/b"])"}}));
    const auto image = build_signature_image(manifest->layers);
    ASSERT_TRUE(image);
    EXPECT_NE(image->manifest.find(R"("size":3,"digest":"sha256:91a821a0e2412f1b99b07bfe176451bcc)"
                                   R"(343568b761388718abbf38076048564","data":"YWJj",)"
                                   R"("urls":["https://a.test/b"]}]})"),
              std::string::npos);
}

TEST(SignatureImage, LimitsTheNumberOfLayersAsCosign) {
    const signature_layer layer = harbor_layer();
    std::vector<signature_layer> layers(max_signature_layers, layer);
    const auto largest = build_signature_image(layers);
    ASSERT_TRUE(largest);

    layers.push_back(layer);
    const auto too_many = build_signature_image(layers);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error(), errc::limit_exceeded);

    // The same limit when reading.
    auto oversized = nlohmann::json::parse(largest->manifest);
    oversized["layers"].push_back(oversized["layers"][0]);
    const auto read = parse_signature_manifest(oversized.dump());
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error(), errc::limit_exceeded);
    EXPECT_TRUE(parse_signature_manifest(largest->manifest));
}

TEST(SignatureImage, RefusesToBuildFromBadLayers) {
    EXPECT_EQ(build_signature_image({}).error(), errc::invalid_argument);
    auto layer = harbor_layer();
    layer.digest = "sha256:91A821A0";
    EXPECT_EQ(build_signature_image({layer}).error(), errc::invalid_argument);
    layer = harbor_layer();
    layer.size = -1;
    EXPECT_EQ(build_signature_image({layer}).error(), errc::invalid_argument);
}

TEST(SignatureImage, RefusesMalformedManifests) {
    const std::string digest =
        R"("sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564")";
    const std::string cases[] = {
        R"({"schemaVersion":1,"config":{},"layers":[]})",
        R"({"schemaVersion":"2","config":{},"layers":[]})",
        R"({"schemaVersion":2,"layers":[]})",
        R"({"schemaVersion":2,"config":{}})",
        R"({"schemaVersion":2,"config":{},"layers":{}})",
        R"({"schemaVersion":2,"mediaType":3,"config":{},"layers":[]})",
        R"({"schemaVersion":2,"config":{},"layers":[{"mediaType":"m","size":-1,"digest":)" +
            digest + "}]}",
        R"({"schemaVersion":2,"config":{},"layers":[{"mediaType":"m","size":1.5,"digest":)" +
            digest + "}]}",
        R"({"schemaVersion":2,"config":{},"layers":[{"mediaType":"m","digest":)" + digest + "}]}",
        R"({"schemaVersion":2,"config":{},"layers":[{"size":1,"digest":)" + digest + "}]}",
        R"({"schemaVersion":2,"config":{},"layers":[{"mediaType":"m","size":1,"digest":"sha256:ab"}]})",
        R"({"schemaVersion":2,"config":{},"layers":[{"mediaType":"m","size":1,"digest":)" + digest +
            R"(,"annotations":{"a":1}}]})",
        R"({"schemaVersion":2,"config":{},"layers":[{"mediaType":"m","size":1,"digest":)" + digest +
            R"(,"annotations":[]}]})",
        R"({"schemaVersion":2,"config":{},"layers":[3]})",
    };
    for (const auto& text : cases) {
        const auto manifest = parse_signature_manifest(text);
        ASSERT_FALSE(manifest) << text;
        EXPECT_EQ(manifest.error(), errc::bad_document) << text;
    }
    const auto index = parse_signature_manifest(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{},"layers":[]})");
    ASSERT_FALSE(index);
    EXPECT_EQ(index.error(), errc::unsupported_document);
}

}  // namespace
}  // namespace hoist::crypto
