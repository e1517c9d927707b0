// SPDX-License-Identifier: Apache-2.0
/// cosign signatures in a registry, legacy layout: the image `<repo>:sha256-<hex>.sig`
/// whose layers are simple-signing payloads, each with its signature in an annotation.
/// Reading and verifying them (the Validate phase, `hoist verify`), and adding one
/// (the Sign phase, `hoist sign`) by read-modify-write, as cosign does.
#pragma once

#include "crypto/batch_signer.hpp"
#include "crypto/ec_key.hpp"
#include "crypto/signature_image.hpp"
#include "engine/supply/write_gate.hpp"
#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hoist::engine {

/// `sha256-<hex>.sig`: where cosign keeps the signatures of `digest`.
std::string signature_tag(std::string_view digest);

/// A small blob read whole (signature payloads, bundles, configs), digest verified.
asio::awaitable<net::result<std::string>> read_small_blob(net::registry::registry_client& client,
                                                          const net::registry::repository_ref& repo,
                                                          const std::string& digest,
                                                          std::int64_t size, net::deadline until);

/// Small blobs uploaded side by side (they are independent; the manifest naming them
/// waits for all). The first failure, with `what` as context.
asio::awaitable<net::result<void>> push_small_blobs(net::registry::registry_client& client,
                                                    const net::registry::repository_ref& repo,
                                                    std::vector<std::string> blobs,
                                                    const std::string& what, net::deadline until);

/// The `.sig` image of `digest` in `repo`, or nullopt when there is none.
asio::awaitable<net::result<std::optional<crypto::signature_manifest>>> read_signature_manifest(
    net::registry::registry_client& client, const net::registry::repository_ref& repo,
    const std::string& digest, net::deadline until);

struct verified_signature {
    std::string docker_reference;  ///< the identity the signer named
    std::size_t key_index = 0;     ///< which of the keys verified it
    std::map<std::string, std::string> optional;
    std::string payload;  ///< the exact bytes the signature covers
};

struct signature_verdict {
    bool signed_at_all = false;  ///< a `.sig` image exists with at least one layer
    std::vector<verified_signature> verified;
    /// Why layers did not verify, one line each (wrong key, other digest, bad payload).
    std::vector<std::string> rejected;
};

/// One simple-signing layer checked as containers/image checks it: the payload read
/// strictly, its digest claim equal to `digest`, the signature (base64 DER, from the
/// layer's annotation; nullopt when it has none) verifying with one of `keys`. The
/// verified signature, or why not, in words for a report.
std::variant<verified_signature, std::string> check_signature_layer(
    const std::string& payload, const std::optional<std::string>& signature_base64,
    const std::string& digest, const std::vector<crypto::ec_public_key>& keys);

/// Every simple-signing layer of `digest`'s `.sig` image in `repo`, checked as
/// containers/image checks them: payload read strictly, digest equal to `digest`, signature
/// verifying with one of `keys`. `docker_reference` is not checked (cosign does not).
asio::awaitable<net::result<signature_verdict>> verify_signatures(
    net::registry::registry_client& client, const net::registry::repository_ref& repo,
    const std::string& digest, const std::vector<crypto::ec_public_key>& keys, net::deadline until);

// Brace-initialised inside coroutines: name every member there, g++ 12 leaves default
// member initialisers of an aggregate unapplied in a coroutine frame.
struct signing_request {
    net::registry::repository_ref repo;              ///< where the image and its `.sig` live
    std::string digest;                              ///< the manifest to sign
    std::string identity;                            ///< critical.identity.docker-reference
    std::map<std::string, std::string> annotations;  ///< the payload's `optional`
    /// Signature layers to carry into the `.sig` image (a staging image's signatures),
    /// read from `carried_from`; their payload blobs are copied across.
    std::vector<crypto::signature_layer> carried;
    std::optional<net::registry::repository_ref> carried_from;
    /// False when only the carried layers are wanted (the own signature goes elsewhere,
    /// as a bundle referrer).
    bool sign = true;
};

struct signing_outcome {
    bool signed_now = false;      ///< a new signature layer was written
    std::size_t carried_now = 0;  ///< staging layers added
    bool written() const { return signed_now || carried_now > 0; }
};

/// Adds a signature by `signer`'s key to `request.digest`'s `.sig` image unless one is
/// there already: a layer with the same payload bytes whose signature verifies with the
/// key (ECDSA signatures differ each time, so this is a verification, not a comparison).
/// Blobs first, the manifest last, so the tag never names a missing blob. Two writers of
/// the same `.sig` tag at once lose one signature: the caller runs one per tag.
/// `tag_surely_absent`: the caller knows there is no `.sig` tag yet, so it is not read.
/// `before_write` (if set) may refuse, once something is to be written.
asio::awaitable<net::result<signing_outcome>> add_signature(
    net::registry::registry_client& client, crypto::batch_signer& signer, signing_request request,
    net::deadline until, bool tag_surely_absent = false, write_gate before_write = {});

}  // namespace hoist::engine
