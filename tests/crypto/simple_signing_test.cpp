// SPDX-License-Identifier: Apache-2.0
#include "crypto/simple_signing.hpp"

#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hoist::crypto {
namespace {

using test::read_sigstore_vector;
using test::sigstore_vector_key;

constexpr const char* digest_a =
    "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";

std::string signature_of(std::string_view relative) {
    return base64_decode(read_sigstore_vector(relative)).value();
}

TEST(SimpleSigning, ReproducesHarborsPayloadByteForByte) {
    const std::string payload = simple_signing_payload(
        "10.202.250.215/library/hello-world",
        "sha256:1b26826f602946860c279fce658f31050cff2c596583af237d971f4629b57792", {});
    EXPECT_EQ(payload, read_sigstore_vector("harbor/payload.reconstructed.json"));
    // The size and digest of the layer in Harbor's copy of a real cosign `.sig` manifest.
    EXPECT_EQ(payload.size(), 250u);
    EXPECT_EQ(digest_of(payload),
              "sha256:91a821a0e2412f1b99b07bfe176451bcc343568b761388718abbf38076048564");
}

TEST(SimpleSigning, ReproducesContainersImagePayloads) {
    for (const char* relative : {"containers-image/key-valid/payload.json",
                                 "containers-image/key2-rekor-valid/payload.json"}) {
        const std::string original = read_sigstore_vector(relative);
        const auto claims = parse_simple_signing_payload(original);
        ASSERT_TRUE(claims) << relative;
        EXPECT_TRUE(claims->optional.empty());
        EXPECT_FALSE(claims->timestamp);
        EXPECT_EQ(simple_signing_payload(claims->docker_reference, claims->manifest_digest, {}),
                  original);
    }
}

TEST(SimpleSigning, WritesOptionalSortedAndEscapedAsGo) {
    EXPECT_EQ(
        simple_signing_payload("r.test/a&b", digest_a,
                               {{"org.kubernetes.kpromo.version", "kpromo-v4.0.0"}, {"a", "<x>"}}),
        std::string(R"({"critical":{"identity":{"docker-reference":"r.test/a\u0026b"},)") +
            R"("image":{"docker-manifest-digest":")" + digest_a +
            R"("},"type":"cosign container image signature"},)"
            R"("optional":{"a":"\u003cx\u003e","org.kubernetes.kpromo.version":"kpromo-v4.0.0"}})");
}

TEST(SimpleSigning, ContainersImageKeyValidVerifiesWithItsKeyOnly) {
    const std::string payload = read_sigstore_vector("containers-image/key-valid/payload.json");
    const std::string signature = signature_of("containers-image/key-valid/signature.b64");
    const auto key = sigstore_vector_key("containers-image/cosign.pub");
    EXPECT_TRUE(key.verify_der(payload, signature));
    EXPECT_FALSE(
        sigstore_vector_key("containers-image/cosign2.pub").verify_der(payload, signature));
    EXPECT_FALSE(key.verify_der(payload + " ", signature));

    const auto claims = parse_simple_signing_payload(payload);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->docker_reference, "192.168.64.2:5000/cosign-signed-single-sample");
    EXPECT_EQ(claims->manifest_digest, digest_a);
    // The signed image is the manifest whose digest the payload names; a modified one is not.
    EXPECT_EQ(digest_of(read_sigstore_vector("containers-image/key-valid/manifest.json")),
              claims->manifest_digest);
    EXPECT_NE(
        digest_of(read_sigstore_vector("containers-image/modified-manifest_fail/manifest.json")),
        claims->manifest_digest);
}

TEST(SimpleSigning, UnknownKeySignatureVerifiesWithNeitherKey) {
    // Its payload is byte-identical to key-valid's.
    const std::string payload = read_sigstore_vector("containers-image/key-valid/payload.json");
    const std::string signature = signature_of("containers-image/unknown-key_fail/signature.b64");
    EXPECT_FALSE(sigstore_vector_key("containers-image/cosign.pub").verify_der(payload, signature));
    EXPECT_FALSE(
        sigstore_vector_key("containers-image/cosign2.pub").verify_der(payload, signature));
}

TEST(SimpleSigning, Key2RekorValidVerifiesWithTheSecondKey) {
    const std::string payload =
        read_sigstore_vector("containers-image/key2-rekor-valid/payload.json");
    const std::string signature = signature_of("containers-image/key2-rekor-valid/signature.b64");
    EXPECT_TRUE(sigstore_vector_key("containers-image/cosign2.pub").verify_der(payload, signature));
    EXPECT_FALSE(sigstore_vector_key("containers-image/cosign.pub").verify_der(payload, signature));
    const auto claims = parse_simple_signing_payload(payload);
    ASSERT_TRUE(claims);
    EXPECT_EQ(digest_of(read_sigstore_vector("containers-image/key2-rekor-valid/manifest.json")),
              claims->manifest_digest);
}

