// SPDX-License-Identifier: Apache-2.0
// cosign key files against keys cosign and sigstore-rs wrote (tests/data/sigstore/keys,
// sources in SOURCES.md). Each scrypt costs 0.1–0.2 s, so the vectors are opened sparingly.
#include "crypto/cosign_key.hpp"

#include "crypto/encoding.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hoist::crypto {
namespace {

std::string read_key_file(const std::string& name) {
    const auto path = std::filesystem::path(HOIST_TEST_DATA_DIR) / "sigstore" / "keys" / name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string spki_base64(const ec_private_key& key) {
    return base64_encode(key.public_key().spki_der());
}

// PEM as cosign writes it: 64 columns of base64, trailing newline.
std::string pem_of(std::string_view label, std::string_view body) {
    const auto encoded = base64_encode(body);
    std::string pem = "-----BEGIN " + std::string(label) + "-----\n";
    for (std::size_t at = 0; at < encoded.size(); at += 64) {
        pem += encoded.substr(at, 64) + "\n";
    }
    return pem + "-----END " + std::string(label) + "-----\n";
}

// The decoded body of a single-block PEM, split into lines first.
std::string pem_body(const std::string& pem) {
    std::istringstream lines(pem);
    std::string line, encoded;
    while (std::getline(lines, line)) {
        if (line.rfind("-----", 0) != 0) {
            encoded += line;
        }
    }
    return base64_decode(encoded).value_or("");
}

// The JSON inside encrypted-sigstore.key (password "hello", N=32768), for editing.
nlohmann::json sigstore_key_json() {
    return nlohmann::json::parse(pem_body(read_key_file("encrypted-sigstore.key")));
}

std::string sealed(const nlohmann::json& json) {
    return pem_of(sigstore_key_pem_label, json.dump());
}

// Public keys of the decrypted vectors, from the corpus README §5.
constexpr const char* sigstore_key_spki =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7z9gA/tqa9iHt/f9F3ulyVi4lwqULfHWfhG2mK4eyJ8LDcLstb+VVhxj3"
    "pkMjc3fNo+sSfiIY2NLR7c+DG1V4w==";

struct key_vector {
    const char* file;
    const char* password;
    const char* spki;
};

TEST(CosignKey, VectorsOpenToTheirDocumentedKeys) {
    const key_vector vectors[] = {
        {"encrypted-sigstore.key", "hello", sigstore_key_spki},
        {"encrypted-cosign.key", "hello",
         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECYtspttZZ7e9PMd8wyU2CWDlpEXNbqTve0ZBuOXu9xTjtm7Z107c"
         "VLCCk96Ma4D0tesnKeCPwrcspLz7GNZJSw=="},
        {"cosign_generated_encrypted_empty_private.key", "",
         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGmsWpZNuu+SUX70n3lVK4JLsaoV7T+rhea2rQUu29EQiatoLB06Q"
         "dsmSd+GsQGlQzfcDtsKPzb+B2zLggrWZjg=="},
        {"ecdsa_encrypted_private.key", "123",
         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEI3sxu+p/GFrJyfgmSWr4qMzwbnd/pRAShSG6tHcrlhBSoRCAiVYO"
         "oQR7514Uz6ft2tQlnoJLHmHcFqqy0/ERJA=="},
    };
    for (const auto& vector : vectors) {
        SCOPED_TRACE(vector.file);
        const auto pem = read_key_file(vector.file);
        EXPECT_TRUE(needs_password(pem));
        auto key = load_signing_key(pem, vector.password);
        ASSERT_TRUE(key) << key.error().message();
        EXPECT_EQ(spki_base64(*key), vector.spki);
    }
}

TEST(CosignKey, OpenedKeySignsAndItsPublicPemVerifies) {
    auto key = decrypt_cosign_key(read_key_file("encrypted-sigstore.key"), "hello");
    ASSERT_TRUE(key) << key.error().message();
    auto signature = key->sign_der("promoted image payload");
    ASSERT_TRUE(signature);

    // The public key as cosign.pub would hold it, built from the README's SPKI.
    auto decoded_spki = base64_decode(sigstore_key_spki);
    ASSERT_TRUE(decoded_spki);
    auto published = load_verification_keys(pem_of("PUBLIC KEY", *decoded_spki));
    ASSERT_TRUE(published) << published.error().message();
    ASSERT_EQ(published->size(), 1u);
    EXPECT_TRUE(published->front().verify_der("promoted image payload", *signature));
    EXPECT_FALSE(published->front().verify_der("another payload", *signature));

    auto own = load_verification_keys(key->public_key_pem());
    ASSERT_TRUE(own);
    EXPECT_EQ(own->front(), published->front());
}

TEST(CosignKey, WrongPasswordIsTold) {
    auto wrong = load_signing_key(read_key_file("encrypted-sigstore.key"), "wrong");
    EXPECT_EQ(wrong.error(), errc::wrong_password);
    auto empty = load_signing_key(read_key_file("ecdsa_encrypted_private.key"), "");
    EXPECT_EQ(empty.error(), errc::wrong_password);
    // A real cosign CI key whose password is a secret: a guess fails cleanly.
    auto unknown = load_signing_key(read_key_file("cosign-test.key"), "");
    EXPECT_EQ(unknown.error(), errc::wrong_password);
}

TEST(CosignKey, AlteredCiphertextDoesNotOpen) {
    auto json = sigstore_key_json();
    auto ciphertext = base64_decode(json["ciphertext"].get<std::string>());
    ASSERT_TRUE(ciphertext);
    (*ciphertext)[40] ^= 0x01;
    json["ciphertext"] = base64_encode(*ciphertext);
    EXPECT_EQ(decrypt_cosign_key(sealed(json), "hello").error(), errc::wrong_password);
}

TEST(CosignKey, Sec1InsideIsRefusedAsCosignRefusesIt) {
    auto key = load_signing_key(read_key_file("encrypted-cosign-sec1_fail.key"), "hello");
    EXPECT_EQ(key.error(), errc::encrypted_key_not_pkcs8);
}

TEST(CosignKey, UnsupportedEncryptionIsRefusedBeforeKeyDerivation) {
    // With the right password a run of scrypt would open the box or report wrong_password;
    // unsupported_key_encryption proves the parameters were refused first. N = 2^20 would
    // need 1 GiB.
    const std::vector<std::pair<const char*, nlohmann::json>> edits = {
        {"/kdf/params/N", 16384}, {"/kdf/params/N", 1 << 20},   {"/kdf/params/N", 32769},
        {"/kdf/params/r", 16},    {"/kdf/params/p", 2},         {"/kdf/name", "argon2id"},
        {"/kdf/name", "Scrypt"},  {"/cipher/name", "nacl/box"},
    };
    for (const auto& [pointer, value] : edits) {
        SCOPED_TRACE(std::string(pointer) + " = " + value.dump());
        auto json = sigstore_key_json();
        json[nlohmann::json::json_pointer(pointer)] = value;
        EXPECT_EQ(decrypt_cosign_key(sealed(json), "hello").error(),
                  errc::unsupported_key_encryption);
    }
}

TEST(CosignKey, ReserialisedJsonStillOpens) {
    // The control for the edits above and below: re-encoding alone changes nothing.
    auto key = decrypt_cosign_key(sealed(sigstore_key_json()), "hello");
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(spki_base64(*key), sigstore_key_spki);
}

TEST(CosignKey, MalformedFilesAreRefused) {
    const std::vector<std::pair<const char*, nlohmann::json>> edits = {
        {"/kdf/params/N", "32768"},
        {"/kdf/params/N", 32768.0},
        {"/kdf/params/r", -8},
        {"/kdf/salt", "not base64!"},
        {"/kdf/salt", 7},
        {"/cipher/nonce", base64_encode(std::string(23, 'n'))},
        {"/cipher", "nacl/secretbox"},
        {"/ciphertext", base64_encode(std::string(15, 'c'))},
        {"/ciphertext", nullptr},
    };
    for (const auto& [pointer, value] : edits) {
        SCOPED_TRACE(std::string(pointer) + " = " + value.dump());
        auto json = sigstore_key_json();
        json[nlohmann::json::json_pointer(pointer)] = value;
        EXPECT_EQ(decrypt_cosign_key(sealed(json), "hello").error(), errc::malformed_encrypted_key);
    }
    auto missing = sigstore_key_json();
    missing.erase("ciphertext");
    EXPECT_EQ(decrypt_cosign_key(sealed(missing), "hello").error(), errc::malformed_encrypted_key);
    EXPECT_EQ(decrypt_cosign_key(pem_of(cosign_key_pem_label, "{\"kdf\":"), "").error(),
              errc::malformed_encrypted_key);
    EXPECT_EQ(decrypt_cosign_key(pem_of(cosign_key_pem_label, "[]"), "").error(),
              errc::malformed_encrypted_key);

    // PEM problems come before any JSON is looked at.
    auto pem = read_key_file("encrypted-sigstore.key");
    auto broken_base64 = pem;
    broken_base64[pem.find('\n') + 5] = '*';
    EXPECT_EQ(decrypt_cosign_key(broken_base64, "hello").error(), errc::bad_pem);
    EXPECT_EQ(decrypt_cosign_key("no PEM here", "hello").error(), errc::bad_pem);
    EXPECT_EQ(load_signing_key("", "hello").error(), errc::bad_pem);
    auto other_label = sigstore_key_json();
    EXPECT_EQ(
        decrypt_cosign_key(pem_of("ENCRYPTED PRIVATE KEY", other_label.dump()), "hello").error(),
        errc::bad_pem);
    EXPECT_EQ(
        load_signing_key(pem_of("ENCRYPTED PRIVATE KEY", other_label.dump()), "hello").error(),
        errc::bad_key);
    EXPECT_FALSE(needs_password(pem_of("ENCRYPTED PRIVATE KEY", other_label.dump())));
    EXPECT_FALSE(needs_password("no PEM here"));
}

// Made with `openssl ecparam -name prime256v1 -genkey -noout` and `openssl ec -pubout`.
constexpr const char* sec1_key_pem = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIEvEKfdZi7nURr+PtrY2raRI46VYTXpmIyAMbWcrGfLNoAoGCCqGSM49
AwEHoUQDQgAEjgNAbUsOKgvYyCTXhwEW4JUuCe8yl3b3L2dvUUdrp+WXIO1Nytxw
w7wFKju55y78z+jx8v11qKyw6PJcEX/elw==
-----END EC PRIVATE KEY-----
)";
constexpr const char* sec1_public_pem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjgNAbUsOKgvYyCTXhwEW4JUuCe8y
l3b3L2dvUUdrp+WXIO1Nytxww7wFKju55y78z+jx8v11qKyw6PJcEX/elw==
-----END PUBLIC KEY-----
)";

