// SPDX-License-Identifier: Apache-2.0
/// sigstore-js as an independent verifier of what hoist signs: DSSE envelopes, bundles
/// v0.3, legacy cosign signatures and in-toto statements, checked by tests/sigstore-js.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>

namespace hoist::testsupport::sigstore_js {

/// What the verifier decided. `code` is "OK" when verified; otherwise sigstore-js's own
/// error code (SIGNATURE_ERROR, PUBLIC_KEY_ERROR, INVALID_BUNDLE, ...) or one of the
/// harness's checks after it (SIGNATURE_COUNT_ERROR, MESSAGE_DIGEST_ERROR,
/// PAYLOAD_TYPE_ERROR, STATEMENT_ERROR, SUBJECT_ERROR, PREDICATE_TYPE_ERROR,
/// MALFORMED_INPUT). "HARNESS_ERROR" means no verdict at all, and the current test has
/// already been failed, so a broken harness never passes for a rejection.
struct verdict {
    bool ok = false;
    std::string code;
    std::string message;
};

std::ostream& operator<<(std::ostream& out, const verdict& v);

/// Succeeds when tests/sigstore-js/node_modules holds the verifier (`npm ci` ran there);
/// for `ASSERT_TRUE` in a fixture's SetUp. Every verify_* call checks it too.
::testing::AssertionResult installed();

enum class signatures {
    exactly_one,  ///< sigstore's rule: one signature, and it verifies
    any,          ///< cosign's legacy `.att` rule: at least one of them verifies
};

/// A bare DSSE envelope (JSON file), its signature over the PAE checked with the PEM key.
verdict verify_dsse(const std::filesystem::path& envelope, const std::filesystem::path& key,
                    signatures rule = signatures::exactly_one);

/// A bundle v0.3 with a public-key hint: the hint must be the given key's, no tlog, no
/// timestamps required. `artifact` is required for a messageSignature bundle (and its
/// messageDigest must be its SHA-256), and refused for a DSSE bundle.
verdict verify_bundle(const std::filesystem::path& bundle, const std::filesystem::path& key,
                      const std::filesystem::path& artifact = {});

/// A legacy cosign `.sig` layer: the payload blob and the base64 DER signature of its
/// `dev.cosignproject.cosign/signature` annotation, checked as a messageSignature bundle.
verdict verify_message(const std::filesystem::path& payload, std::string_view signature_base64,
                       const std::filesystem::path& key);

/// verify_dsse, then an in-toto Statement (v0.1 or v1) in an
/// `application/vnd.in-toto+json` payload with a subject whose sha256 is
/// `subject_sha256_hex`, and the predicate type when one is given.
verdict verify_statement(const std::filesystem::path& envelope, const std::filesystem::path& key,
                         std::string_view subject_sha256_hex, std::string_view predicate_type = {},
                         signatures rule = signatures::exactly_one);

/// An encrypted cosign key (`ENCRYPTED SIGSTORE PRIVATE KEY` or the older label) opened as
/// cosign's readers open it, with Node's scrypt and tweetnacl's secretbox, not hoist's
/// code: it must hold an ECDSA P-256 PKCS#8 key whose public key is `public_key`'s.
/// Codes: KEY_FORMAT, KEY_PASSWORD, KEY_TYPE, KEY_MISMATCH.
verdict open_cosign_key(const std::filesystem::path& private_key,
                        const std::filesystem::path& password_file,
                        const std::filesystem::path& public_key);

}  // namespace hoist::testsupport::sigstore_js
