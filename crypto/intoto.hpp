// SPDX-License-Identifier: Apache-2.0
/// in-toto attestation Statements: the signed document inside a DSSE attestation, binding a
/// predicate (provenance, promotion record, ...) to artifacts by digest.
#pragma once

#include "crypto/error.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::crypto {

/// The DSSE payloadType of a Statement (cosign requires exactly this).
inline constexpr std::string_view intoto_payload_type = "application/vnd.in-toto+json";
inline constexpr std::string_view statement_type_v1 = "https://in-toto.io/Statement/v1";
/// What `cosign attest --predicate` still writes; verifiers accept both.
inline constexpr std::string_view statement_type_v01 = "https://in-toto.io/Statement/v0.1";

struct intoto_subject {
    std::string name;                           ///< free-form; empty when absent
    std::map<std::string, std::string> digest;  ///< algorithm → lower-case hex, e.g. "sha256"
};

struct intoto_statement {
    std::string type;  ///< `_type`: statement_type_v1 or statement_type_v01
    std::vector<intoto_subject> subjects;
    std::string predicate_type;
    nlohmann::json predicate;  ///< an object, or null when the statement has none
};

/// A Statement v1, compact, keys in the order `_type`, `subject`, `predicateType`,
/// `predicate`, as Go writes it; a subject's `name` is left out when empty (cosign v3 does so
/// for image signatures), `predicate` when null; digests and predicate members are sorted
/// by key. Errors: errc::invalid_argument when there is no subject, a subject has no digest
/// or an empty one, a sha256 digest is not 64 lower-case hex, the predicate type is empty,
/// or the predicate is neither an object nor null.
result<std::string> statement_json(const std::vector<intoto_subject>& subjects,
                                   std::string_view predicate_type,
                                   const nlohmann::json& predicate);

/// Reads a Statement v1 or v0.1. Members other than the four above are ignored. An empty
/// subject list parses: matching subjects is the verifier's job (`has_subject_digest`).
/// Errors: errc::bad_document for malformed JSON, a repeated key, a missing or mistyped
/// field; errc::unsupported_document for another `_type`.
result<intoto_statement> parse_statement(std::string_view json);

/// True when a subject's sha256 digest equals `sha256_hex` (hex without "sha256:"), the
/// check cosign makes between an attestation and the image or blob it is about.
bool has_subject_digest(const intoto_statement& statement, std::string_view sha256_hex);

}  // namespace hoist::crypto
