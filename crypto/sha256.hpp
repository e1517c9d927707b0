// SPDX-License-Identifier: Apache-2.0
/// Streaming SHA-256 and the `sha256:<hex>` digest strings of OCI content addressing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hoist::crypto {

using sha256_hash = std::array<std::uint8_t, 32>;

/// Incremental SHA-256. Feed any number of chunks, then `finish()` once.
class sha256 {
public:
    sha256();
    void update(std::span<const std::uint8_t> bytes);
    void update(std::string_view bytes);
    sha256_hash finish();

    /// One-shot hash of a contiguous buffer.
    static sha256_hash of(std::string_view bytes);

private:
    // Large enough for BoringSSL's SHA256_CTX (112 bytes); checked in sha256.cpp.
    alignas(8) std::array<std::uint8_t, 128> state_;
};

/// Lower-case hex of any bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);

/// "sha256:<64 lower-case hex>".
std::string to_digest(const sha256_hash& hash);

/// The OCI digest of `bytes`: "sha256:" + hex(sha256(bytes)).
std::string digest_of(std::string_view bytes);

}  // namespace hoist::crypto
