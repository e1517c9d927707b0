// SPDX-License-Identifier: Apache-2.0
/// The base64 that sigstore readers accept: the DSSE spec and protojson both allow the
/// standard and the URL-safe alphabet, with or without padding. Never included outside
/// crypto/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hoist::crypto::detail {

/// Decodes standard or URL-safe base64 (one alphabet per string), padded or not; when
/// padding is present it must be complete. nullopt for anything else, whitespace included.
std::optional<std::string> decode_base64_any(std::string_view text);

}  // namespace hoist::crypto::detail
