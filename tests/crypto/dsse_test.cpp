// SPDX-License-Identifier: Apache-2.0
#include "crypto/dsse.hpp"

#include "crypto/encoding.hpp"
#include "crypto/intoto.hpp"
#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hoist::crypto {
namespace {

using test::read_sigstore_vector;
using test::sigstore_vector_key;

TEST(Dsse, PaeOfTheSpecificationVector) {
    EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
              "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST(Dsse, PaeCountsBytesAndEndsWithThePayload) {
    EXPECT_EQ(pae(intoto_payload_type, ""), "DSSEv1 28 application/vnd.in-toto+json 0 ");
    // Lengths are bytes, not characters: "é" is two.
    EXPECT_EQ(pae("t", std::string("\xc3\xa9\0x", 4)), std::string("DSSEv1 1 t 4 \xc3\xa9\0x", 17));
}

TEST(Dsse, SpecificationVectorWithRawSignatureVerifies) {
    const auto envelope =
        parse_dsse_envelope(read_sigstore_vector("dsse/hello-world.envelope.json"));
    ASSERT_TRUE(envelope);
    EXPECT_EQ(envelope->payload_type, "http://example.com/HelloWorld");
    EXPECT_EQ(envelope->payload, "hello world");
    ASSERT_EQ(envelope->signatures.size(), 1u);
    EXPECT_EQ(envelope->signatures[0].keyid, "");
    EXPECT_EQ(envelope->signatures[0].sig.size(), 64u);  // r||s, not DER

    const auto key = sigstore_vector_key("dsse/hello-world.pub.pem");
    EXPECT_TRUE(verify_dsse(*envelope, key));
    // Read as DER, the cosign convention, it does not verify: the raw fallback is what works.
    EXPECT_FALSE(key.verify_der(pae(envelope->payload_type, envelope->payload),
                                envelope->signatures[0].sig));

    auto changed = *envelope;
    changed.payload = "hello world!";
    EXPECT_FALSE(verify_dsse(changed, key));
}

class CosignAttestBlob : public testing::TestWithParam<const char*> {};

TEST_P(CosignAttestBlob, EnvelopeVerifiesWithItsKeyOnly) {
    const auto envelope =
        parse_dsse_envelope(read_sigstore_vector(std::string("cosign/attest-blob/") + GetParam()));
    ASSERT_TRUE(envelope);
    EXPECT_EQ(envelope->payload_type, intoto_payload_type);
    ASSERT_EQ(envelope->signatures.size(), 1u);
    EXPECT_EQ(envelope->signatures[0].keyid, "");

    EXPECT_TRUE(verify_dsse(*envelope, sigstore_vector_key("cosign/attest-blob/cosign.pub")));
    EXPECT_FALSE(verify_dsse(*envelope, sigstore_vector_key("containers-image/cosign.pub")));

    auto tampered = *envelope;
    tampered.payload_type = "application/vnd.in-toto+jsom";
    EXPECT_FALSE(verify_dsse(tampered, sigstore_vector_key("cosign/attest-blob/cosign.pub")));
}

INSTANTIATE_TEST_SUITE_P(Vectors, CosignAttestBlob,
                         testing::Values("slsa-provenance.dsse.json", "multiple-subjects.dsse.json",
                                         "multiple-subjects-invalid.dsse.json",
                                         "empty-subject.dsse.json"));

TEST(Dsse, CosignEnvelopeIsWrittenBackByteForByte) {
    // cosign v2's own writer produced these; ours must give the same bytes.
    const std::string text = read_sigstore_vector("cosign/attest-blob/slsa-provenance.dsse.json");
    const auto envelope = parse_dsse_envelope(text);
    ASSERT_TRUE(envelope);
    EXPECT_EQ(to_json(*envelope), text);
}

TEST(Dsse, ParsesAnyKeyOrderUrlSafeUnpaddedBase64AndMissingKeyid) {
    // payload bytes fb ff → "+/8=" standard, "-_8" URL-safe unpadded.
    const auto envelope =
        parse_dsse_envelope(R"({"signatures":[{"sig":"-_8"},{"keyid":"k","sig":"+/8="}],"extra":1,)"
                            R"("payload":"-_8","payloadType":"t"})");
    ASSERT_TRUE(envelope);
    EXPECT_EQ(envelope->payload_type, "t");
    EXPECT_EQ(envelope->payload, "\xfb\xff");
    ASSERT_EQ(envelope->signatures.size(), 2u);
    EXPECT_EQ(envelope->signatures[0].keyid, "");
    EXPECT_EQ(envelope->signatures[0].sig, "\xfb\xff");
    EXPECT_EQ(envelope->signatures[1].keyid, "k");
    EXPECT_EQ(envelope->signatures[1].sig, "\xfb\xff");
}

TEST(Dsse, RefusesMalformedEnvelopes) {
    const char* cases[] = {
        "",
        "[]",
        R"({"payload":"aGk=","signatures":[{"sig":"aGk="}]})",       // no type
        R"({"payloadType":"t","signatures":[{"sig":"aGk="}]})",      // no payload
        R"({"payloadType":"t","payload":"aGk="})",                   // no signatures
        R"({"payloadType":1,"payload":"aGk=","signatures":[]})",     // type not string
        R"({"payloadType":"t","payload":"a*k=","signatures":[]})",   // not base64
        R"({"payloadType":"t","payload":"a-k/","signatures":[]})",   // mixed alphabets
        R"({"payloadType":"t","payload":"aGk==","signatures":[]})",  // bad padding
        R"({"payloadType":"t","payload":"aG=","signatures":[]})",
        R"({"payloadType":"t","payload":"a","signatures":[]})",
        R"({"payloadType":"t","payload":"aGk= ","signatures":[]})",
        R"({"payloadType":"t","payload":"aGk","signatures":[]} x)",             // trailing bytes
        R"({"payloadType":"t","payload":"aGk=","signatures":{}})",              // not a list
        R"({"payloadType":"t","payload":"aGk=","signatures":[{"keyid":""}]})",  // no sig
        R"({"payloadType":"t","payload":"aGk=","signatures":[{"sig":""}]})",    // empty sig
        R"({"payloadType":"t","payload":"aGk=","signatures":[{"sig":"aGk=","keyid":3}]})",
        R"({"payloadType":"t","payload":"aGk=","payload":"aGk=","signatures":[]})",  // repeated
    };
    for (const char* text : cases) {
        const auto envelope = parse_dsse_envelope(text);
        ASSERT_FALSE(envelope) << text;
        EXPECT_EQ(envelope.error(), errc::bad_document) << text;
    }
}

TEST(Dsse, SignWriteParseVerifyRoundTrip) {
    const auto key = ec_private_key::generate().value();
    const std::string statement = R"({"_type":"https://in-toto.io/Statement/v1"})";
    const auto envelope = sign_dsse(intoto_payload_type, statement, key);
    ASSERT_TRUE(envelope);
    ASSERT_EQ(envelope->signatures.size(), 1u);
    // DER signature over SHA-256 of the PAE.
    EXPECT_TRUE(key.public_key().verify_der(pae(intoto_payload_type, statement),
                                            envelope->signatures[0].sig));

    const std::string json = to_json(*envelope);
    const std::string expected_prefix =
        R"({"payloadType":"application/vnd.in-toto+json","payload":")" + base64_encode(statement) +
        R"(","signatures":[{"keyid":"","sig":")";
    EXPECT_EQ(json.substr(0, expected_prefix.size()), expected_prefix);
    EXPECT_EQ(json.substr(json.size() - 4), R"("}]})");

    const auto parsed = parse_dsse_envelope(json);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->payload, statement);
    EXPECT_TRUE(verify_dsse(*parsed, key.public_key()));
    EXPECT_FALSE(verify_dsse(*parsed, ec_private_key::generate().value().public_key()));

    auto changed = *parsed;
    changed.payload.back() = ' ';
    EXPECT_FALSE(verify_dsse(changed, key.public_key()));
    changed = *parsed;
    changed.signatures.clear();
    EXPECT_FALSE(verify_dsse(changed, key.public_key()));
}

TEST(Dsse, AnySignatureOfSeveralIsEnough) {
    const auto key = ec_private_key::generate().value();
    auto envelope = sign_dsse("t", "payload", ec_private_key::generate().value()).value();
    envelope.signatures.push_back(sign_dsse("t", "payload", key).value().signatures[0]);
    EXPECT_TRUE(verify_dsse(envelope, key.public_key()));
}

TEST(Dsse, WritesStringsAsGoEscapesThem) {
    const dsse_envelope envelope{"a<b>&\"c\"", "", {{"k\n", "\x01"}}};
    EXPECT_EQ(to_json(envelope), R"({"payloadType":"a\u003cb\u003e\u0026\"c\"","payload":"",)"
                                 R"("signatures":[{"keyid":"k\n","sig":"AQ=="}]})");
}

}  // namespace
}  // namespace hoist::crypto
