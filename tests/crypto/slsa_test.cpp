// SPDX-License-Identifier: Apache-2.0
#include "crypto/slsa.hpp"

#include "crypto/dsse.hpp"
#include "crypto/encoding.hpp"
#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hoist::crypto {
namespace {

using test::read_sigstore_vector;
using json = nlohmann::json;

intoto_statement provenance(std::string_view predicate_type, json predicate) {
    return intoto_statement{
        std::string(statement_type_v1), {}, std::string(predicate_type), std::move(predicate)};
}

// A minimal v1 predicate the in-toto validator accepts.
json valid_v1() {
    return {{"buildDefinition",
             {{"buildType", "https://example.test/build/v1"},
              {"externalParameters", {{"source", "git+https://example.test/repo"}}}}},
            {"runDetails", {{"builder", {{"id", "https://example.test/builder"}}}}}};
}

TEST(Slsa, RecognisesProvenanceTypes) {
    EXPECT_TRUE(is_slsa_provenance("https://slsa.dev/provenance/v0.2"));
    EXPECT_TRUE(is_slsa_provenance("https://slsa.dev/provenance/v1"));
    EXPECT_FALSE(is_slsa_provenance("https://slsa.dev/provenance/v0.1"));
    EXPECT_FALSE(is_slsa_provenance("https://slsa.dev/provenance/v1 "));
    EXPECT_FALSE(is_slsa_provenance("https://k8s.io/promo-tools/promotion/v1"));

    const auto other =
        provenance_facts_of(provenance("https://example.test/other", json::object()));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error(), errc::unsupported_document);
}

TEST(Slsa, ReadsV02FromCosignAttestBlob) {
    const auto envelope =
        parse_dsse_envelope(read_sigstore_vector("cosign/attest-blob/slsa-provenance.dsse.json"));
    ASSERT_TRUE(envelope);
    const auto statement = parse_statement(envelope->payload);
    ASSERT_TRUE(statement);
    const auto facts = provenance_facts_of(*statement);
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->builder_id, "2");
    EXPECT_TRUE(facts->source_uris.empty());  // its configSource is {}
}

TEST(Slsa, ReadsV02SourcesInOrderWithoutRepeats) {
    const json predicate = {
        {"builder", {{"id", "https://cloudbuild.googleapis.com/GoogleHostedWorker"}}},
        {"buildType", "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1"},
        {"invocation", {{"configSource", {{"uri", "git+https://github.com/kubernetes/k8s.io"}}}}},
        {"materials",
         {{{"uri", "git+https://github.com/kubernetes/k8s.io"}, {"digest", {{"sha1", "ab"}}}},
          {{"uri", "https://storage.googleapis.com/bucket/source.tgz"}},
          {{"digest", {{"sha256", "cd"}}}}}}};
    const auto facts = provenance_facts_of(provenance(slsa_provenance_v02, predicate));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->builder_id, "https://cloudbuild.googleapis.com/GoogleHostedWorker");
    // The second material is an input, not the source.
    EXPECT_EQ(facts->source_uris,
              std::vector<std::string>{"git+https://github.com/kubernetes/k8s.io"});
}

TEST(Slsa, AnAllowedRepositoryAmongTheInputsIsNotTheSource) {
    json predicate = {{"builder", {{"id", "https://example.test/builder"}}},
                      {"buildType", "https://example.test/type"},
                      {"materials",
                       {{{"uri", "git+https://example.test/elsewhere"}},
                        {{"uri", "git+https://github.com/kubernetes/foo"}}}}};
    auto facts = provenance_facts_of(provenance(slsa_provenance_v02, predicate));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->source_uris, std::vector<std::string>{"git+https://example.test/elsewhere"});

    // A named source stands alone, even when an allowed repository is the first input.
    auto v1 = valid_v1();
    v1["buildDefinition"]["resolvedDependencies"] = {
        {{"uri", "git+https://github.com/kubernetes/foo"}},
        {{"uri", "git+https://example.test/repo@refs/heads/main"}}};
    facts = provenance_facts_of(provenance(slsa_provenance_v1, v1));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->source_uris, std::vector<std::string>{"git+https://example.test/repo"});
    json v02 = {{"builder", {{"id", "https://example.test/builder"}}},
                {"buildType", "https://example.test/type"},
                {"invocation", {{"configSource", {{"uri", "git+https://example.test/elsewhere"}}}}},
                {"materials", {{{"uri", "git+https://github.com/kubernetes/foo"}}}}};
    facts = provenance_facts_of(provenance(slsa_provenance_v02, v02));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->source_uris, std::vector<std::string>{"git+https://example.test/elsewhere"});
}

