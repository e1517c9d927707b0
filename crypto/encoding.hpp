// SPDX-License-Identifier: Apache-2.0
/// Base64 in the two alphabets registries and signatures use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hoist::crypto {

/// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64; whitespace is not allowed. nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

/// URL-safe base64 without padding (RFC 4648 §5), as JWTs use.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace hoist::crypto
