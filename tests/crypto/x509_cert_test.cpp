// SPDX-License-Identifier: Apache-2.0
#include "crypto/x509_cert.hpp"

#include "crypto/ec_key.hpp"
#include "crypto/encoding.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <unistd.h>

namespace hoist::crypto {
namespace {

using namespace std::chrono_literals;

bssl::UniquePtr<X509> parse(const std::string& pem) {
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<long>(pem.size())));
    return bssl::UniquePtr<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::string run(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) {
        return out;
    }
    std::array<char, 4096> buffer{};
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) {
        out.append(buffer.data(), n);
    }
    return out;
}

TEST(X509Cert, SelfSignedHasNamesAndIsItsOwnCa) {
    auto made = make_self_signed_cert("hoist test", {"127.0.0.1", "::1"}, {"localhost"}, 24h);
    ASSERT_TRUE(made) << made.error().message();
    auto cert = parse(made->certificate_pem);
    ASSERT_TRUE(cert);

    // The certificate carries the public half of the returned key.
    auto key = ec_private_key::from_pem(made->private_key_pem);
    ASSERT_TRUE(key);
    EXPECT_TRUE(made->private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    bssl::UniquePtr<EVP_PKEY> pub(X509_get_pubkey(cert.get()));
    ASSERT_TRUE(pub);
    bssl::UniquePtr<BIO> pub_pem(BIO_new(BIO_s_mem()));
    ASSERT_EQ(PEM_write_bio_PUBKEY(pub_pem.get(), pub.get()), 1);
    const std::uint8_t* pem_data = nullptr;
    std::size_t pem_size = 0;
    ASSERT_EQ(BIO_mem_contents(pub_pem.get(), &pem_data, &pem_size), 1);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(pem_data), pem_size),
              key->public_key_pem());

    // Self-signed and a CA.
    EXPECT_EQ(X509_verify(cert.get(), pub.get()), 1);
    EXPECT_EQ(X509_check_ca(cert.get()), 1);
    EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 0);
    EXPECT_EQ(X509_check_host(cert.get(), "localhost", 9, 0, nullptr), 1);

    // Valid now, not in a day and an hour.
    EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
    EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0);
    time_t later = time(nullptr) + 25 * 3600;
    EXPECT_LT(X509_cmp_time(X509_get0_notAfter(cert.get()), &later), 0);
}

TEST(X509Cert, SerialsAreRandomAndPositive) {
    auto a = make_self_signed_cert("a", {}, {}, 1h);
    auto b = make_self_signed_cert("a", {}, {}, 1h);
    ASSERT_TRUE(a && b);
    auto ca = parse(a->certificate_pem);
    auto cb = parse(b->certificate_pem);
    ASSERT_TRUE(ca && cb);
    const ASN1_INTEGER* sa = X509_get0_serialNumber(ca.get());
    const ASN1_INTEGER* sb = X509_get0_serialNumber(cb.get());
    EXPECT_EQ(ASN1_STRING_type(sa), V_ASN1_INTEGER);  // V_ASN1_NEG_INTEGER if negative
    EXPECT_EQ(ASN1_STRING_length(sa), 16);
    EXPECT_NE(ASN1_INTEGER_cmp(sa, sb), 0);
}

// `openssl x509 -text` (OpenSSL 3, an independent parser) sees the same extensions.
TEST(X509Cert, OpenSslAgrees) {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "openssl command not available";
    }
    auto made = make_self_signed_cert("hoist test", {"127.0.0.1"}, {"localhost"}, 24h);
    ASSERT_TRUE(made);
    std::string path = (std::filesystem::temp_directory_path() / "hoist-cert-XXXXXX").string();
    const int fd = mkstemp(path.data());
    ASSERT_GE(fd, 0);
    close(fd);
    std::ofstream(path) << made->certificate_pem;
    const std::string text = run("openssl x509 -noout -text -in '" + path + "' 2>&1");
    EXPECT_NE(text.find("Subject: CN = hoist test"), std::string::npos) << text;
    EXPECT_NE(text.find("Issuer: CN = hoist test"), std::string::npos) << text;
    EXPECT_NE(text.find("IP Address:127.0.0.1"), std::string::npos) << text;
    EXPECT_NE(text.find("DNS:localhost"), std::string::npos) << text;
    EXPECT_NE(text.find("CA:TRUE"), std::string::npos) << text;
    EXPECT_NE(text.find("ecdsa-with-SHA256"), std::string::npos) << text;
    EXPECT_NE(text.find("prime256v1"), std::string::npos) << text;
    // It verifies as its own trust anchor.
    const std::string verify = run("openssl verify -CAfile '" + path + "' '" + path + "' 2>&1");
    EXPECT_NE(verify.find(": OK"), std::string::npos) << verify;
    std::filesystem::remove(path);
}

TEST(X509Cert, DerFromPem) {
    auto made = make_self_signed_cert("der", {}, {"example.test"}, 1h);
    ASSERT_TRUE(made);
    auto der = certificate_der_from_pem(made->certificate_pem);
    ASSERT_TRUE(der);
    // The PEM body is exactly the base64 of the DER.
    std::string body;
    for (std::size_t pos = made->certificate_pem.find('\n') + 1;
         pos < made->certificate_pem.size();) {
        const std::size_t end = made->certificate_pem.find('\n', pos);
        const std::string line = made->certificate_pem.substr(pos, end - pos);
        if (line.starts_with("-----END")) {
            break;
        }
        body += line;
        pos = end + 1;
    }
    EXPECT_EQ(base64_encode(*der), body);
    EXPECT_EQ(certificate_der_from_pem("nope").error(), errc::bad_certificate);
    EXPECT_EQ(certificate_der_from_pem(made->private_key_pem).error(), errc::bad_certificate);
}

TEST(X509Cert, RejectsBadArguments) {
    EXPECT_EQ(make_self_signed_cert("x", {"not-an-ip"}, {}, 1h).error(), errc::invalid_argument);
    EXPECT_EQ(make_self_signed_cert("x", {}, {""}, 1h).error(), errc::invalid_argument);
    EXPECT_EQ(make_self_signed_cert("", {}, {}, 1h).error(), errc::invalid_argument);
    EXPECT_EQ(make_self_signed_cert("x", {}, {}, 0h).error(), errc::invalid_argument);
}

}  // namespace
}  // namespace hoist::crypto
