// SPDX-License-Identifier: Apache-2.0
/// Sigstore bundles (v0.1 to v0.3): a signature with its verification material, the form
/// cosign v3 stores as an OCI referrer of the image. Writing the key-based shape cosign v3
/// and sigstore-go write, reading any, and verifying with a public key.
///
/// Keyless verification is out of scope: certificates, transparency-log entries and RFC 3161
/// timestamps are read as present but never verified, and a key-based verification ignores
/// them (as `cosign verify --key --insecure-ignore-tlog` does).
#pragma once

#include "crypto/dsse.hpp"
#include "crypto/ec_key.hpp"
#include "crypto/error.hpp"
#include "crypto/sha256.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hoist::crypto {

inline constexpr std::string_view bundle_v03_media_type =
    "application/vnd.dev.sigstore.bundle.v0.3+json";

// The OCI referrer that holds a bundle: an image manifest whose `subject` is the image, with
// the empty config, one layer (the bundle JSON, media type and artifactType
// `bundle_v03_media_type`), and the annotations below.
inline constexpr std::string_view oci_empty_media_type = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view oci_empty_content = "{}";
inline constexpr std::string_view oci_empty_digest =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
inline constexpr std::int64_t oci_empty_size = 2;
inline constexpr std::string_view bundle_content_annotation = "dev.sigstore.bundle.content";
inline constexpr std::string_view bundle_content_dsse = "dsse-envelope";
inline constexpr std::string_view bundle_content_message_signature = "message-signature";
inline constexpr std::string_view bundle_predicate_type_annotation =
    "dev.sigstore.bundle.predicateType";

/// What identifies the signer in a bundle.
enum class verification_material {
    public_key,         ///< a hint naming a key the verifier already has
    certificate,        ///< a (Fulcio) leaf certificate
    certificate_chain,  ///< leaf and chain (bundles v0.1 and v0.2 only)
};

/// A signature over an artifact's bytes (cosign sign-blob, hashedrekord).
struct message_signature {
    std::string digest_algorithm;  ///< protobuf HashAlgorithm name, e.g. "SHA2_256"
    std::string digest;            ///< raw digest bytes of the artifact
    std::string signature;         ///< raw bytes: ASN.1 DER ECDSA
};

struct sigstore_bundle {
    std::string media_type;
    verification_material material = verification_material::public_key;
    std::string public_key_hint;                ///< public_key only; may be empty
    std::vector<std::string> certificates_der;  ///< certificate(s), leaf first
    std::size_t tlog_entries = 0;               ///< read, never verified here
    std::size_t rfc3161_timestamps = 0;         ///< read, never verified here
    std::variant<dsse_envelope, message_signature> content;
};

/// A bundle v0.3 around `envelope`, as cosign v3 writes it for a key:
/// `{"mediaType":…,"verificationMaterial":{"publicKey":{"hint":H}},"dsseEnvelope":{"payload",
/// "payloadType","signatures":[{"sig"}]}}` with H = `key.hint()` and no keyid.
/// Errors: errc::invalid_argument unless the envelope has exactly one signature.
result<std::string> dsse_bundle_json(const dsse_envelope& envelope, const ec_public_key& key);

/// A bundle v0.3 with a message signature: `"messageSignature":{"messageDigest":{"algorithm":
/// "SHA2_256","digest":b64},"signature":b64}`, the public-key hint as above.
std::string message_signature_bundle_json(const sha256_hash& artifact_digest,
                                          std::string_view der_signature, const ec_public_key& key);

/// Reads a bundle of media type `bundle_v03_media_type` or
/// `application/vnd.dev.sigstore.bundle+json;version=0.1|0.2|0.3`: exactly one kind of
/// verification material (`x509CertificateChain` refused in v0.3), exactly one content; a
/// DSSE envelope must hold exactly one signature and a message signature a digest. Members
/// hoist does not read are ignored; bytes may use either base64 alphabet, as protojson allows.
/// Errors: errc::bad_document; errc::unsupported_document for another bundle version.
result<sigstore_bundle> parse_bundle(std::string_view json);

/// Verifies the bundle's signature with `key`, ignoring its verification material.
/// DSSE: the one signature (DER) over the PAE; with an `artifact`, the payload must also be
/// an in-toto statement with a subject whose sha256 is the artifact's.
/// Message signature: needs the `artifact`; the bundle's digest must be SHA2_256 and equal
/// SHA-256(artifact), and the signature must verify over the artifact.
/// Errors: errc::verify_failed; errc::digest_mismatch when the signed content names another
/// digest; errc::invalid_argument for a message signature without an artifact or a DSSE
/// content without exactly one signature; errc::unsupported_document for another digest
/// algorithm; errc::bad_document for an artifact check on a DSSE payload that is no statement.
result<void> verify_bundle(const sigstore_bundle& bundle, const ec_public_key& key,
                           std::optional<std::string_view> artifact = std::nullopt);

}  // namespace hoist::crypto
