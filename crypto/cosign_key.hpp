// SPDX-License-Identifier: Apache-2.0
/// cosign's key files: the encrypted private key (`cosign.key`: scrypt + NaCl secretbox over
/// a PKCS#8 key, wrapped in JSON and PEM), plain PEM signing keys, and `cosign.pub`.
#pragma once

#include "crypto/ec_key.hpp"
#include "crypto/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hoist::crypto {

/// The PEM label cosign 2 and later write, and the older one it still reads.
inline constexpr std::string_view sigstore_key_pem_label = "ENCRYPTED SIGSTORE PRIVATE KEY";
inline constexpr std::string_view cosign_key_pem_label = "ENCRYPTED COSIGN PRIVATE KEY";

/// True when the first PEM block of `pem` is an encrypted cosign key, i.e. when the caller
/// must find a password (COSIGN_PASSWORD or a prompt) before calling `load_signing_key`.
/// Never prompts, never runs the KDF.
bool needs_password(std::string_view pem);

/// Opens an encrypted cosign key (either label) with `password`, which may be empty.
/// Only scrypt with N = 32768, 65536 or 131072, r = 8, p = 1 is accepted, as cosign does;
/// other parameters are refused before any key derivation, so a hostile file cannot make
/// us allocate or spin. The derived key and the plaintext are wiped after use.
/// Errors: errc::bad_pem (no PEM block, or not an encrypted cosign key),
/// errc::malformed_encrypted_key (the JSON, a base64 field or the nonce length is wrong),
/// errc::unsupported_key_encryption (KDF, cipher or scrypt parameters not cosign's),
/// errc::wrong_password (the secretbox does not open: wrong password or altered file),
/// errc::encrypted_key_not_pkcs8 (it opened, but holds no PKCS#8 P-256 key — SEC1 inside,
/// as some old tools wrote, is refused like cosign refuses it).
result<ec_private_key> decrypt_cosign_key(std::string_view pem, std::string_view password);

/// The signing key of `--signing-key FILE`, from the file's text: an encrypted cosign key
/// (opened with `password`), or an unencrypted PEM `PRIVATE KEY` (PKCS#8) or
/// `EC PRIVATE KEY` (SEC1), for which `password` is ignored. The first PEM block decides.
/// Errors: those of `decrypt_cosign_key`; errc::bad_key for a plain block that is not a
/// P-256 private key (RSA, other curves, PKCS#8 encrypted with a password, certificates).
result<ec_private_key> load_signing_key(std::string_view pem, std::string_view password);

/// `key` as cosign writes `cosign.key`: PEM "ENCRYPTED SIGSTORE PRIVATE KEY" over the
/// JSON {kdf{name,params{N,r,p},salt},cipher{name,nonce},ciphertext}, with scrypt
/// N = 65536, r = 8, p = 1, a fresh 32-byte salt and 24-byte nonce. `cosign sign --key`
/// reads it with the same password. Throws only when out of memory.
std::string encrypt_cosign_key(const ec_private_key& key, std::string_view password);

/// The public keys of `--verify-key FILE`: every PEM block of the file, each of which
/// must be a P-256 SubjectPublicKeyInfo ("PUBLIC KEY"), in file order. cosign reads only
/// the first block of `cosign.pub`; several are accepted here so one file can carry a key
/// rotation. Errors: errc::bad_pem (no PEM block, or a block of another type),
/// errc::bad_key (a PUBLIC KEY block that is not P-256).
result<std::vector<ec_public_key>> load_verification_keys(std::string_view pem);

}  // namespace hoist::crypto
