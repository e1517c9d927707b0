// SPDX-License-Identifier: Apache-2.0
#include "crypto/bundle.hpp"

#include "crypto/encoding.hpp"
#include "crypto/intoto.hpp"
#include "tests/crypto/sigstore_vectors.hpp"

#include <gtest/gtest.h>
#include <openssl/mem.h>
#include <openssl/x509.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace hoist::crypto {
namespace {

using test::read_sigstore_vector;
using test::sigstore_vector_key;

constexpr const char* managed_key_bundle =
    "sigstore-conformance/managed-key-happy-path/bundle.sigstore.json";
constexpr const char* intoto_bundle =
    "sigstore-conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json";

sigstore_bundle parsed_vector(std::string_view relative) {
    auto bundle = parse_bundle(read_sigstore_vector(relative));
    EXPECT_TRUE(bundle) << relative;
    return bundle ? *bundle : sigstore_bundle{};
}

// The public key of a DER certificate, for checking a keyless bundle's signature alone.
ec_public_key certificate_key(const std::string& der) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(der.data());
    bssl::UniquePtr<X509> certificate(d2i_X509(nullptr, &bytes, static_cast<long>(der.size())));
    EXPECT_NE(certificate, nullptr);
    bssl::UniquePtr<EVP_PKEY> key(certificate ? X509_get_pubkey(certificate.get()) : nullptr);
    std::uint8_t* spki = nullptr;
    const int size = key ? i2d_PUBKEY(key.get(), &spki) : -1;
    EXPECT_GT(size, 0);
    std::string spki_der(reinterpret_cast<const char*>(spki), size > 0 ? size : 0);
    OPENSSL_free(spki);
    return ec_public_key::from_spki_der(spki_der).value();
}

TEST(Bundle, ReferrerConstantsAreConsistent) {
    EXPECT_EQ(digest_of(oci_empty_content), oci_empty_digest);
    EXPECT_EQ(static_cast<std::int64_t>(oci_empty_content.size()), oci_empty_size);
}

TEST(Bundle, ManagedKeyHappyPathVerifiesWithItsKeyAgainstTheArtifact) {
    const auto bundle = parsed_vector(managed_key_bundle);
    const auto key = sigstore_vector_key("sigstore-conformance/managed-key-happy-path/key.pub");
    EXPECT_EQ(bundle.media_type, bundle_v03_media_type);
    EXPECT_EQ(bundle.material, verification_material::public_key);
    EXPECT_EQ(bundle.public_key_hint, "TLMsSDfG3ajPsWge+z/vX5T/zluXnmvbkTkwLIV68Tk=");
    EXPECT_EQ(bundle.public_key_hint, key.hint());
    EXPECT_EQ(bundle.tlog_entries, 1u);  // present, ignored
    EXPECT_EQ(bundle.rfc3161_timestamps, 1u);
    ASSERT_TRUE(std::holds_alternative<message_signature>(bundle.content));
    EXPECT_EQ(std::get<message_signature>(bundle.content).digest_algorithm, "SHA2_256");

    const std::string artifact = read_sigstore_vector("sigstore-conformance/a.txt");
    EXPECT_TRUE(verify_bundle(bundle, key, artifact));

    const auto longer = verify_bundle(bundle, key, artifact + "x");
    ASSERT_FALSE(longer);
    EXPECT_EQ(longer.error(), errc::digest_mismatch);
    const auto other_key =
        verify_bundle(bundle, sigstore_vector_key("cosign/attest-blob/cosign.pub"), artifact);
    ASSERT_FALSE(other_key);
    EXPECT_EQ(other_key.error(), errc::verify_failed);
    const auto no_artifact = verify_bundle(bundle, key);
    ASSERT_FALSE(no_artifact);
    EXPECT_EQ(no_artifact.error(), errc::invalid_argument);
}