TEST(Slsa, RefusesInvalidV02) {
    const json cases[] = {
        {{"buildType", "x"}},                             // no builder
        {{"builder", {{"id", ""}}}, {"buildType", "x"}},  // empty id
        {{"builder", {{"id", "b"}}}},                     // no buildType
        {{"builder", "b"}, {"buildType", "x"}},           // builder not object
        {{"builder", {{"id", "b"}}},
         {"buildType", "x"},
         {"materials", json::array({json{{"uri", 1}}})}},
        {{"builder", {{"id", "b"}}}, {"buildType", "x"}, {"materials", "m"}},
        {{"builder", {{"id", "b"}}}, {"buildType", "x"}, {"invocation", {{"configSource", 1}}}},
    };
    for (const auto& predicate : cases) {
        const auto facts = provenance_facts_of(provenance(slsa_provenance_v02, predicate));
        ASSERT_FALSE(facts) << predicate.dump();
        EXPECT_EQ(facts.error(), errc::bad_document) << predicate.dump();
    }
}

TEST(Slsa, ReadsV1FromTheConformanceSuite) {
    const auto bundle = json::parse(read_sigstore_vector(
        "sigstore-conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"));
    const auto statement = parse_statement(
        base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>()).value());
    ASSERT_TRUE(statement);
    const auto facts = provenance_facts_of(*statement);
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->builder_id,
              "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml"
              "@refs/heads/main");
    EXPECT_EQ(facts->source_uris,
              std::vector<std::string>{"https://github.com/loosebazooka/aa-test"});
}

TEST(Slsa, ReadsV1SourceAsStringOrResourceDescriptor) {
    auto predicate = valid_v1();
    auto facts = provenance_facts_of(provenance(slsa_provenance_v1, predicate));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->builder_id, "https://example.test/builder");
    EXPECT_EQ(facts->source_uris, std::vector<std::string>{"git+https://example.test/repo"});

    predicate["buildDefinition"]["externalParameters"]["source"] = {
        {"uri", "git+https://example.test/other"}, {"digest", {{"gitCommit", "ab"}}}};
    predicate["buildDefinition"]["resolvedDependencies"] = {
        {{"uri", "git+https://example.test/other"}}, {{"uri", "https://example.test/base.tgz"}}};
    facts = provenance_facts_of(provenance(slsa_provenance_v1, predicate));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->source_uris, std::vector<std::string>{"git+https://example.test/other"});
}

TEST(Slsa, RefusesV1ThatTheInTotoValidatorRejects) {
    std::vector<json> cases;
    auto predicate = valid_v1();
    predicate.erase("buildDefinition");
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["buildDefinition"].erase("buildType");
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["buildDefinition"]["buildType"] = "";
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["buildDefinition"].erase("externalParameters");
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["buildDefinition"]["externalParameters"] = json::object();
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate.erase("runDetails");
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["runDetails"].erase("builder");
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["runDetails"]["builder"].erase("id");
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["runDetails"]["builder"]["id"] = "";
    cases.push_back(predicate);
    predicate = valid_v1();
    predicate["buildDefinition"]["resolvedDependencies"] = json::array({json{{"uri", 7}}});
    cases.push_back(predicate);
    cases.push_back(json::array());

    for (const auto& bad : cases) {
        const auto facts = provenance_facts_of(provenance(slsa_provenance_v1, bad));
        ASSERT_FALSE(facts) << bad.dump();
        EXPECT_EQ(facts.error(), errc::bad_document) << bad.dump();
    }
}

}  // namespace
}  // namespace hoist::crypto
