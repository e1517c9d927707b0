// SPDX-License-Identifier: Apache-2.0
#include "crypto/ec_key.hpp"

#include "crypto/detail/bssl.hpp"

#include "crypto/encoding.hpp"

#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <new>

namespace hoist::crypto {
namespace {

// P-256 scalars and field elements are 32 bytes; a raw ES256 signature is r||s.
constexpr std::size_t scalar_size = 32;

const std::uint8_t* bytes(std::string_view s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest(std::string_view message) {
    std::array<std::uint8_t, SHA256_DIGEST_LENGTH> out{};
    SHA256(bytes(message), message.size(), out.data());
    return out;
}

const EC_KEY* ec_of(const EVP_PKEY* pkey) {
    return EVP_PKEY_get0_EC_KEY(pkey);
}

bool is_p256(const EVP_PKEY* pkey) {
    if (EVP_PKEY_id(pkey) != EVP_PKEY_EC) {
        return false;
    }
    const EC_KEY* ec = ec_of(pkey);
    return ec != nullptr && EC_KEY_get0_group(ec) != nullptr &&
           EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1;
}

// PEM output of in-memory keys can only fail on allocation failure.
std::string pem_or_throw(bssl::UniquePtr<BIO>& bio, int written) {
    if (written != 1) {
        ERR_clear_error();
        throw std::bad_alloc();
    }
    return detail::bio_contents(bio.get());
}

bssl::UniquePtr<BIO> new_memory_bio() {
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio) {
        throw std::bad_alloc();
    }
    return bio;
}

// DER from one of BoringSSL's EVP_marshal_* functions; they fail only when out of memory.
template <class Marshal>
std::string marshal_or_throw(Marshal marshal) {
    bssl::ScopedCBB cbb;
    std::uint8_t* data = nullptr;
    std::size_t length = 0;
    if (!CBB_init(cbb.get(), 128) || !marshal(cbb.get()) ||
        !CBB_finish(cbb.get(), &data, &length)) {
        ERR_clear_error();
        throw std::bad_alloc();
    }
    bssl::UniquePtr<std::uint8_t> owned(data);
    return std::string(reinterpret_cast<const char*>(data), length);
}

std::string public_pem(EVP_PKEY* pkey) {
    auto bio = new_memory_bio();
    return pem_or_throw(bio, PEM_write_bio_PUBKEY(bio.get(), pkey));
}

}  // namespace

ec_private_key::ec_private_key(std::shared_ptr<const impl> key) : impl_(std::move(key)) {}

result<ec_private_key> ec_private_key::generate() {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
    if (!ec || !pkey || !EC_KEY_generate_key(ec.get()) ||
        !EVP_PKEY_set1_EC_KEY(pkey.get(), ec.get())) {
        return detail::fail(errc::bad_key);
    }
    return ec_private_key(std::make_shared<impl>(impl{std::move(pkey)}));
}

result<ec_private_key> ec_private_key::from_pem(std::string_view pem) {
    auto bio = detail::memory_bio(pem);
    if (!bio) {
        return detail::fail(errc::bad_key);
    }
    // BoringSSL's PEM_read_bio_PrivateKey accepts both "PRIVATE KEY" (PKCS#8) and the
    // traditional "EC PRIVATE KEY" (SEC1) blocks; the callback refuses encrypted ones.
    bssl::UniquePtr<EVP_PKEY> pkey(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::no_password, nullptr));
    if (!pkey || !is_p256(pkey.get())) {
        return detail::fail(errc::bad_key);
    }
    return ec_private_key(std::make_shared<impl>(impl{std::move(pkey)}));
}

result<ec_private_key> ec_private_key::from_pkcs8_der(std::string_view der) {
    CBS input;
    CBS_init(&input, bytes(der), der.size());
    bssl::UniquePtr<EVP_PKEY> pkey(EVP_parse_private_key(&input));
    if (!pkey || CBS_len(&input) != 0 || !is_p256(pkey.get())) {
        return detail::fail(errc::bad_key);
    }
    return ec_private_key(std::make_shared<impl>(impl{std::move(pkey)}));
}

std::string ec_private_key::to_pkcs8_der() const {
    return marshal_or_throw(
        [&](CBB* out) { return EVP_marshal_private_key(out, impl_->pkey.get()); });
}

