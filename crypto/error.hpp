// SPDX-License-Identifier: Apache-2.0
/// Errors of the crypto module: an `errc` enum with its category, and the `result<T>`
/// alias every fallible crypto function returns.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace hoist::crypto {

enum class errc {
    bad_key = 1,       ///< a key that does not parse, is encrypted, or is not ECDSA P-256
    sign_failed,       ///< the signing operation itself failed
    verify_failed,     ///< a signature did not verify
    bad_certificate,   ///< a certificate that does not parse or cannot be built
    bad_pem,           ///< PEM text without the expected block
    invalid_argument,  ///< an argument out of range, e.g. a malformed IP address for a SAN
    random_failed,     ///< the system random generator failed

    // Encrypted cosign keys (crypto/cosign_key.hpp).
    malformed_encrypted_key,     ///< its JSON, a base64 field or the nonce length is wrong
    unsupported_key_encryption,  ///< a KDF, cipher or scrypt cost that cosign refuses
    wrong_password,              ///< the secretbox does not open with the password
    encrypted_key_not_pkcs8,     ///< it opens but holds no PKCS#8 ECDSA P-256 key

    // Sigstore documents: DSSE, in-toto, SLSA, simple signing, `.sig` images, bundles.
    bad_document,          ///< JSON that does not parse or breaks the rules of its format
    unsupported_document,  ///< well formed, but a version, type or algorithm not supported
    digest_mismatch,       ///< signed content names another digest than the artifact's
    limit_exceeded,        ///< over a count limit, e.g. more than 1000 `.sig` layers
    check_refused,         ///< Validate's or Provenance's rules refuse the image
};

const boost::system::error_category& crypto_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), crypto_category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace hoist::crypto

template <>
struct boost::system::is_error_code_enum<hoist::crypto::errc> : std::true_type {};
