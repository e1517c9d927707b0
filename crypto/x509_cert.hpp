// SPDX-License-Identifier: Apache-2.0
/// Self-signed X.509 certificates for loopback test registries and token issuers, and
/// PEM → DER conversion (the `x5c` header of a JWS carries DER certificates).
#pragma once

#include "crypto/error.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::crypto {

/// A certificate and its private key, both PEM.
struct self_signed {
    std::string certificate_pem;  ///< "-----BEGIN CERTIFICATE-----"
    std::string private_key_pem;  ///< PKCS#8 "-----BEGIN PRIVATE KEY-----", P-256
};

/// Makes a fresh P-256 key and a self-signed X.509 v3 certificate for it, valid from one
/// hour ago (tolerates clock skew) for `validity`. The certificate is its own CA
/// (basicConstraints critical CA:TRUE; keyUsage digitalSignature + keyCertSign;
/// extendedKeyUsage serverAuth), so the same PEM serves as the trust anchor ("CA file")
/// for clients, as a TLS server certificate and as a token-signing root. The serial is
/// 16 random octets (126 random bits, always positive).
/// Errors: errc::invalid_argument for an empty common name, a malformed IP address in
/// `ip_sans`, an empty DNS name or a non-positive validity; errc::random_failed;
/// errc::bad_certificate when BoringSSL cannot build or sign it.
result<self_signed> make_self_signed_cert(std::string common_name, std::vector<std::string> ip_sans,
                                          std::vector<std::string> dns_sans,
                                          std::chrono::hours validity);

/// The DER encoding of the first certificate in `pem`.
/// Errors: errc::bad_certificate when there is no parseable "CERTIFICATE" block.
result<std::string> certificate_der_from_pem(std::string_view pem);

}  // namespace hoist::crypto
