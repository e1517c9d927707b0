// SPDX-License-Identifier: Apache-2.0
#include "crypto/encoding.hpp"

#include <openssl/base64.h>

#include <algorithm>
#include <cstdint>

namespace hoist::crypto {

std::string base64_encode(std::string_view bytes) {
    std::size_t encoded_size = 0;
    EVP_EncodedLength(&encoded_size, bytes.size());
    std::string out(encoded_size, '\0');
    std::size_t written = EVP_EncodeBlock(reinterpret_cast<std::uint8_t*>(out.data()),
                                          reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                          bytes.size());
    out.resize(written);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t max_size = 0;
    if (!EVP_DecodedLength(&max_size, text.size())) {
        return std::nullopt;
    }
    std::string out(max_size, '\0');
    std::size_t written = 0;
    if (!EVP_DecodeBase64(reinterpret_cast<std::uint8_t*>(out.data()), &written, max_size,
                          reinterpret_cast<const std::uint8_t*>(text.data()), text.size())) {
        return std::nullopt;
    }
    out.resize(written);
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    std::string out = base64_encode(bytes);
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    std::replace(out.begin(), out.end(), '+', '-');
    std::replace(out.begin(), out.end(), '/', '_');
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.find_first_of("+/=") != std::string_view::npos) {
        return std::nullopt;
    }
    std::string standard(text);
    std::replace(standard.begin(), standard.end(), '-', '+');
    std::replace(standard.begin(), standard.end(), '_', '/');
    standard.append((4 - standard.size() % 4) % 4, '=');
    return base64_decode(standard);
}

}  // namespace hoist::crypto
