// SPDX-License-Identifier: Apache-2.0
#include "engine/supply/signatures.hpp"

#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "crypto/simple_signing.hpp"
#include "engine/bounded.hpp"
#include "net/registry/media_types.hpp"

#include <algorithm>
#include <set>

namespace hoist::engine {

namespace reg = net::registry;

namespace {

// Payloads are a few hundred bytes; anything much larger is not a signature payload.
constexpr std::int64_t max_payload_size = 1 << 20;

std::string layer_key(const crypto::signature_layer& layer) {
    auto signature = layer.annotations.find(std::string(crypto::cosign_signature_annotation));
    return layer.digest + " " + (signature == layer.annotations.end() ? "" : signature->second);
}

}  // namespace

std::string signature_tag(std::string_view digest) {
    return reg::digest_as_tag(digest) + ".sig";
}

asio::awaitable<net::result<std::string>> read_small_blob(reg::registry_client& client,
                                                          const reg::repository_ref& repo,
                                                          const std::string& digest,
                                                          std::int64_t size, net::deadline until) {
    if (size > max_payload_size) {
        co_return net::fail(
            net::errc::body_too_large,
            "blob " + repo.to_string() + "@" + digest + " is " + std::to_string(size) + " bytes");
    }
    co_return co_await client.read_blob(repo, digest, size, max_payload_size, until);
}

asio::awaitable<net::result<void>> push_small_blobs(reg::registry_client& client,
                                                    const reg::repository_ref& repo,
                                                    std::vector<std::string> blobs,
                                                    const std::string& what, net::deadline until) {
    co_return co_await for_each_bounded_checked(
        blobs.size(), blobs.size(), [&](std::size_t i) -> asio::awaitable<net::result<void>> {
            std::string digest = crypto::digest_of(blobs[i]);
            auto size = static_cast<std::int64_t>(blobs[i].size());
            reg::memory_blob_source source(blobs[i]);
            auto pushed = co_await client.push_blob(repo, digest, size, source, until);
            if (!pushed) {
                co_return net::with_context(pushed.error(), what + ": blob " + digest);
            }
            co_return net::result<void>{};
        });
}

asio::awaitable<net::result<std::optional<crypto::signature_manifest>>> read_signature_manifest(
    reg::registry_client& client, const reg::repository_ref& repo, const std::string& digest,
    net::deadline until) {
    auto tag = signature_tag(digest);
    auto fetched = co_await client.get_manifest(repo, tag, until);
    if (!fetched) {
        if (fetched.error().is(net::errc::not_found)) {
            co_return std::optional<crypto::signature_manifest>();
        }
        co_return fetched.error();
    }
    auto parsed = crypto::parse_signature_manifest(fetched->body);
    if (!parsed) {
        co_return net::fail(parsed.error(), repo.to_string() + ":" + tag);
    }
    co_return std::optional<crypto::signature_manifest>(std::move(*parsed));
}

asio::awaitable<net::result<signature_verdict>> verify_signatures(
    reg::registry_client& client, const reg::repository_ref& repo, const std::string& digest,
    const std::vector<crypto::ec_public_key>& keys, net::deadline until) {
    signature_verdict verdict;
    auto manifest = co_await read_signature_manifest(client, repo, digest, until);
    if (!manifest) {
        co_return manifest.error();
    }
    if (!*manifest || (*manifest)->layers.empty()) {
        co_return verdict;
    }
    verdict.signed_at_all = true;
    for (const auto& layer : (*manifest)->layers) {
        if (layer.media_type != crypto::simple_signing_media_type) {
            continue;  // other attachments share the image at times; they sign nothing
        }
        auto annotation = layer.annotations.find(std::string(crypto::cosign_signature_annotation));
        if (annotation == layer.annotations.end()) {
            verdict.rejected.push_back(layer.digest + ": no readable signature annotation");
            continue;
        }
        auto payload = co_await read_small_blob(client, repo, layer.digest, layer.size, until);
        if (!payload) {
            co_return payload.error();
        }
        auto checked = check_signature_layer(*payload, annotation->second, digest, keys);
        if (auto* verified = std::get_if<verified_signature>(&checked)) {
            verdict.verified.push_back(std::move(*verified));
        } else {
            verdict.rejected.push_back(layer.digest + ": " + std::get<std::string>(checked));
        }
    }
    co_return verdict;
}

std::variant<verified_signature, std::string> check_signature_layer(
    const std::string& payload, const std::optional<std::string>& signature_base64,
    const std::string& digest, const std::vector<crypto::ec_public_key>& keys) {
    auto signature = signature_base64 ? crypto::base64_decode(*signature_base64) : std::nullopt;
    if (!signature) {
        return "no readable signature annotation";
    }
    auto claims = crypto::parse_simple_signing_payload(payload);
    if (!claims) {
        return "payload refused (" + claims.error().message() + ")";
    }
    if (claims->manifest_digest != digest) {
        return "signs " + claims->manifest_digest + ", not " + digest;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].verify_der(payload, *signature)) {
            return verified_signature{claims->docker_reference, i, claims->optional, payload};
        }
    }
    return "signature of " + claims->docker_reference + " by another key";
}

