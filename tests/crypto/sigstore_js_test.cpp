// SPDX-License-Identifier: Apache-2.0
/// The sigstore-js harness really verifies and really rejects: envelopes, bundles and
/// cosign signatures built here with hoist's keys, and real cosign / DSSE vectors.
// Later tests trust its verdicts on what hoist signs, so each rejection is asserted with
// the code that names its reason, not just "not ok".
#include "tests/support/sigstore_js.hpp"

#include "crypto/ec_key.hpp"
#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <stdlib.h>

namespace hoist::testsupport {
namespace {

namespace fs = std::filesystem;
namespace js = sigstore_js;
using crypto::base64_encode;
using crypto::ec_private_key;
using nlohmann::json;

const fs::path vectors = fs::path(HOIST_TEST_DATA_DIR) / "sigstore" / "js";

constexpr std::string_view in_toto_type = "application/vnd.in-toto+json";
constexpr std::string_view slsa_v1 = "https://slsa.dev/provenance/v1";

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << path;
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string sha256_hex(std::string_view bytes) {
    return crypto::to_hex(crypto::sha256::of(bytes));
}

std::string pae(std::string_view type, std::string_view body) {
    return "DSSEv1 " + std::to_string(type.size()) + " " + std::string(type) + " " +
           std::to_string(body.size()) + " " + std::string(body);
}

std::string sign(const ec_private_key& key, std::string_view message) {
    auto signature = key.sign_der(message);
    EXPECT_TRUE(signature) << signature.error().message();
    return signature ? *signature : std::string();
}

std::string statement(std::string_view subject_sha256, std::string_view predicate_type,
                      std::string_view statement_type = "https://in-toto.io/Statement/v1") {
    return json{
        {"_type", statement_type},
        {"subject", {{{"name", "registry.example/app"}, {"digest", {{"sha256", subject_sha256}}}}}},
        {"predicateType", predicate_type},
        {"predicate", json::object()}}
        .dump();
}

/// cosign v2's shape: keyid present and empty.
json envelope(std::string_view type, std::string_view body,
              const std::vector<std::string>& signatures) {
    json out{
        {"payloadType", type}, {"payload", base64_encode(body)}, {"signatures", json::array()}};
    for (const auto& signature : signatures) {
        out["signatures"].push_back({{"keyid", ""}, {"sig", base64_encode(signature)}});
    }
    return out;
}

json dsse_bundle(std::string_view hint, std::string_view type, std::string_view body,
                 const std::vector<std::string>& signatures) {
    json content = envelope(type, body, signatures);
    for (auto& signature : content["signatures"]) {
        signature.erase("keyid");
    }
    return {{"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
            {"verificationMaterial", {{"publicKey", {{"hint", hint}}}}},
            {"dsseEnvelope", content}};
}

json message_bundle(std::string_view hint, std::string_view message_digest,
                    std::string_view signature) {
    return {
        {"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
        {"verificationMaterial", {{"publicKey", {{"hint", hint}}}}},
        {"messageSignature",
         {{"messageDigest", {{"algorithm", "SHA2_256"}, {"digest", base64_encode(message_digest)}}},
          {"signature", base64_encode(signature)}}}};
}

std::string simple_signing_payload(std::string_view manifest_digest) {
    return json{{"critical",
                 {{"identity", {{"docker-reference", "registry.example/app"}}},
                  {"image", {{"docker-manifest-digest", manifest_digest}}},
                  {"type", "cosign container image signature"}}},
                {"optional", nullptr}}
        .dump();
}

class SigstoreJs : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(js::installed());
        std::string pattern = (fs::temp_directory_path() / "hoist-sigstore-js-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        scratch = pattern;
        auto generated = ec_private_key::generate();
        auto other_generated = ec_private_key::generate();
        ASSERT_TRUE(generated && other_generated);
        key = *generated;
        other_key = *other_generated;
        key_pem = write("key.pub", key->public_key_pem());
        other_key_pem = write("other.pub", other_key->public_key_pem());
        subject = sha256_hex("an image manifest");
        body = statement(subject, slsa_v1);
    }
    void TearDown() override {
        if (!scratch.empty()) {
            fs::remove_all(scratch);
        }
    }

    fs::path write(const std::string& name, std::string_view bytes) {
        std::ofstream(scratch / name, std::ios::binary) << bytes;
        return scratch / name;
    }
    fs::path write_json(const std::string& name, const json& document) {
        return write(name, document.dump());
    }

    fs::path scratch;
    std::optional<ec_private_key> key;
    std::optional<ec_private_key> other_key;
    fs::path key_pem;
    fs::path other_key_pem;
    std::string subject;
    std::string body;
};

TEST_F(SigstoreJs, DsseEnvelopeSignedByHoistVerifies) {
    auto file =
        write_json("env.json", envelope(in_toto_type, body, {sign(*key, pae(in_toto_type, body))}));
    auto v = js::verify_dsse(file, key_pem);
    EXPECT_TRUE(v.ok) << v;
    EXPECT_EQ(v.code, "OK");
}

TEST_F(SigstoreJs, DsseTamperedPayloadOrOtherKeyIsRejected) {
    auto signature = sign(*key, pae(in_toto_type, body));
    auto tampered = statement(sha256_hex("another manifest"), slsa_v1);
    auto v = js::verify_dsse(write_json("env.json", envelope(in_toto_type, tampered, {signature})),
                             key_pem);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;

    // The signature covers the payload type too.
    v = js::verify_dsse(write_json("type.json", envelope("text/plain", body, {signature})),
                        key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;

    v = js::verify_dsse(write_json("good.json", envelope(in_toto_type, body, {signature})),
                        other_key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

TEST_F(SigstoreJs, DsseWantsExactlyOneSignatureUnlessAnyIsAllowed) {
    auto message = pae(in_toto_type, body);
    auto file = write_json(
        "two.json", envelope(in_toto_type, body, {sign(*other_key, message), sign(*key, message)}));
    auto v = js::verify_dsse(file, key_pem);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "SIGNATURE_COUNT_ERROR") << v;

    v = js::verify_dsse(file, key_pem, js::signatures::any);
    EXPECT_TRUE(v.ok) << v;
}

TEST_F(SigstoreJs, RawSignatureIsNotDer) {
    auto raw = key->sign_raw(pae(in_toto_type, body));
    ASSERT_TRUE(raw);
    auto v = js::verify_dsse(write_json("raw.json", envelope(in_toto_type, body, {*raw})), key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

TEST_F(SigstoreJs, DsseBundleWithHintVerifies) {
    auto hint = key->public_key().hint();
    auto file = write_json("bundle.json", dsse_bundle(hint, in_toto_type, body,
                                                      {sign(*key, pae(in_toto_type, body))}));
    auto v = js::verify_bundle(file, key_pem);
    EXPECT_TRUE(v.ok) << v;
    EXPECT_NE(v.message.find(hint), std::string::npos) << v;
}

TEST_F(SigstoreJs, BundleHintMustNameTheGivenKey) {
    auto signature = sign(*key, pae(in_toto_type, body));
    auto file = write_json("bundle.json", dsse_bundle(other_key->public_key().hint(), in_toto_type,
                                                      body, {signature}));
    auto v = js::verify_bundle(file, key_pem);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "PUBLIC_KEY_ERROR") << v;

    // Right hint for the key given, but that key did not sign.
    v = js::verify_bundle(file, other_key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

TEST_F(SigstoreJs, BundleTamperedOrDoublySignedIsRejected) {
    auto hint = key->public_key().hint();
    auto signature = sign(*key, pae(in_toto_type, body));
    auto tampered = statement(sha256_hex("another manifest"), slsa_v1);
    auto v = js::verify_bundle(
        write_json("tampered.json", dsse_bundle(hint, in_toto_type, tampered, {signature})),
        key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;

    v = js::verify_bundle(
        write_json("two.json", dsse_bundle(hint, in_toto_type, body, {signature, signature})),
        key_pem);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "INVALID_BUNDLE") << v;
}

TEST_F(SigstoreJs, MessageSignatureBundleChecksArtifactAndDigest) {
    auto artifact_bytes = std::string("a blob hoist signed\n");
    auto artifact = write("artifact.txt", artifact_bytes);
    auto hint = key->public_key().hint();
    auto digest = crypto::sha256::of(artifact_bytes);
    auto signature = sign(*key, artifact_bytes);
    auto bundle = write_json(
        "bundle.json",
        message_bundle(hint, {reinterpret_cast<const char*>(digest.data()), digest.size()},
                       signature));
    auto v = js::verify_bundle(bundle, key_pem, artifact);
    EXPECT_TRUE(v.ok) << v;

    v = js::verify_bundle(bundle, key_pem, write("other.txt", artifact_bytes + "!"));
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;

    // sigstore-js alone would accept a wrong messageDigest here: the harness does not.
    auto wrong_digest = crypto::sha256::of("something else");
    auto mislabelled = write_json(
        "mislabelled.json",
        message_bundle(hint,
                       {reinterpret_cast<const char*>(wrong_digest.data()), wrong_digest.size()},
                       signature));
    v = js::verify_bundle(mislabelled, key_pem, artifact);
    EXPECT_EQ(v.code, "MESSAGE_DIGEST_ERROR") << v;
}

TEST_F(SigstoreJs, SimpleSigningSignatureVerifiesAndRejects) {
    auto payload_bytes = simple_signing_payload("sha256:" + subject);
    auto payload = write("payload.json", payload_bytes);
    auto signature = base64_encode(sign(*key, payload_bytes));
    auto v = js::verify_message(payload, signature, key_pem);
    EXPECT_TRUE(v.ok) << v;

    v = js::verify_message(write("tampered.json", payload_bytes + " "), signature, key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;

    v = js::verify_message(payload, signature, other_key_pem);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

TEST_F(SigstoreJs, StatementSubjectPredicateAndPayloadTypeAreChecked) {
    auto file =
        write_json("env.json", envelope(in_toto_type, body, {sign(*key, pae(in_toto_type, body))}));
    auto v = js::verify_statement(file, key_pem, subject, slsa_v1);
    EXPECT_TRUE(v.ok) << v;

    v = js::verify_statement(file, key_pem, sha256_hex("another manifest"));
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "SUBJECT_ERROR") << v;

    v = js::verify_statement(file, key_pem, subject, "https://slsa.dev/provenance/v0.2");
    EXPECT_EQ(v.code, "PREDICATE_TYPE_ERROR") << v;

    constexpr std::string_view json_type = "application/json";
    auto untyped =
        write_json("untyped.json", envelope(json_type, body, {sign(*key, pae(json_type, body))}));
    v = js::verify_statement(untyped, key_pem, subject);
    EXPECT_EQ(v.code, "PAYLOAD_TYPE_ERROR") << v;
}

TEST_F(SigstoreJs, StatementV01IsAcceptedOtherTypesAreNot) {
    auto v01 = statement(subject, slsa_v1, "https://in-toto.io/Statement/v0.1");
    auto file =
        write_json("v01.json", envelope(in_toto_type, v01, {sign(*key, pae(in_toto_type, v01))}));
    auto v = js::verify_statement(file, key_pem, subject);
    EXPECT_TRUE(v.ok) << v;

    auto unknown = statement(subject, slsa_v1, "https://in-toto.io/Statement/v2");
    file = write_json("v2.json",
                      envelope(in_toto_type, unknown, {sign(*key, pae(in_toto_type, unknown))}));
    v = js::verify_statement(file, key_pem, subject);
    EXPECT_EQ(v.code, "STATEMENT_ERROR") << v;
}

TEST_F(SigstoreJs, NoVerdictFailsTheTestInsteadOfReadingAsRejection) {
    js::verdict v;
    EXPECT_NONFATAL_FAILURE(v = js::verify_dsse(scratch / "missing.json", key_pem),
                            "sigstore-js gave no verdict (exit 2)");
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "HARNESS_ERROR");
}

// cosign attest-blob's envelope (in-toto Statement v0.1, SLSA v0.2) over blob.txt.
TEST(SigstoreJsVectors, CosignAttestBlobEnvelope) {
    ASSERT_TRUE(js::installed());
    auto dir = vectors / "cosign" / "attest-blob";
    auto blob = sha256_hex(read_file(dir / "blob.txt"));
    ASSERT_EQ(blob, "658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24");
    auto v = js::verify_statement(dir / "slsa-provenance.dsse.json", dir / "cosign.pub", blob,
                                  "https://slsa.dev/provenance/v0.2");
    EXPECT_TRUE(v.ok) << v;

    v = js::verify_statement(dir / "slsa-provenance.dsse.json",
                             vectors / "containers-image" / "cosign.pub", blob);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

// A `.sig` layer cosign sign --key made, from containers/image's fixtures.
TEST(SigstoreJsVectors, ContainersImageCosignSignature) {
    ASSERT_TRUE(js::installed());
    auto dir = vectors / "containers-image";
    auto signature = read_file(dir / "key-valid" / "signature.b64");
    auto v = js::verify_message(dir / "key-valid" / "payload.json", signature, dir / "cosign.pub");
    EXPECT_TRUE(v.ok) << v;

    v = js::verify_message(dir / "key-valid" / "payload.json", signature, dir / "cosign2.pub");
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

// The DSSE specification's vector signs with raw r||s. It is a valid signature over the
// PAE, but sigstore-js (like cosign) reads signatures as DER and rejects it.
TEST(SigstoreJsVectors, DsseSpecVectorIsRawAndRejected) {
    ASSERT_TRUE(js::installed());
    auto dir = vectors / "dsse";
    auto document = json::parse(read_file(dir / "hello-world.envelope.json"));
    auto payload = crypto::base64_decode(document["payload"].get<std::string>());
    auto signature = crypto::base64_decode(document["signatures"][0]["sig"].get<std::string>());
    ASSERT_TRUE(payload && signature);
    auto type = document["payloadType"].get<std::string>();
    ASSERT_EQ(pae(type, *payload), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    auto key = crypto::ec_public_key::from_pem(read_file(dir / "hello-world.pub.pem"));
    ASSERT_TRUE(key);
    EXPECT_EQ(signature->size(), 64U);
    EXPECT_TRUE(key->verify_raw(pae(type, *payload), *signature));

    auto v = js::verify_dsse(dir / "hello-world.envelope.json", dir / "hello-world.pub.pem");
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.code, "SIGNATURE_ERROR") << v;
}

}  // namespace
}  // namespace hoist::testsupport
