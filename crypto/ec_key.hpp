// SPDX-License-Identifier: Apache-2.0
/// ECDSA P-256 keys: generation, PEM import/export, and SHA-256 signatures in the two
/// encodings in use (ASN.1 DER for X.509/cosign, raw r||s for JWS ES256).
#pragma once

#include "crypto/error.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace hoist::crypto {

class ec_public_key;

/// An ECDSA private key on P-256. Immutable once built; copies share the key, and one key
/// may sign from several threads at once.
class ec_private_key {
public:
    /// A fresh key from the system random generator.
    /// Errors: errc::bad_key when key generation fails.
    static result<ec_private_key> generate();

    /// Parses an unencrypted PEM key: PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY").
    /// Errors: errc::bad_key for anything else (other curves, RSA, encrypted keys, junk).
    static result<ec_private_key> from_pem(std::string_view pem);
    /// Parses a DER PKCS#8 PrivateKeyInfo, and only that: a SEC1 ECPrivateKey is refused,
    /// as cosign refuses it inside an encrypted key. Errors: errc::bad_key.
    static result<ec_private_key> from_pkcs8_der(std::string_view der);

    /// Unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
    std::string to_pkcs8_pem() const;
    /// The same PrivateKeyInfo as DER (what an encrypted cosign key holds).
    std::string to_pkcs8_der() const;
    /// SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
    std::string public_key_pem() const;
    /// The matching public key.
    ec_public_key public_key() const;

    /// SHA-256 of `message`, signed with ECDSA; the signature as an ASN.1 DER
    /// ECDSA-Sig-Value. Errors: errc::sign_failed.
    result<std::string> sign_der(std::string_view message) const;
    /// Same, as the 64-byte big-endian r||s concatenation of JWS ES256 (RFC 7518 §3.4).
    result<std::string> sign_raw(std::string_view message) const;

    /// The BoringSSL key, for other crypto/ sources (defined in crypto/detail/bssl.hpp).
    struct impl;
    const impl& internals() const { return *impl_; }

private:
    explicit ec_private_key(std::shared_ptr<const impl> key);
    std::shared_ptr<const impl> impl_;
};

/// An ECDSA public key on P-256. Immutable; copies share the key.
class ec_public_key {
public:
    /// Parses a SubjectPublicKeyInfo PEM ("PUBLIC KEY").
    /// Errors: errc::bad_key when it does not parse or is not a P-256 key.
    static result<ec_public_key> from_pem(std::string_view pem);
    /// Parses a DER SubjectPublicKeyInfo. Errors: errc::bad_key.
    static result<ec_public_key> from_spki_der(std::string_view der);

    /// SubjectPublicKeyInfo PEM.
    std::string to_pem() const;
    /// SubjectPublicKeyInfo DER.
    std::string spki_der() const;
    /// Sigstore's public-key hint: standard base64 of SHA-256 over the SPKI DER, the
    /// value bundles carry in verificationMaterial.publicKey.hint.
    std::string hint() const;
    /// True when both are the same point on the curve.
    bool operator==(const ec_public_key& other) const { return spki_der() == other.spki_der(); }

    /// True when `signature` (ASN.1 DER, strictly encoded) signs SHA-256(`message`).
    bool verify_der(std::string_view message, std::string_view signature) const;
    /// True when `signature` (64-byte r||s) signs SHA-256(`message`).
    bool verify_raw(std::string_view message, std::string_view signature) const;

    struct impl;
    const impl& internals() const { return *impl_; }

private:
    friend class ec_private_key;
    explicit ec_public_key(std::shared_ptr<const impl> key);
    std::shared_ptr<const impl> impl_;
};

}  // namespace hoist::crypto
