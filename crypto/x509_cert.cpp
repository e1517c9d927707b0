// SPDX-License-Identifier: Apache-2.0
#include "crypto/x509_cert.hpp"

#include "crypto/detail/bssl.hpp"
#include "crypto/ec_key.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace hoist::crypto {
namespace {

using detail::fail;

result<void> set_random_serial(X509* cert) {
    // RFC 5280 §4.1.2.2: positive, at most 20 octets. The first byte is forced into
    // 0x40..0x7f so the serial is positive (Go's x509, i.e. docker-registry, rejects
    // negative ones) and always exactly 16 octets long.
    std::array<std::uint8_t, 16> random{};
    if (RAND_bytes(random.data(), random.size()) != 1) {
        return fail(errc::random_failed);
    }
    random[0] = static_cast<std::uint8_t>((random[0] & 0x3f) | 0x40);
    bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(random.data(), random.size(), nullptr));
    if (!bn) {
        return fail(errc::bad_certificate);
    }
    bssl::UniquePtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!serial || !X509_set_serialNumber(cert, serial.get())) {
        return fail(errc::bad_certificate);
    }
    return {};
}

result<void> add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext || !X509_add_ext(cert, ext.get(), -1)) {
        return fail(errc::bad_certificate);
    }
    return {};
}

bool is_dns_name(const std::string& name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

result<void> add_subject_alt_names(X509* cert, const std::vector<std::string>& ips,
                                   const std::vector<std::string>& dns_names) {
    if (ips.empty() && dns_names.empty()) {
        return {};
    }
    bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
    if (!names) {
        return fail(errc::bad_certificate);
    }
    for (const auto& ip : ips) {
        // Built from GENERAL_NAME structures rather than an "IP:…,DNS:…" config string so
        // no caller-supplied text is ever interpreted as configuration syntax.
        bssl::UniquePtr<ASN1_OCTET_STRING> address(a2i_IPADDRESS(ip.c_str()));
        if (!address) {
            return fail(errc::invalid_argument);
        }
        bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
        if (!name) {
            return fail(errc::bad_certificate);
        }
        GENERAL_NAME_set0_value(name.get(), GEN_IPADD, address.release());
        if (!bssl::PushToStack(names.get(), std::move(name))) {
            return fail(errc::bad_certificate);
        }
    }
    for (const auto& dns : dns_names) {
        if (!is_dns_name(dns)) {
            return fail(errc::invalid_argument);
        }
        bssl::UniquePtr<ASN1_IA5STRING> text(ASN1_IA5STRING_new());
        bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
        if (!text || !name || !ASN1_STRING_set(text.get(), dns.data(), dns.size())) {
            return fail(errc::bad_certificate);
        }
        GENERAL_NAME_set0_value(name.get(), GEN_DNS, text.release());
        if (!bssl::PushToStack(names.get(), std::move(name))) {
            return fail(errc::bad_certificate);
        }
    }
    if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT)) {
        return fail(errc::bad_certificate);
    }
    return {};
}

}  // namespace

result<self_signed> make_self_signed_cert(std::string common_name, std::vector<std::string> ip_sans,
                                          std::vector<std::string> dns_sans,
                                          std::chrono::hours validity) {
    if (common_name.empty() || validity.count() <= 0) {
        return fail(errc::invalid_argument);
    }
    auto key = ec_private_key::generate();
    if (!key) {
        return key.error();
    }
    EVP_PKEY* pkey = key->internals().pkey.get();

    bssl::UniquePtr<X509> cert(X509_new());
    if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) {
        return fail(errc::bad_certificate);
    }
    if (auto serial = set_random_serial(cert.get()); !serial) {
        return serial.error();
    }

    constexpr long skew_seconds = 3600;
    const long days = static_cast<long>(validity.count() / 24);
    const long seconds = static_cast<long>(validity.count() % 24) * 3600;
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -skew_seconds) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), seconds,
                          nullptr)) {
        return fail(errc::invalid_argument);
    }

    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                    reinterpret_cast<const std::uint8_t*>(common_name.data()),
                                    static_cast<int>(common_name.size()), -1, 0) ||
        !X509_set_issuer_name(cert.get(), name) || !X509_set_pubkey(cert.get(), pkey)) {
        return fail(errc::bad_certificate);
    }

    for (auto [nid, value] : {
             std::pair{NID_basic_constraints, "critical,CA:TRUE"},
             std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
             std::pair{NID_ext_key_usage, "serverAuth"},
             std::pair{NID_subject_key_identifier, "hash"},
         }) {
        if (auto added = add_extension(cert.get(), nid, value); !added) {
            return added.error();
        }
    }
    if (auto added = add_subject_alt_names(cert.get(), ip_sans, dns_sans); !added) {
        return added.error();
    }
    if (!X509_sign(cert.get(), pkey, EVP_sha256())) {
        return fail(errc::bad_certificate);
    }

    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || !PEM_write_bio_X509(bio.get(), cert.get())) {
        return fail(errc::bad_certificate);
    }
    return self_signed{detail::bio_contents(bio.get()), key->to_pkcs8_pem()};
}

result<std::string> certificate_der_from_pem(std::string_view pem) {
    auto bio = detail::memory_bio(pem);
    if (!bio) {
        return fail(errc::bad_certificate);
    }
    bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return fail(errc::bad_certificate);
    }
    std::uint8_t* der = nullptr;
    const int length = i2d_X509(cert.get(), &der);
    if (length <= 0) {
        return fail(errc::bad_certificate);
    }
    bssl::UniquePtr<std::uint8_t> owned(der);
    return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
}

}  // namespace hoist::crypto