TEST(Bundle, MessageSignatureMustMatchTheArtifactNotJustItsDigestField) {
    auto bundle = parsed_vector(managed_key_bundle);
    const auto key = sigstore_vector_key("sigstore-conformance/managed-key-happy-path/key.pub");
    const std::string artifact = "another artifact";
    // A digest field made to match, with the signature of a.txt: the signature decides.
    const auto hash = sha256::of(artifact);
    std::get<message_signature>(bundle.content)
        .digest.assign(reinterpret_cast<const char*>(hash.data()), hash.size());
    const auto result = verify_bundle(bundle, key, artifact);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), errc::verify_failed);

    std::get<message_signature>(bundle.content).digest_algorithm = "SHA2_384";
    EXPECT_EQ(verify_bundle(bundle, key, artifact).error(), errc::unsupported_document);
}

TEST(Bundle, WrongKeyOfTheConformanceSuiteDoesNotEvenParse) {
    const auto key = ec_public_key::from_pem(
        read_sigstore_vector("sigstore-conformance/managed-key-wrong-key_fail/key.pub"));
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error(), errc::bad_key);
}

TEST(Bundle, ReadsAKeylessDsseBundle) {
    const auto bundle = parsed_vector(intoto_bundle);
    EXPECT_EQ(bundle.media_type, bundle_v03_media_type);
    EXPECT_EQ(bundle.material, verification_material::certificate);
    ASSERT_EQ(bundle.certificates_der.size(), 1u);
    EXPECT_EQ(static_cast<unsigned char>(bundle.certificates_der[0][0]), 0x30u);  // DER SEQUENCE
    EXPECT_TRUE(bundle.public_key_hint.empty());
    EXPECT_EQ(bundle.tlog_entries, 1u);
    ASSERT_TRUE(std::holds_alternative<dsse_envelope>(bundle.content));
    const auto& envelope = std::get<dsse_envelope>(bundle.content);
    EXPECT_EQ(envelope.payload_type, intoto_payload_type);
    ASSERT_EQ(envelope.signatures.size(), 1u);
    const auto statement = parse_statement(envelope.payload);
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->type, statement_type_v1);

    // Keyless verification is out of scope, but the envelope's signature alone checks out
    // with the leaf certificate's key, and the subject is a.txt.
    const auto leaf_key = certificate_key(bundle.certificates_der[0]);
    EXPECT_TRUE(verify_bundle(bundle, leaf_key));
    EXPECT_TRUE(
        verify_bundle(bundle, leaf_key, read_sigstore_vector("sigstore-conformance/a.txt")));
    EXPECT_EQ(verify_bundle(bundle, leaf_key, std::string_view("b.txt")).error(),
              errc::digest_mismatch);
    EXPECT_EQ(verify_bundle(bundle, ec_private_key::generate().value().public_key()).error(),
              errc::verify_failed);

    const auto forged =
        parsed_vector("sigstore-conformance/dsse-invalid-sig_fail/bundle.sigstore.json");
    EXPECT_EQ(verify_bundle(forged, certificate_key(forged.certificates_der[0])).error(),
              errc::verify_failed);
}

TEST(Bundle, ReadsCosignsOciAttestationBundle) {
    const auto bundle = parsed_vector("cosign/oci-attestation.sigstore.json");
    EXPECT_EQ(bundle.material, verification_material::certificate);
    ASSERT_TRUE(std::holds_alternative<dsse_envelope>(bundle.content));
    const auto statement = parse_statement(std::get<dsse_envelope>(bundle.content).payload);
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->type, statement_type_v01);
    EXPECT_EQ(statement->predicate_type, "https://cosign.sigstore.dev/attestation/v1");
    EXPECT_TRUE(has_subject_digest(
        *statement, "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"));
}