TEST(CosignKey, PlainPemKeysLoadWithoutPassword) {
    EXPECT_FALSE(needs_password(sec1_key_pem));
    auto sec1 = load_signing_key(sec1_key_pem, "");
    ASSERT_TRUE(sec1) << sec1.error().message();
    EXPECT_EQ(sec1->public_key_pem(), sec1_public_pem);

    auto generated = ec_private_key::generate();
    ASSERT_TRUE(generated);
    const auto pkcs8 = generated->to_pkcs8_pem();
    EXPECT_FALSE(needs_password(pkcs8));
    // A password given for a plain key is ignored.
    auto loaded = load_signing_key("comment before the block\n" + pkcs8, "ignored");
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(loaded->public_key(), generated->public_key());

    EXPECT_EQ(load_signing_key(sec1_public_pem, "").error(), errc::bad_key);
}

TEST(CosignKey, WrittenKeyHasCosignsLayoutAndOpensAgain) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    const auto pem = encrypt_cosign_key(*key, "s3cret");

    const std::string begin = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
    const std::string end = "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
    ASSERT_EQ(pem.substr(0, begin.size()), begin);
    ASSERT_GE(pem.size(), begin.size() + end.size());
    EXPECT_EQ(pem.substr(pem.size() - end.size()), end);
    std::istringstream lines(pem);
    std::vector<std::string> body_lines;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("-----", 0) != 0) {
            body_lines.push_back(line);
        }
    }
    ASSERT_GE(body_lines.size(), 2u);
    for (std::size_t i = 0; i + 1 < body_lines.size(); ++i) {
        EXPECT_EQ(body_lines[i].size(), 64u);
    }

    // Exactly go-securesystemslib's fields, in its order, with cosign's parameters.
    const auto json_text = pem_body(pem);
    const std::string expected_prefix =
        R"({"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":")";
    EXPECT_EQ(json_text.substr(0, expected_prefix.size()), expected_prefix);
    const auto json = nlohmann::ordered_json::parse(json_text);
    std::vector<std::string> keys;
    for (const auto& [name, value] : json.items()) {
        keys.push_back(name);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"kdf", "cipher", "ciphertext"}));
    EXPECT_EQ(json["kdf"].size(), 3u);
    EXPECT_EQ(json["cipher"].dump().substr(0, 34), R"({"name":"nacl/secretbox","nonce":")");
    EXPECT_EQ(json["cipher"].size(), 2u);
    EXPECT_EQ(base64_decode(json["kdf"]["salt"].get<std::string>()).value_or("").size(), 32u);
    EXPECT_EQ(base64_decode(json["cipher"]["nonce"].get<std::string>()).value_or("").size(), 24u);
    // PKCS#8 of a P-256 key with its public point (138 bytes) plus the 16-byte tag.
    EXPECT_EQ(base64_decode(json["ciphertext"].get<std::string>()).value_or("").size(), 154u);

    EXPECT_TRUE(needs_password(pem));
    auto reopened = load_signing_key(pem, "s3cret");
    ASSERT_TRUE(reopened) << reopened.error().message();
    EXPECT_EQ(reopened->public_key(), key->public_key());

    // A fresh salt and nonce each time.
    const auto again = nlohmann::json::parse(pem_body(encrypt_cosign_key(*key, "s3cret")));
    EXPECT_NE(again["kdf"]["salt"], json["kdf"]["salt"]);
    EXPECT_NE(again["cipher"]["nonce"], json["cipher"]["nonce"]);
}

