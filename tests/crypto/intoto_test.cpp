// SPDX-License-Identifier: Apache-2.0
#include "crypto/intoto.hpp"

#include "crypto/dsse.hpp"
#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hoist::crypto {
namespace {

using test::read_sigstore_vector;

constexpr const char* image_hex =
    "4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec";

std::string sha256_hex_of(std::string_view bytes) {
    return to_hex(sha256::of(bytes));
}

intoto_statement statement_of_envelope(const std::string& relative) {
    const auto envelope = parse_dsse_envelope(read_sigstore_vector(relative));
    EXPECT_TRUE(envelope) << relative;
    if (!envelope) {
        return {};
    }
    EXPECT_EQ(envelope->payload_type, intoto_payload_type);
    auto statement = parse_statement(envelope->payload);
    EXPECT_TRUE(statement) << relative;
    return statement ? *statement : intoto_statement{};
}

TEST(Intoto, BuildsStatementV1CompactWithKeysInOrder) {
    const nlohmann::json predicate = {{"zeta", 1}, {"alpha", "x<y"}, {"list", {true, nullptr}}};
    const auto json = statement_json({{"registry.k8s.io/pause", {{"sha256", image_hex}}}},
                                     "https://k8s.io/promo-tools/promotion/v1", predicate);
    ASSERT_TRUE(json);
    EXPECT_EQ(*json, std::string(R"({"_type":"https://in-toto.io/Statement/v1",)") +
                         R"("subject":[{"name":"registry.k8s.io/pause","digest":{"sha256":")" +
                         image_hex +
                         R"("}}],"predicateType":"https://k8s.io/promo-tools/promotion/v1",)"
                         R"("predicate":{"alpha":"x\u003cy","list":[true,null],"zeta":1}})");
}

TEST(Intoto, LeavesOutAnEmptyNameAndANullPredicate) {
    const auto json = statement_json({{"", {{"sha512", "ab"}, {"sha256", image_hex}}}},
                                     "https://sigstore.dev/cosign/sign/v1", nullptr);
    ASSERT_TRUE(json);
    EXPECT_EQ(*json,
              std::string(R"({"_type":"https://in-toto.io/Statement/v1",)") +
                  R"("subject":[{"digest":{"sha256":")" + image_hex +
                  R"(","sha512":"ab"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1"})");
    // An empty object is kept: cosign v3 writes "predicate":{} for image signatures.
    const auto with_empty =
        statement_json({{"", {{"sha256", image_hex}}}}, "p", nlohmann::json::object());
    ASSERT_TRUE(with_empty);
    EXPECT_TRUE(with_empty->ends_with(R"("predicateType":"p","predicate":{}})"));
}

TEST(Intoto, WritesNumbersAndStringsAsGoDoes) {
    // Go's float64 form: shortest digits, fixed notation from 1e-6 to 1e21.
    const nlohmann::json predicate = {
        {"a", 0.5},
        {"b", 100.0},
        {"c", 1e20},
        {"d", 1e21},
        {"e", 1e-7},
        {"f", -0.0},
        {"g", 1.5e-6},
        {"h", -42},
        {"i", 18446744073709551615u},
        {"s", "line\xe2\x80\xa8sep\xe2\x80\xa9\x7f\x01\b\f\t\r\n\"\\/\xc3\xa9"},
    };
    const auto json = statement_json({{"", {{"sha256", image_hex}}}}, "p", predicate);
    ASSERT_TRUE(json);
    EXPECT_TRUE(json->ends_with(
        R"("predicate":{"a":0.5,"b":100,"c":100000000000000000000,"d":1e+21,"e":1e-7,"f":-0,)"
        R"("g":0.0000015,"h":-42,"i":18446744073709551615,)"
        "\"s\":\"line\\u2028sep\\u2029\x7f\\u0001\\b\\f\\t\\r\\n\\\"\\\\/\xc3\xa9\"}}"))
        << *json;
}

TEST(Intoto, WritesInvalidUtf8AsGoDoes) {
    // Each byte that is not part of a well-formed sequence becomes U+FFFD; overlong forms and
    // surrogates are not well formed.
    const auto json = statement_json({{"a\xff\xc0\xaf"
                                       "b\xed\xa0\x80\xf0\x9f\x98\x80",
                                       {{"sha256", image_hex}}}},
                                     "p", nullptr);
    ASSERT_TRUE(json);
    EXPECT_NE(json->find(R"("name":"a\ufffd\ufffd\ufffdb\ufffd\ufffd\ufffd)"
                         "\xf0\x9f\x98\x80\""),
              std::string::npos)
        << *json;
}