TEST(SimpleSigning, ReadsOptionalAsContainersImageDoes) {
    const auto claims = parse_simple_signing_payload(
        std::string(R"({"critical":{"type":"cosign container image signature",)") +
        R"("image":{"docker-manifest-digest":")" + digest_a +
        R"("},"identity":{"docker-reference":"r.test/x"}},"optional":{"creator":"hoist",)"
        R"("timestamp":1700000000,"k":"v","nested":{"n":[1]},"flag":true}})");
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->docker_reference, "r.test/x");
    EXPECT_EQ(claims->optional,
              (std::map<std::string, std::string>{{"creator", "hoist"}, {"k", "v"}}));
    EXPECT_EQ(claims->timestamp, 1700000000);

    // A float with no fraction is an integer to c/image (it reads a float64).
    const auto float_timestamp = parse_simple_signing_payload(
        std::string(R"({"critical":{"type":"cosign container image signature",)") +
        R"("image":{"docker-manifest-digest":")" + digest_a +
        R"("},"identity":{"docker-reference":"r"}},"optional":{"timestamp":1.7e9}})");
    ASSERT_TRUE(float_timestamp);
    EXPECT_EQ(float_timestamp->timestamp, 1700000000);

    // cosign's own output, with annotations.
    const auto annotated =
        parse_simple_signing_payload(simple_signing_payload("r", digest_a, {{"a", "b"}}));
    ASSERT_TRUE(annotated);
    EXPECT_EQ(annotated->optional, (std::map<std::string, std::string>{{"a", "b"}}));
}

// Builds a payload from parts so that each case breaks exactly one rule.
std::string payload_with(
    std::string_view critical_extra = "",
    std::string_view type = R"("cosign container image signature")",
    std::string_view image =
        R"({"docker-manifest-digest":"sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"})",
    std::string_view identity = R"({"docker-reference":"r.test/x"})",
    std::string_view optional = "null", std::string_view top_extra = "") {
    return std::string(R"({"critical":{"type":)") + std::string(type) + R"(,"image":)" +
           std::string(image) + R"(,"identity":)" + std::string(identity) +
           std::string(critical_extra) + R"(},"optional":)" + std::string(optional) +
           std::string(top_extra) + "}";
}

TEST(SimpleSigning, StrictParserAcceptsTheBaseCase) {
    const auto claims = parse_simple_signing_payload(payload_with());
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->docker_reference, "r.test/x");
    EXPECT_EQ(claims->manifest_digest, digest_a);
}

TEST(SimpleSigning, StrictParserRefusesEachViolation) {
    const std::string digest =
        R"("sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00")";
    const std::string cases[] = {
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x"})", "null", R"(,"extra":1)"),
        payload_with(R"(,"extra":1)"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + R"(,"extra":1})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x","extra":1})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"Docker-manifest-digest":)" + digest + "}"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":7})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":"sha256:634A8F35"})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}", R"({"docker-reference":1})"),
        payload_with("", "1"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x"})", R"({"creator":1})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x"})", R"({"timestamp":1.5})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x"})", R"({"timestamp":"1700000000"})"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x"})", R"("annotations")"),
        payload_with("", R"("cosign container image signature")",
                     R"({"docker-manifest-digest":)" + digest + "}",
                     R"({"docker-reference":"r.test/x"})", "null", R"(,"optional":null)"),
        // critical without image
        std::string(R"({"critical":{"type":"cosign container image signature",)") +
            R"("identity":{"docker-reference":"r"}},"optional":null})",
        // no optional
        std::string(R"({"critical":{"type":"cosign container image signature","image":)") +
            R"({"docker-manifest-digest":)" + digest + R"(},"identity":{"docker-reference":"r"}}})",
        "\xEF\xBB\xBF" + payload_with(),
        payload_with() + "x",
        "null",
    };
    for (const auto& text : cases) {
        const auto claims = parse_simple_signing_payload(text);
        ASSERT_FALSE(claims) << text;
        EXPECT_EQ(claims.error(), errc::bad_document) << text;
    }
    const auto wrong_type =
        parse_simple_signing_payload(payload_with("", R"("atomic container signature")"));
    ASSERT_FALSE(wrong_type);
    EXPECT_EQ(wrong_type.error(), errc::unsupported_document);
}

}  // namespace
}  // namespace hoist::crypto
