// SPDX-License-Identifier: Apache-2.0
// The offline rules of the supply-chain phases: who a destination is signed as, which
// destination is canonical, the provenance policy file, and how one `.sig` layer is
// judged (on real cosign signatures from containers/image's test data).
#include "crypto/sha256.hpp"
#include "engine/supply/provenance_policy.hpp"
#include "engine/supply/signatures.hpp"
#include "engine/supply/supply_phases.hpp"

#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace hoist::engine {
namespace {

TEST(SigningIdentity, ProductionArtifactRegistryPathsBecomeRegistryK8sIo) {
    EXPECT_EQ(signing_identity(
                  "us-west2-docker.pkg.dev/k8s-artifacts-prod/images/kubernetes/conformance-arm64"),
              "registry.k8s.io/kubernetes/conformance-arm64");
    EXPECT_EQ(signing_identity("asia.gcr.io/k8s-artifacts-prod/images/pause"),
              "registry.k8s.io/pause");
    // Anything else keeps its own name, including look-alikes that lack the marker.
    EXPECT_EQ(signing_identity("gcr.io/k8s-artifacts-prod/pause"),
              "gcr.io/k8s-artifacts-prod/pause");
    EXPECT_EQ(signing_identity("127.0.0.1:5000/prod/img-000"), "127.0.0.1:5000/prod/img-000");
}

TEST(CanonicalFirst, UsCentral1LeadsThenAlphabetical) {
    std::vector<std::string> destinations{
        "us-west2-docker.pkg.dev/k8s-artifacts-prod/images/pause",
        "asia-east1-docker.pkg.dev/k8s-artifacts-prod/images/pause",
        "us-central1-docker.pkg.dev/k8s-artifacts-prod/images/pause",
        "europe-west1-docker.pkg.dev/k8s-artifacts-prod/images/pause",
    };
    std::sort(destinations.begin(), destinations.end(),
              [](const std::string& a, const std::string& b) { return canonical_first(a, b); });
    EXPECT_EQ(destinations[0], "us-central1-docker.pkg.dev/k8s-artifacts-prod/images/pause");
    EXPECT_EQ(destinations[1], "asia-east1-docker.pkg.dev/k8s-artifacts-prod/images/pause");
    EXPECT_EQ(destinations[3], "us-west2-docker.pkg.dev/k8s-artifacts-prod/images/pause");
}

TEST(SignatureTag, IsCosignsTagForADigest) {
    EXPECT_EQ(signature_tag("sha256:" + std::string(64, 'a')),
              "sha256-" + std::string(64, 'a') + ".sig");
}

TEST(ProvenancePolicy, LongestSourcePrefixWinsOnPathBoundaries) {
    diagnostics problems;
    auto policy = parse_provenance_policy(R"(
default:
  mode: if-present
projects:
  - source: gcr.io/k8s-staging-foo
    mode: required
    builders: ["https://builder.example/release@*"]
    sources: ["https://github.com/kubernetes/foo"]
  - source: gcr.io/k8s-staging-foo/special
    mode: off
)",
                                          "policy.yaml", problems);
    ASSERT_TRUE(policy) << (problems.empty() ? "" : to_string(problems.items().front()));
    const auto* rule = policy->rule_for("gcr.io/k8s-staging-foo/app");
    ASSERT_NE(rule, nullptr);
    EXPECT_EQ(rule->mode, check_mode::required);
    EXPECT_EQ(policy->rule_for("gcr.io/k8s-staging-foo/special/x")->mode, check_mode::off);
    // "k8s-staging-foobar" is not inside "k8s-staging-foo": the default applies.
    const auto* other = policy->rule_for("gcr.io/k8s-staging-foobar/app");
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->mode, check_mode::if_present);
    EXPECT_TRUE(other->builders.empty());

    EXPECT_TRUE(allowed_by(rule->builders, "https://builder.example/release@refs/tags/v1"));
    EXPECT_FALSE(allowed_by(rule->builders, "https://builder.example/other@refs/tags/v1"));
    EXPECT_TRUE(allowed_by(rule->sources, "https://github.com/kubernetes/foo"));
    EXPECT_FALSE(allowed_by(rule->sources, "https://github.com/kubernetes/foo-fork"));
    EXPECT_TRUE(allowed_by({}, "anything"));
}

TEST(ProvenancePolicy, EveryMistakeIsReportedWithItsPosition) {
    diagnostics problems;
    auto policy = parse_provenance_policy(R"(projects:
  - source: gcr.io/a
    mode: sometimes
  - mode: required
  - source: gcr.io/b
    builder: [x]
unknown: 1
)",
                                          "policy.yaml", problems);
    EXPECT_FALSE(policy);
    ASSERT_EQ(problems.size(), 4u);
    problems.sort();
    const auto& items = problems.items();
    EXPECT_EQ(items[0].at.line, 3u);
    EXPECT_NE(items[0].message.find("sometimes"), std::string::npos) << items[0].message;
    EXPECT_EQ(items[1].at.line, 4u);
    EXPECT_NE(items[1].message.find("source"), std::string::npos) << items[1].message;
    EXPECT_EQ(items[2].at.line, 6u);
    EXPECT_NE(items[2].message.find("builder"), std::string::npos) << items[2].message;
    EXPECT_EQ(items[3].at.line, 7u);
    EXPECT_EQ(items[3].file, "policy.yaml");
}

