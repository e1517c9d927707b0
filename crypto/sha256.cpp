// SPDX-License-Identifier: Apache-2.0
#include "crypto/sha256.hpp"

#include <openssl/sha.h>

#include <cstring>

namespace hoist::crypto {
namespace {

static_assert(sizeof(SHA256_CTX) <= 128, "sha256::state_ too small for SHA256_CTX");

SHA256_CTX* context(std::array<std::uint8_t, 128>& state) {
    return reinterpret_cast<SHA256_CTX*>(state.data());
}

}  // namespace

sha256::sha256() { SHA256_Init(context(state_)); }

void sha256::update(std::span<const std::uint8_t> bytes) {
    SHA256_Update(context(state_), bytes.data(), bytes.size());
}

void sha256::update(std::string_view bytes) {
    SHA256_Update(context(state_), bytes.data(), bytes.size());
}

sha256_hash sha256::finish() {
    sha256_hash out{};
    SHA256_Final(out.data(), context(state_));
    return out;
}

sha256_hash sha256::of(std::string_view bytes) {
    sha256_hash out{};
    SHA256(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), out.data());
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    return out;
}

std::string to_digest(const sha256_hash& hash) { return "sha256:" + to_hex(hash); }

std::string digest_of(std::string_view bytes) { return to_digest(sha256::of(bytes)); }

}  // namespace hoist::crypto