TEST(Bundle, DsseBundleRoundTrip) {
    const auto key = ec_private_key::generate().value();
    const std::string artifact = "the image manifest";
    const auto statement =
        statement_json({{"", {{"sha256", to_hex(sha256::of(artifact))}}}},
                       "https://sigstore.dev/cosign/sign/v1", nlohmann::json::object());
    ASSERT_TRUE(statement);
    const auto envelope = sign_dsse(intoto_payload_type, *statement, key);
    ASSERT_TRUE(envelope);
    const auto json = dsse_bundle_json(*envelope, key.public_key());
    ASSERT_TRUE(json);
    const std::string expected_prefix =
        R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",)"
        R"("verificationMaterial":{"publicKey":{"hint":")" +
        key.public_key().hint() + R"("}},"dsseEnvelope":{"payload":")" + base64_encode(*statement) +
        R"(","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":")";
    EXPECT_EQ(json->substr(0, expected_prefix.size()), expected_prefix);
    EXPECT_EQ(json->substr(json->size() - 5), R"("}]}})");

    const auto bundle = parse_bundle(*json);
    ASSERT_TRUE(bundle);
    EXPECT_EQ(bundle->public_key_hint, key.public_key().hint());
    EXPECT_EQ(bundle->tlog_entries, 0u);
    EXPECT_TRUE(verify_bundle(*bundle, key.public_key()));
    EXPECT_TRUE(verify_bundle(*bundle, key.public_key(), artifact));
    EXPECT_EQ(verify_bundle(*bundle, key.public_key(), std::string_view("other")).error(),
              errc::digest_mismatch);
    EXPECT_EQ(verify_bundle(*bundle, ec_private_key::generate().value().public_key()).error(),
              errc::verify_failed);

    auto tampered = *bundle;
    std::get<dsse_envelope>(tampered.content).payload_type = "application/json";
    EXPECT_EQ(verify_bundle(tampered, key.public_key()).error(), errc::verify_failed);
}

TEST(Bundle, MessageSignatureBundleRoundTrip) {
    const auto key = ec_private_key::generate().value();
    const std::string artifact = R"({"critical":{}})";
    const auto json = message_signature_bundle_json(
        sha256::of(artifact), key.sign_der(artifact).value(), key.public_key());
    const auto hash = sha256::of(artifact);
    EXPECT_NE(
        json.find(R"("messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":")" +
                  base64_encode(
                      std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size())) +
                  R"("},"signature":")"),
        std::string::npos);
    const auto bundle = parse_bundle(json);
    ASSERT_TRUE(bundle);
    EXPECT_TRUE(verify_bundle(*bundle, key.public_key(), artifact));
    EXPECT_EQ(verify_bundle(*bundle, key.public_key(), artifact + " ").error(),
              errc::digest_mismatch);
}

TEST(Bundle, RefusesDsseEnvelopesWithoutExactlyOneSignature) {
    const auto key = ec_private_key::generate().value();
    auto envelope = sign_dsse(intoto_payload_type, "{}", key).value();
    envelope.signatures.push_back(envelope.signatures.front());
    EXPECT_EQ(dsse_bundle_json(envelope, key.public_key()).error(), errc::invalid_argument);

    // Written by hand: parsing refuses it.
    const std::string sig = base64_encode(envelope.signatures.front().sig);
    const auto two = parse_bundle(
        R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",)"
        R"("verificationMaterial":{"publicKey":{"hint":"h"}},"dsseEnvelope":{"payload":"e30=",)"
        R"("payloadType":"application/vnd.in-toto+json","signatures":[{"sig":")" +
        sig + R"("},{"sig":")" + sig + R"("}]}})");
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error(), errc::bad_document);

    // Built in memory: verification refuses it, though either signature is good.
    sigstore_bundle bundle;
    bundle.content = envelope;
    EXPECT_EQ(verify_bundle(bundle, key.public_key()).error(), errc::invalid_argument);
    envelope.signatures.clear();
    bundle.content = envelope;
    EXPECT_EQ(verify_bundle(bundle, key.public_key()).error(), errc::invalid_argument);
}

std::string bundle_text(std::string_view media_type, std::string_view material,
                        std::string_view content) {
    return std::string(R"({"mediaType":")") + std::string(media_type) +
           R"(","verificationMaterial":)" + std::string(material) + std::string(content) + "}";
}

constexpr std::string_view key_material = R"({"publicKey":{"hint":"h"}})";
constexpr std::string_view message_content =
    R"(,"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAEC"},"signature":"AQ"})";
constexpr std::string_view dsse_content =
    R"(,"dsseEnvelope":{"payload":"e30","payloadType":"t","signatures":[{"sig":"AQ"}]})";

