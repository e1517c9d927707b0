// SPDX-License-Identifier: Apache-2.0
#include "crypto/ec_key.hpp"

#include "crypto/encoding.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <stdlib.h>

namespace hoist::crypto {
namespace {

// Generated once with OpenSSL 3.0 (`openssl genpkey -algorithm EC -pkeyopt
// ec_paramgen_curve:P-256` and `openssl ecparam -name prime256v1 -genkey -noout`); the
// signatures are `openssl dgst -sha256 -sign <key> msg` over `interop_message`.
constexpr const char* pkcs8_key_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjwiFXUmeI+ayPfGh
3Zd9uBhx+aVHQyHFpTFhZBS/ccqhRANCAARBoiZZNQU/7YYs6/sS/qoaZiluhNxn
kzG3fpoJlD64w/i7XnMxdW1VfA7Fh2ber2jLKTKylWPmddzoubYx8hPw
-----END PRIVATE KEY-----
)";
constexpr const char* pkcs8_public_pem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQaImWTUFP+2GLOv7Ev6qGmYpboTc
Z5Mxt36aCZQ+uMP4u15zMXVtVXwOxYdm3q9oyykyspVj5nXc6Lm2MfIT8A==
-----END PUBLIC KEY-----
)";
constexpr const char* pkcs8_signature_hex =
    "3044022024d3f6a0339bd1736640c21da04b91d72ed41ca2a8947b9108950b26c743a251022046ecee17cbc95e"
    "2d4ce93669ea6e3268cb6a60ede324d02dcc4345d07f9a6c3a";

constexpr const char* sec1_key_pem = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMTvQWzv4CZsa4HIhqwKDs5GsKlOcVD2qeYx3L4MaXEdoAoGCCqGSM49
AwEHoUQDQgAEj393DFz5b2Nzfs8PDSDTA1cCIsjaZc5Du6DAmkjc3GLyw7zle5Ol
kVF/1jcE+INyg3Gbv4gbMLvpf/PMeHy0dA==
-----END EC PRIVATE KEY-----
)";
constexpr const char* sec1_public_pem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEj393DFz5b2Nzfs8PDSDTA1cCIsja
Zc5Du6DAmkjc3GLyw7zle5OlkVF/1jcE+INyg3Gbv4gbMLvpf/PMeHy0dA==
-----END PUBLIC KEY-----
)";
constexpr const char* sec1_signature_hex =
    "30450220161241e5c993430ce0ad71d7910c2e7d209c7d89616a3476311b2b247ec41058022100fa1894bccefe"
    "b03deaa9c8359c85bbd82cb292d48b3c88b41f2bf8faf93ac1b9";

constexpr std::string_view interop_message = "hoist interop message\n";

// A P-384 key (`openssl genpkey … ec_paramgen_curve:P-384`): parseable, wrong curve.
constexpr const char* p384_key_pem = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAzibeIRIJsFHpBMY8F
HgLFVkLf8cuqeGh9qrHFCf4CvCQR6eV6Ys10ucLvPgOFttahZANiAARJny2RV/yS
D995foCkaUOXTSASoUZgqOxGVrri3rM32GHQ5qpdsLtJwj4N3OrK86O0p1SChH9P
WEfOxOknB0eLPh3iGKT8MXL3jOybbBzzEGHq8cpryNpW5EOQhRJP6Wc=
-----END PRIVATE KEY-----
)";

// The PKCS#8 key above, encrypted (`openssl pkcs8 -topk8 -v2 aes-128-cbc`): refused, never
// prompted for.
constexpr const char* encrypted_key_pem = R"(-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhc+e9v8NyEjgICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEBdu9Hx4kwoQ65V230D6NiYEgZAX
khCWFEjINyDV9CRu351Thsrhau61uK51XzMrsztofK0tnGKVh4vd3PdqdJgAcJAC
4pWTXvbWdILrXAXJrjbmVbZih1O9Bo/5gPcAhf/Qx0qW4yiDEvwlBG4Gs+LfHNua
2TWSwxMJK5uLcVYWejD7pxVcFR83mbXih3qTAk4xEtGqoHnriZzAATrDxOtgPTw=
-----END ENCRYPTED PRIVATE KEY-----
)";

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

TEST(EcKey, SignVerifyRoundTripDer) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    auto sig = key->sign_der("payload");
    ASSERT_TRUE(sig);
    EXPECT_EQ(static_cast<unsigned char>((*sig)[0]), 0x30);  // SEQUENCE
    auto pub = key->public_key();
    EXPECT_TRUE(pub.verify_der("payload", *sig));
    EXPECT_FALSE(pub.verify_der("payloaD", *sig));
    EXPECT_FALSE(pub.verify_raw("payload", *sig));
}

TEST(EcKey, SignVerifyRoundTripRaw) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    auto pub = key->public_key();
    // Many signatures, so a short r or s (leading zero bytes) is exercised with high
    // probability: they must still be padded to 32 bytes each.
    for (int i = 0; i < 200; ++i) {
        const std::string message = "message " + std::to_string(i);
        auto sig = key->sign_raw(message);
        ASSERT_TRUE(sig);
        ASSERT_EQ(sig->size(), 64u);
        EXPECT_TRUE(pub.verify_raw(message, *sig));
        EXPECT_FALSE(pub.verify_raw(message + "x", *sig));
    }
}