TEST(Intoto, RefusesDeeplyNestedDocuments) {
    const auto nested = [](int depth) {
        return std::string(R"({"_type":"https://in-toto.io/Statement/v1","subject":[],)") +
               R"("predicateType":"p","predicate":{"x":)" + std::string(depth, '[') +
               std::string(depth, ']') + "}}";
    };
    EXPECT_TRUE(parse_statement(nested(60)));
    const auto deep = parse_statement(nested(100000));
    ASSERT_FALSE(deep);
    EXPECT_EQ(deep.error(), errc::bad_document);
}

TEST(Intoto, RefusesToBuildInvalidStatements) {
    const intoto_subject good{"n", {{"sha256", image_hex}}};
    const std::vector<std::pair<std::vector<intoto_subject>, nlohmann::json>> cases = {
        {{}, nullptr},                                                       // no subject
        {{{"n", {}}}, nullptr},                                              // no digest
        {{{"n", {{"sha256", std::string(image_hex).substr(1)}}}}, nullptr},  // short hex
        {{{"n", {{"sha256", "4AA3054270F7A70B4528F2064EE90961788E1E1518703592AE4463DE3B889DEC"}}}},
         nullptr},                           // upper case
        {{{"n", {{"sha1", ""}}}}, nullptr},  // empty value
        {{good}, nlohmann::json::array()},   // predicate not an object
        {{good}, 3},
    };
    for (const auto& [subjects, predicate] : cases) {
        const auto json = statement_json(subjects, "p", predicate);
        ASSERT_FALSE(json) << predicate.dump();
        EXPECT_EQ(json.error(), errc::invalid_argument);
    }
    EXPECT_EQ(statement_json({good}, "", nullptr).error(), errc::invalid_argument);
}

TEST(Intoto, ReadsCosignStatementsV01AndMatchesTheBlobDigest) {
    const std::string blob_hex = sha256_hex_of(read_sigstore_vector("cosign/attest-blob/blob.txt"));
    EXPECT_EQ(blob_hex, "658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24");

    const auto provenance = statement_of_envelope("cosign/attest-blob/slsa-provenance.dsse.json");
    EXPECT_EQ(provenance.type, statement_type_v01);
    EXPECT_EQ(provenance.predicate_type, "https://slsa.dev/provenance/v0.2");
    ASSERT_EQ(provenance.subjects.size(), 1u);
    EXPECT_EQ(provenance.subjects[0].name, "blob");
    EXPECT_EQ(provenance.subjects[0].digest.at("sha256"), blob_hex);
    EXPECT_EQ(provenance.predicate["builder"]["id"], "2");
    EXPECT_TRUE(has_subject_digest(provenance, blob_hex));
    EXPECT_FALSE(has_subject_digest(provenance, blob_hex.substr(1)));
    EXPECT_FALSE(has_subject_digest(provenance, ""));

    const auto several = statement_of_envelope("cosign/attest-blob/multiple-subjects.dsse.json");
    EXPECT_EQ(several.subjects.size(), 2u);
    EXPECT_TRUE(has_subject_digest(several, blob_hex));

    // Their signatures verify (dsse_test); it is the subject check that refuses them.
    const auto unrelated =
        statement_of_envelope("cosign/attest-blob/multiple-subjects-invalid.dsse.json");
    EXPECT_EQ(unrelated.subjects.size(), 2u);
    EXPECT_FALSE(has_subject_digest(unrelated, blob_hex));

    const auto empty = statement_of_envelope("cosign/attest-blob/empty-subject.dsse.json");
    EXPECT_TRUE(empty.subjects.empty());
    EXPECT_FALSE(has_subject_digest(empty, blob_hex));
}

TEST(Intoto, ReadsStatementV1OfTheConformanceSuite) {
    const auto bundle = nlohmann::json::parse(read_sigstore_vector(
        "sigstore-conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"));
    const auto payload =
        base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>()).value();
    const auto statement = parse_statement(payload);
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->type, statement_type_v1);
    EXPECT_EQ(statement->predicate_type, "https://slsa.dev/provenance/v1");
    ASSERT_EQ(statement->subjects.size(), 1u);
    EXPECT_EQ(statement->subjects[0].name, "a.txt");
    EXPECT_TRUE(has_subject_digest(
        *statement, sha256_hex_of(read_sigstore_vector("sigstore-conformance/a.txt"))));
}

TEST(Intoto, RefusesMalformedOrUnknownStatements) {
    const auto unknown = parse_statement(
        R"({"_type":"https://in-toto.io/Statement/v2","subject":[],"predicateType":"p"})");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error(), errc::unsupported_document);

    const char* malformed[] = {
        R"([])",
        R"({"subject":[],"predicateType":"p"})",
        R"({"_type":"https://in-toto.io/Statement/v1","predicateType":"p"})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[]})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":""})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":{},"predicateType":"p"})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"n"}],"predicateType":"p"})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":1}}],"predicateType":"p"})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":2,"digest":{}}],"predicateType":"p"})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p","predicate":[]})",
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[],"subject":[],"predicateType":"p"})",
    };
    for (const char* text : malformed) {
        const auto statement = parse_statement(text);
        ASSERT_FALSE(statement) << text;
        EXPECT_EQ(statement.error(), errc::bad_document) << text;
    }
}

TEST(Intoto, BuildSignParseRoundTrip) {
    const auto key = ec_private_key::generate().value();
    const nlohmann::json predicate = {{"builder", {{"id", "https://hoist.test/builder"}}}};
    const auto json = statement_json({{"registry.k8s.io/pause", {{"sha256", image_hex}}}},
                                     "https://example.test/predicate", predicate);
    ASSERT_TRUE(json);
    const auto envelope =
        parse_dsse_envelope(to_json(sign_dsse(intoto_payload_type, *json, key).value()));
    ASSERT_TRUE(envelope);
    ASSERT_TRUE(verify_dsse(*envelope, key.public_key()));
    const auto statement = parse_statement(envelope->payload);
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->type, statement_type_v1);
    EXPECT_EQ(statement->predicate_type, "https://example.test/predicate");
    EXPECT_EQ(statement->predicate, predicate);
    ASSERT_EQ(statement->subjects.size(), 1u);
    EXPECT_EQ(statement->subjects[0].name, "registry.k8s.io/pause");
    EXPECT_TRUE(has_subject_digest(*statement, image_hex));
}

}  // namespace
}  // namespace hoist::crypto