TEST(ProvenancePolicy, AnEmptyFileIsAnEmptyPolicy) {
    diagnostics problems;
    auto policy = parse_provenance_policy("# nothing yet\n", "policy.yaml", problems);
    ASSERT_TRUE(policy);
    EXPECT_EQ(policy->rule_for("gcr.io/x/y"), nullptr);
}

TEST(CheckMode, ParsesTheThreeSpellings) {
    EXPECT_EQ(parse_check_mode("required"), check_mode::required);
    EXPECT_EQ(parse_check_mode("if-present"), check_mode::if_present);
    EXPECT_EQ(parse_check_mode("off"), check_mode::off);
    EXPECT_FALSE(parse_check_mode("if_present"));
    EXPECT_EQ(to_string(check_mode::if_present), "if-present");
}

// Real cosign `.sig` layers (containers/image's fixtures): what Validate and `hoist verify`
// decide about each, as containers/image does — the payload's digest claim against the
// image in hand, then the signature against the keys given.
TEST(SignatureLayer, CosignSignaturesAreJudgedAsContainersImageJudgesThem) {
    using crypto::test::read_sigstore_vector;
    using crypto::test::sigstore_vector_key;
    auto text = [](std::string_view relative) {
        auto bytes = read_sigstore_vector(relative);
        while (!bytes.empty() && std::isspace(static_cast<unsigned char>(bytes.back()))) {
            bytes.pop_back();
        }
        return bytes;
    };
    const auto payload = read_sigstore_vector("containers-image/key-valid/payload.json");
    const auto signature = text("containers-image/key-valid/signature.b64");
    const auto image =
        crypto::digest_of(read_sigstore_vector("containers-image/key-valid/manifest.json"));
    const auto key = sigstore_vector_key("containers-image/cosign.pub");
    const auto key2 = sigstore_vector_key("containers-image/cosign2.pub");

    auto accepted = check_signature_layer(payload, signature, image, {key2, key});
    ASSERT_TRUE(std::holds_alternative<verified_signature>(accepted))
        << std::get<std::string>(accepted);
    const auto& verified = std::get<verified_signature>(accepted);
    EXPECT_EQ(verified.key_index, 1u);
    EXPECT_EQ(verified.docker_reference, "192.168.64.2:5000/cosign-signed-single-sample");
    EXPECT_EQ(verified.payload, payload);

    auto another_key = check_signature_layer(payload, signature, image, {key2});
    ASSERT_TRUE(std::holds_alternative<std::string>(another_key));
    EXPECT_NE(std::get<std::string>(another_key).find("by another key"), std::string::npos);

    // The same signature held against a modified manifest: it signs another digest.
    const auto modified = crypto::digest_of(
        read_sigstore_vector("containers-image/modified-manifest_fail/manifest.json"));
    auto other_image = check_signature_layer(payload, signature, modified, {key, key2});
    ASSERT_TRUE(std::holds_alternative<std::string>(other_image));
    EXPECT_EQ(std::get<std::string>(other_image), "signs " + image + ", not " + modified);

    auto unknown = check_signature_layer(
        payload, text("containers-image/unknown-key_fail/signature.b64"), image, {key, key2});
    ASSERT_TRUE(std::holds_alternative<std::string>(unknown));
    EXPECT_NE(std::get<std::string>(unknown).find("by another key"), std::string::npos);

    const auto payload2 = read_sigstore_vector("containers-image/key2-rekor-valid/payload.json");
    const auto image2 =
        crypto::digest_of(read_sigstore_vector("containers-image/key2-rekor-valid/manifest.json"));
    auto second = check_signature_layer(
        payload2, text("containers-image/key2-rekor-valid/signature.b64"), image2, {key, key2});
    ASSERT_TRUE(std::holds_alternative<verified_signature>(second))
        << std::get<std::string>(second);
    EXPECT_EQ(std::get<verified_signature>(second).key_index, 1u);

    EXPECT_EQ(std::get<std::string>(check_signature_layer(payload, std::nullopt, image, {key})),
              "no readable signature annotation");
    EXPECT_EQ(std::get<std::string>(check_signature_layer(payload, "not base64!", image, {key})),
              "no readable signature annotation");
    auto mangled = check_signature_layer(payload + "x", signature, image, {key});
    ASSERT_TRUE(std::holds_alternative<std::string>(mangled));
    EXPECT_NE(std::get<std::string>(mangled).find("payload refused"), std::string::npos);
}

}  // namespace
}  // namespace hoist::engine
