// SPDX-License-Identifier: Apache-2.0
/// JSON as the sigstore formats need it: strict reading (no repeated keys, bounded nesting)
/// and compact writing byte-identical to Go's encoding/json, whose output cosign signs.
/// Never included outside crypto/.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace hoist::crypto::detail {

/// Deepest nesting of arrays and objects `parse_json` accepts; signature documents are
/// shallow, and the limit keeps hostile input from exhausting the stack later.
inline constexpr int max_json_depth = 64;

/// Parses one JSON document. nullopt for malformed JSON, trailing bytes, a byte-order mark
/// (Go refuses one), a key repeated within one object (readers disagree on which copy wins,
/// so a signed document with one means different things to different verifiers: c/image
/// refuses them too), or nesting deeper than `max_json_depth`.
std::optional<nlohmann::json> parse_json(std::string_view text);

/// The bytes of the base64 string member `name` of `object` (any alphabet and padding, see
/// decode_base64_any); nullopt when it is absent, not a string, or not base64.
std::optional<std::string> base64_member(const nlohmann::json& object, const char* name);

/// Appends `text` as a JSON string, escaped as Go's encoding/json escapes it: `<`, `>`, `&`,
/// U+2028 and U+2029 as \uXXXX, control characters in their short form or \u00xx, every
/// invalid UTF-8 byte as \ufffd.
void append_go_string(std::string& out, std::string_view text);

/// Appends `value` compactly as Go's encoding/json writes it: members in the value's own
/// order (sorted for nlohmann::json, as Go sorts map keys; insertion order for ordered_json,
/// as Go keeps struct field order), strings through `append_go_string`, and numbers in Go's
/// shortest form (fixed notation from 1e-6 to 1e21, exponent notation outside).
void append_go_json(std::string& out, const nlohmann::json& value);
void append_go_json(std::string& out, const nlohmann::ordered_json& value);

}  // namespace hoist::crypto::detail