asio::awaitable<net::result<signing_outcome>> add_signature(
    reg::registry_client& client, crypto::batch_signer& signer, signing_request request,
    net::deadline until, bool tag_surely_absent, write_gate before_write) {
    signing_outcome outcome;
    const auto& repo = request.repo;
    std::string what = "sign " + repo.to_string() + "@" + request.digest;
    std::string payload =
        crypto::simple_signing_payload(request.identity, request.digest, request.annotations);
    std::string payload_digest = crypto::digest_of(payload);

    std::vector<crypto::signature_layer> layers;
    if (!tag_surely_absent) {
        auto existing = co_await read_signature_manifest(client, repo, request.digest, until);
        if (!existing) {
            co_return net::with_context(existing.error(), what);
        }
        if (*existing) {
            layers = std::move((*existing)->layers);
        }
    }
    std::set<std::string> present;
    bool already_signed = false;
    for (const auto& layer : layers) {
        present.insert(layer_key(layer));
        if (layer.digest != payload_digest) {
            continue;
        }
        auto annotation = layer.annotations.find(std::string(crypto::cosign_signature_annotation));
        if (annotation == layer.annotations.end()) {
            continue;
        }
        auto signature = crypto::base64_decode(annotation->second);
        if (signature && signer.public_key().verify_der(payload, *signature)) {
            already_signed = true;
        }
    }

    bool carries_new =
        request.carried_from &&
        std::any_of(request.carried.begin(), request.carried.end(),
                    [&](const auto& layer) { return !present.contains(layer_key(layer)); });
    if (before_write && (carries_new || (request.sign && !already_signed))) {
        if (auto allowed = co_await before_write(); !allowed) {
            co_return allowed.error();
        }
    }

    // Staging signatures first, so the promoter's own comes last, as kpromo leaves them.
    for (const auto& layer : request.carried) {
        if (!request.carried_from || !present.insert(layer_key(layer)).second) {
            continue;
        }
        auto bytes = co_await read_small_blob(client, *request.carried_from, layer.digest,
                                              layer.size, until);
        if (!bytes) {
            co_return net::with_context(bytes.error(), what + ": staging signature");
        }
        reg::memory_blob_source source(std::move(*bytes));
        auto pushed = co_await client.push_blob(repo, layer.digest, layer.size, source, until);
        if (!pushed) {
            co_return net::with_context(pushed.error(), what + ": staging signature");
        }
        layers.push_back(layer);
        ++outcome.carried_now;
    }

    if (request.sign && !already_signed) {
        auto [error, signature] = co_await signer.async_sign(payload, net::use_nothrow);
        if (error) {
            co_return net::fail(error, what);
        }
        layers.push_back(crypto::simple_signing_layer(payload, signature));
        outcome.signed_now = true;
    }
    if (!outcome.written()) {
        co_return outcome;
    }

    auto image = crypto::build_signature_image(layers);
    if (!image) {
        co_return net::fail(image.error(), what);
    }
    std::vector<std::string> blobs{std::move(image->config)};
    if (outcome.signed_now) {
        blobs.push_back(std::move(payload));
    }
    if (auto pushed = co_await push_small_blobs(client, repo, std::move(blobs), what, until);
        !pushed) {
        co_return pushed.error();
    }
    auto put = co_await client.put_manifest(repo, signature_tag(request.digest),
                                            std::move(image->manifest),
                                            std::string(reg::media_type::oci_manifest), until);
    if (!put) {
        co_return net::with_context(put.error(), what);
    }
    co_return outcome;
}

}  // namespace hoist::engine
