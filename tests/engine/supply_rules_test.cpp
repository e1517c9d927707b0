// SPDX-License-Identifier: Apache-2.0
// The offline rules of the supply-chain phases: who a destination is signed as, which
// destination is canonical, and the provenance policy file.
#include "engine/supply/provenance_policy.hpp"
#include "engine/supply/signatures.hpp"
#include "engine/supply/supply_phases.hpp"

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

}  // namespace
}  // namespace hoist::engine