std::string ec_private_key::to_pkcs8_pem() const {
    auto bio = new_memory_bio();
    return pem_or_throw(bio, PEM_write_bio_PKCS8PrivateKey(bio.get(), impl_->pkey.get(), nullptr,
                                                           nullptr, 0, nullptr, nullptr));
}

std::string ec_private_key::public_key_pem() const {
    return public_pem(impl_->pkey.get());
}

ec_public_key ec_private_key::public_key() const {
    // The public half is extracted by re-encoding; a private key's SPKI always round-trips.
    auto parsed = ec_public_key::from_pem(public_key_pem());
    if (!parsed) {
        throw std::bad_alloc();
    }
    return *parsed;
}

result<std::string> ec_private_key::sign_der(std::string_view message) const {
    const auto hash = digest(message);
    const EC_KEY* ec = ec_of(impl_->pkey.get());
    std::string signature(ECDSA_size(ec), '\0');
    unsigned int length = 0;
    if (!ECDSA_sign(0, hash.data(), hash.size(), reinterpret_cast<std::uint8_t*>(signature.data()),
                    &length, ec)) {
        return detail::fail(errc::sign_failed);
    }
    signature.resize(length);
    return signature;
}

result<std::string> ec_private_key::sign_raw(std::string_view message) const {
    const auto hash = digest(message);
    bssl::UniquePtr<ECDSA_SIG> sig(
        ECDSA_do_sign(hash.data(), hash.size(), ec_of(impl_->pkey.get())));
    if (!sig) {
        return detail::fail(errc::sign_failed);
    }
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string signature(2 * scalar_size, '\0');
    auto* out = reinterpret_cast<std::uint8_t*>(signature.data());
    if (!BN_bn2bin_padded(out, scalar_size, r) ||
        !BN_bn2bin_padded(out + scalar_size, scalar_size, s)) {
        return detail::fail(errc::sign_failed);
    }
    return signature;
}

ec_public_key::ec_public_key(std::shared_ptr<const impl> key) : impl_(std::move(key)) {}

result<ec_public_key> ec_public_key::from_pem(std::string_view pem) {
    auto bio = detail::memory_bio(pem);
    if (!bio) {
        return detail::fail(errc::bad_key);
    }
    bssl::UniquePtr<EVP_PKEY> pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!pkey || !is_p256(pkey.get())) {
        return detail::fail(errc::bad_key);
    }
    return ec_public_key(std::make_shared<impl>(impl{std::move(pkey)}));
}

result<ec_public_key> ec_public_key::from_spki_der(std::string_view der) {
    CBS input;
    CBS_init(&input, bytes(der), der.size());
    bssl::UniquePtr<EVP_PKEY> pkey(EVP_parse_public_key(&input));
    if (!pkey || CBS_len(&input) != 0 || !is_p256(pkey.get())) {
        return detail::fail(errc::bad_key);
    }
    return ec_public_key(std::make_shared<impl>(impl{std::move(pkey)}));
}

std::string ec_public_key::to_pem() const {
    return public_pem(impl_->pkey.get());
}

std::string ec_public_key::spki_der() const {
    return marshal_or_throw(
        [&](CBB* out) { return EVP_marshal_public_key(out, impl_->pkey.get()); });
}

std::string ec_public_key::hint() const {
    const auto hash = digest(spki_der());
    return base64_encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

bool ec_public_key::verify_der(std::string_view message, std::string_view signature) const {
    const auto hash = digest(message);
    const bool ok = ECDSA_verify(0, hash.data(), hash.size(), bytes(signature), signature.size(),
                                 ec_of(impl_->pkey.get())) == 1;
    ERR_clear_error();  // a bad signature leaves parse errors queued
    return ok;
}

bool ec_public_key::verify_raw(std::string_view message, std::string_view signature) const {
    if (signature.size() != 2 * scalar_size) {
        return false;
    }
    bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
    bssl::UniquePtr<BIGNUM> r(BN_bin2bn(bytes(signature), scalar_size, nullptr));
    bssl::UniquePtr<BIGNUM> s(BN_bin2bn(bytes(signature) + scalar_size, scalar_size, nullptr));
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r.get(), s.get())) {
        ERR_clear_error();
        return false;
    }
    r.release();  // owned by `sig` now
    s.release();
    const auto hash = digest(message);
    const bool ok =
        ECDSA_do_verify(hash.data(), hash.size(), sig.get(), ec_of(impl_->pkey.get())) == 1;
    ERR_clear_error();
    return ok;
}

}  // namespace hoist::crypto
