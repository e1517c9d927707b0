// SPDX-License-Identifier: Apache-2.0
/// The simple-signing payload of a cosign `.sig` image signature (the "atomic container
/// signature" format with cosign's type string): writing it byte-identical to cosign, and
/// reading it as strictly as containers/image (skopeo, podman) does.
#pragma once

#include "crypto/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hoist::crypto {

inline constexpr std::string_view simple_signing_type = "cosign container image signature";
/// Media type of the `.sig` layer that holds the payload.
inline constexpr std::string_view simple_signing_media_type =
    "application/vnd.dev.cosign.simplesigning.v1+json";

/// The payload cosign signs, byte-identical to its compact output (no trailing newline):
/// `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},
/// "type":"cosign container image signature"},"optional":O}` where O is `null` when
/// `optional` is empty, else an object with the pairs sorted by key; strings escaped as Go
/// escapes them.
std::string simple_signing_payload(std::string_view docker_reference,
                                   std::string_view manifest_digest,
                                   const std::map<std::string, std::string>& optional);

/// What a payload claims. Nothing here is trusted until the signature over the payload
/// bytes has verified, and `manifest_digest` has been compared with the image's digest.
struct simple_signing_claims {
    std::string docker_reference;
    std::string manifest_digest;
    /// The string members of `optional` (`creator` included); members of other types are
    /// accepted, as containers/image accepts them, but not returned.
    std::map<std::string, std::string> optional;
    std::optional<std::int64_t> timestamp;  ///< `optional.timestamp`, when present
};

/// Reads a payload by containers/image's rules (signature/internal/sigstore_payload.go): the
/// top level has exactly `critical` and `optional`; `critical` exactly `type`, `image`,
/// `identity`; `image` exactly `docker-manifest-digest` (lower case, a sha256, sha384 or
/// sha512 digest as go-digest parses it); `identity`
/// exactly `docker-reference` (a string); `optional` is null or an object in which a
/// `creator` must be a string and a `timestamp` an integral number. No key may repeat.
/// Errors: errc::bad_document for any violation; errc::unsupported_document when `type` is
/// not "cosign container image signature".
result<simple_signing_claims> parse_simple_signing_payload(std::string_view payload);

}  // namespace hoist::crypto
