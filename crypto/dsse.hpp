// SPDX-License-Identifier: Apache-2.0
/// DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding that is actually
/// signed, and envelopes as cosign writes and reads them (attestations, bundles).
#pragma once

#include "crypto/ec_key.hpp"
#include "crypto/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hoist::crypto {

/// The bytes a DSSE signature signs: "DSSEv1" SP len(type) SP type SP len(payload) SP
/// payload, lengths in ASCII decimal bytes, nothing after the payload.
std::string pae(std::string_view payload_type, std::string_view payload);

struct dsse_envelope {
    std::string payload_type;
    std::string payload;  ///< raw bytes (base64 only in JSON)
    struct signature {
        std::string keyid;  ///< an unauthenticated hint; empty when absent
        std::string sig;    ///< raw bytes: ASN.1 DER ECDSA for cosign and sigstore
    };
    std::vector<signature> signatures;
};

/// Reads an envelope in any key order, with or without `keyid`, with `payload` and `sig` in
/// standard or URL-safe base64, padded or not (the DSSE spec allows all of them). Members
/// other than `payloadType`, `payload`, `signatures`, `keyid` and `sig` are ignored, as
/// cosign's Go reader ignores them. An empty `signatures` list parses (it verifies nothing).
/// Errors: errc::bad_document when the JSON does not parse, repeats a key, or a field is
/// missing or of the wrong type or encoding.
result<dsse_envelope> parse_dsse_envelope(std::string_view json);

/// Compact JSON as cosign v2 writes it: `payloadType`, `payload`, then `signatures` of
/// `{keyid, sig}` (keyid always present, "" when empty), standard padded base64.
std::string to_json(const dsse_envelope& envelope);

/// An envelope with one signature (empty keyid): ECDSA P-256 over SHA-256(PAE), DER.
/// Errors: errc::sign_failed.
result<dsse_envelope> sign_dsse(std::string_view payload_type, std::string payload,
                                const ec_private_key& key);

/// True when any signature of the envelope verifies with `key` over its PAE. Signatures are
/// DER, as cosign and sigstore write them; a 64-byte signature that is not DER is also tried
/// as raw r||s (IEEE P1363), the form of the DSSE specification's own test vector. Accepting
/// both costs nothing in strength: either encoding carries the same (r, s) pair.
bool verify_dsse(const dsse_envelope& envelope, const ec_public_key& key);

}  // namespace hoist::crypto
