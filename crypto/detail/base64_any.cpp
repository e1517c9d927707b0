// SPDX-License-Identifier: Apache-2.0
#include "crypto/detail/base64_any.hpp"

#include "crypto/encoding.hpp"

#include <algorithm>

namespace hoist::crypto::detail {

std::optional<std::string> decode_base64_any(std::string_view text) {
    const bool standard_alphabet = text.find_first_of("+/") != std::string_view::npos;
    const bool url_alphabet = text.find_first_of("-_") != std::string_view::npos;
    if (standard_alphabet && url_alphabet) {
        return std::nullopt;
    }
    std::string_view body = text;
    if (const auto padding = text.find('='); padding != std::string_view::npos) {
        if (text.size() % 4 != 0 || text.size() - padding > 2 ||
            text.find_first_not_of('=', padding) != std::string_view::npos) {
            return std::nullopt;
        }
        body = text.substr(0, padding);
    }
    if (body.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string standard(body);
    if (url_alphabet) {
        std::replace(standard.begin(), standard.end(), '-', '+');
        std::replace(standard.begin(), standard.end(), '_', '/');
    }
    standard.append((4 - standard.size() % 4) % 4, '=');
    return base64_decode(standard);
}

}  // namespace hoist::crypto::detail
