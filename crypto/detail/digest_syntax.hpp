// SPDX-License-Identifier: Apache-2.0
/// Syntax checks for the digest strings signature documents carry. Never included outside
/// crypto/.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace hoist::crypto::detail {

/// True when `text` is exactly `length` lower-case hex digits.
inline bool is_lower_hex(std::string_view text, std::size_t length) {
    return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

/// True for "sha256:", "sha384:" or "sha512:" and the hex of that hash: the algorithms
/// go-digest (containers/image) accepts.
inline bool is_image_digest(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    const std::string_view algorithm = text.substr(0, colon);
    const std::string_view hex = text.substr(colon + 1);
    return (algorithm == "sha256" && is_lower_hex(hex, 64)) ||
           (algorithm == "sha384" && is_lower_hex(hex, 96)) ||
           (algorithm == "sha512" && is_lower_hex(hex, 128));
}

}  // namespace hoist::crypto::detail