TEST(EcKey, TamperedSignatureFails) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    auto pub = key->public_key();
    auto raw = key->sign_raw("m");
    auto der = key->sign_der("m");
    ASSERT_TRUE(raw && der);
    std::string bad_raw = *raw;
    bad_raw[40] = static_cast<char>(bad_raw[40] ^ 1);
    EXPECT_FALSE(pub.verify_raw("m", bad_raw));
    EXPECT_FALSE(pub.verify_raw("m", raw->substr(0, 63)));
    std::string bad_der = *der;
    bad_der.back() = static_cast<char>(bad_der.back() ^ 1);
    EXPECT_FALSE(pub.verify_der("m", bad_der));
    EXPECT_FALSE(pub.verify_der("m", *der + std::string(1, '\0')));  // not strict DER
    EXPECT_FALSE(pub.verify_der("m", ""));
}

TEST(EcKey, OtherKeyDoesNotVerify) {
    auto a = ec_private_key::generate();
    auto b = ec_private_key::generate();
    ASSERT_TRUE(a && b);
    auto sig = a->sign_raw("m");
    ASSERT_TRUE(sig);
    EXPECT_FALSE(b->public_key().verify_raw("m", *sig));
}

TEST(EcKey, PemRoundTrip) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    const std::string pem = key->to_pkcs8_pem();
    EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << pem;
    auto reloaded = ec_private_key::from_pem(pem);
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->to_pkcs8_pem(), pem);
    EXPECT_EQ(reloaded->public_key_pem(), key->public_key_pem());

    const std::string pub_pem = key->public_key_pem();
    EXPECT_TRUE(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----\n")) << pub_pem;
    auto pub = ec_public_key::from_pem(pub_pem);
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->to_pem(), pub_pem);
    auto sig = reloaded->sign_der("x");
    ASSERT_TRUE(sig);
    EXPECT_TRUE(pub->verify_der("x", *sig));
}

TEST(EcKey, OpenSslPkcs8KeyInterop) {
    auto key = ec_private_key::from_pem(pkcs8_key_pem);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->public_key_pem(), pkcs8_public_pem);
    auto pub = ec_public_key::from_pem(pkcs8_public_pem);
    ASSERT_TRUE(pub);
    EXPECT_TRUE(pub->verify_der(interop_message, from_hex(pkcs8_signature_hex)));
    EXPECT_FALSE(pub->verify_der("other message", from_hex(pkcs8_signature_hex)));
    auto ours = key->sign_der(interop_message);
    ASSERT_TRUE(ours);
    EXPECT_TRUE(pub->verify_der(interop_message, *ours));
}

TEST(EcKey, OpenSslSec1KeyInterop) {
    auto key = ec_private_key::from_pem(sec1_key_pem);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->public_key_pem(), sec1_public_pem);
    auto pub = ec_public_key::from_pem(sec1_public_pem);
    ASSERT_TRUE(pub);
    EXPECT_TRUE(pub->verify_der(interop_message, from_hex(sec1_signature_hex)));
    EXPECT_TRUE(key->public_key().verify_der(interop_message, from_hex(sec1_signature_hex)));
    EXPECT_FALSE(pub->verify_der(interop_message, from_hex(pkcs8_signature_hex)));
    // Re-exported as PKCS#8, it is the same key.
    auto again = ec_private_key::from_pem(key->to_pkcs8_pem());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->public_key_pem(), sec1_public_pem);
}

// RFC 7515 Appendix A.3: the ES256 JWS example, whose key is given as a JWK. The SPKI is
// the fixed P-256 prefix followed by the uncompressed point 04||x||y.
TEST(EcKey, VerifiesRfc7515Es256Example) {
    const auto x = base64url_decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
    const auto y = base64url_decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
    ASSERT_TRUE(x && y);
    const std::string spki =
        from_hex("3059301306072a8648ce3d020106082a8648ce3d03010703420004") + *x + *y;
    const std::string pem =
        "-----BEGIN PUBLIC KEY-----\n" + base64_encode(spki) + "\n-----END PUBLIC KEY-----\n";
    auto pub = ec_public_key::from_pem(pem);
    ASSERT_TRUE(pub);
    const std::string signing_input =
        "eyJhbGciOiJFUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290"
        "Ijp0cnVlfQ";
    const auto signature = base64url_decode(
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
    ASSERT_TRUE(signature);
    EXPECT_TRUE(pub->verify_raw(signing_input, *signature));
    EXPECT_FALSE(pub->verify_raw(signing_input + "x", *signature));
}

// The other direction: the `openssl` command accepts our DER signatures.
TEST(EcKey, OpenSslVerifiesOurSignature) {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "openssl command not available";
    }
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "hoist-ec-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
    const std::filesystem::path dir = dir_template;
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    auto sig = key->sign_der(interop_message);
    ASSERT_TRUE(sig);
    std::ofstream(dir / "pub.pem") << key->public_key_pem();
    std::ofstream(dir / "msg", std::ios::binary) << interop_message;
    std::ofstream(dir / "sig", std::ios::binary) << *sig;
    const std::string command = "openssl dgst -sha256 -verify '" + (dir / "pub.pem").string() +
                                "' -signature '" + (dir / "sig").string() + "' '" +
                                (dir / "msg").string() + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0);
    std::filesystem::remove_all(dir);
}

TEST(EcKey, RejectsUnusableKeys) {
    EXPECT_EQ(ec_private_key::from_pem("").error(), errc::bad_key);
    EXPECT_EQ(ec_private_key::from_pem("not a key").error(), errc::bad_key);
    EXPECT_EQ(ec_private_key::from_pem(p384_key_pem).error(), errc::bad_key);
    EXPECT_EQ(ec_private_key::from_pem(encrypted_key_pem).error(), errc::bad_key);
    EXPECT_EQ(ec_private_key::from_pem(pkcs8_public_pem).error(), errc::bad_key);
    EXPECT_EQ(ec_public_key::from_pem(pkcs8_key_pem).error(), errc::bad_key);
    EXPECT_EQ(ec_public_key::from_pem("garbage").error(), errc::bad_key);
}

}  // namespace
}  // namespace hoist::crypto