TEST(CosignKey, VerificationKeysTakeEveryPublicKeyBlock) {
    auto first = ec_private_key::generate();
    auto second = ec_private_key::generate();
    ASSERT_TRUE(first && second);
    auto both = load_verification_keys("# rotation\n" + first->public_key_pem() + "\n" +
                                       second->public_key_pem());
    ASSERT_TRUE(both) << both.error().message();
    ASSERT_EQ(both->size(), 2u);
    EXPECT_EQ((*both)[0], first->public_key());
    EXPECT_EQ((*both)[1], second->public_key());

    auto cosign_ci = load_verification_keys(read_key_file("cosign-test.pub"));
    ASSERT_TRUE(cosign_ci) << cosign_ci.error().message();
    EXPECT_EQ(cosign_ci->size(), 1u);

    EXPECT_EQ(load_verification_keys("").error(), errc::bad_pem);
    EXPECT_EQ(load_verification_keys("no keys at all\n").error(), errc::bad_pem);
    EXPECT_EQ(load_verification_keys(first->public_key_pem() + first->to_pkcs8_pem()).error(),
              errc::bad_pem);
    EXPECT_EQ(load_verification_keys(pem_of("PUBLIC KEY", "not a key")).error(), errc::bad_key);
}

}  // namespace
}  // namespace hoist::crypto