TEST(Bundle, AcceptsEveryBundleVersionUpTo03) {
    for (const char* media_type : {"application/vnd.dev.sigstore.bundle.v0.3+json",
                                   "application/vnd.dev.sigstore.bundle+json;version=0.1",
                                   "application/vnd.dev.sigstore.bundle+json;version=0.2",
                                   "application/vnd.dev.sigstore.bundle+json;version=0.3"}) {
        const auto bundle = parse_bundle(bundle_text(media_type, key_material, message_content));
        ASSERT_TRUE(bundle) << media_type;
        EXPECT_EQ(bundle->media_type, media_type);
        // Unpadded base64 parses, as protojson allows.
        EXPECT_EQ(std::get<message_signature>(bundle->content).digest, std::string("\0\1\2", 3));
        EXPECT_EQ(std::get<message_signature>(bundle->content).signature, "\x01");
    }
    for (const char* media_type :
         {"application/vnd.dev.sigstore.bundle.v0.4+json",
          "application/vnd.dev.sigstore.bundle+json;version=0.4",
          "application/vnd.dev.sigstore.bundle+json;version=0.10", "application/json"}) {
        const auto bundle = parse_bundle(bundle_text(media_type, key_material, message_content));
        ASSERT_FALSE(bundle) << media_type;
        EXPECT_EQ(bundle.error(), errc::unsupported_document) << media_type;
    }
}

TEST(Bundle, ReadsACertificateChainBeforeV03Only) {
    const std::string chain =
        R"({"x509CertificateChain":{"certificates":[{"rawBytes":"MAA="},{"rawBytes":"MAE="}]}})";
    const auto older = parse_bundle(
        bundle_text("application/vnd.dev.sigstore.bundle+json;version=0.2", chain, dsse_content));
    ASSERT_TRUE(older);
    EXPECT_EQ(older->material, verification_material::certificate_chain);
    EXPECT_EQ(older->certificates_der, (std::vector<std::string>{std::string("0\0", 2), "0\x01"}));

    const auto v03 = parse_bundle(bundle_text(bundle_v03_media_type, chain, dsse_content));
    ASSERT_FALSE(v03);
    EXPECT_EQ(v03.error(), errc::bad_document);
}

TEST(Bundle, RefusesMalformedBundles) {
    const std::string v03(bundle_v03_media_type);
    const std::string cases[] = {
        "[]",
        R"({"verificationMaterial":{"publicKey":{}})" + std::string(message_content) + "}",
        bundle_text(v03, "{}", message_content),  // no material
        bundle_text(v03, R"({"publicKey":{},"certificate":{"rawBytes":"MAA="}})", message_content),
        bundle_text(v03, R"({"publicKey":{"hint":1}})", message_content),
        bundle_text(v03, R"({"certificate":{}})", message_content),
        bundle_text(v03, R"({"certificate":{"rawBytes":"%%"}})", message_content),
        bundle_text(v03, R"({"publicKey":{},"tlogEntries":{}})", message_content),
        bundle_text(v03, R"({"publicKey":{},"timestampVerificationData":[]})", message_content),
        bundle_text(v03, key_material, ""),  // no content
        bundle_text(v03, key_material, std::string(message_content) + std::string(dsse_content)),
        bundle_text(v03, key_material, R"(,"messageSignature":{"signature":"AQ"})"),
        bundle_text(v03, key_material,
                    R"(,"messageSignature":{"messageDigest":{"digest":"AAEC"},"signature":"AQ"})"),
        bundle_text(
            v03, key_material,
            R"(,"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAEC"}})"),
        bundle_text(v03, key_material, R"(,"dsseEnvelope":{"payload":"e30","payloadType":"t"})"),
        bundle_text(v03, key_material,
                    R"(,"dsseEnvelope":{"payload":"e30","payloadType":"t","signatures":[]})"),
    };
    for (const auto& text : cases) {
        const auto bundle = parse_bundle(text);
        ASSERT_FALSE(bundle) << text;
        EXPECT_EQ(bundle.error(), errc::bad_document) << text;
    }
}

}  // namespace
}  // namespace hoist::crypto
