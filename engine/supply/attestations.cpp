// SPDX-License-Identifier: Apache-2.0
#include "engine/supply/attestations.hpp"

#include "crypto/intoto.hpp"
#include "crypto/sha256.hpp"
#include "engine/supply/signatures.hpp"
#include "net/registry/media_types.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace hoist::engine {

namespace reg = net::registry;

namespace {

constexpr std::string_view dsse_layer_media_type = "application/vnd.dsse.envelope.v1+json";

std::string attestation_tag(std::string_view digest) {
    return reg::digest_as_tag(digest) + ".att";
}

bool is_bundle_media_type(std::string_view media_type) {
    return media_type.starts_with("application/vnd.dev.sigstore.bundle");
}

/// Why `bytes` could not be read as a `what`, in words for a report.
std::string unreadable_because(std::string_view what, const std::string& bytes,
                               const boost::system::error_code& error) {
    std::string because(what);
    if (!nlohmann::json::accept(bytes)) {
        return because + " is not JSON";
    }
    return because + " unreadable (" + error.message() + ")";
}

}  // namespace

std::string utc_timestamp_now() {
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string bundle_referrer_manifest(const attestation_subject& subject,
                                     const std::string& bundle_json,
                                     const std::string& predicate_type, bool dsse,
                                     const std::string& created) {
    nlohmann::ordered_json manifest;
    manifest["schemaVersion"] = 2;
    manifest["mediaType"] = reg::media_type::oci_manifest;
    manifest["config"] = {{"mediaType", crypto::oci_empty_media_type},
                          {"size", crypto::oci_empty_size},
                          {"digest", crypto::oci_empty_digest},
                          {"artifactType", crypto::bundle_v03_media_type}};
    manifest["layers"] =
        nlohmann::ordered_json::array({{{"mediaType", crypto::bundle_v03_media_type},
                                        {"size", bundle_json.size()},
                                        {"digest", crypto::digest_of(bundle_json)}}});
    manifest["subject"] = {
        {"mediaType", subject.media_type}, {"size", subject.size}, {"digest", subject.digest}};
    manifest["annotations"] = {
        {std::string(crypto::bundle_content_annotation),
         dsse ? crypto::bundle_content_dsse : crypto::bundle_content_message_signature},
        {std::string(crypto::bundle_predicate_type_annotation), predicate_type},
        {"org.opencontainers.image.created", created}};
    manifest["artifactType"] = crypto::bundle_v03_media_type;
    return manifest.dump();
}

asio::awaitable<net::result<std::string>> attach_bundle(
    reg::registry_client& client, const reg::repository_ref& repo,
    const attestation_subject& subject, std::string bundle_json, const std::string& predicate_type,
    bool dsse, const std::string& created, net::deadline until,
    std::optional<std::vector<reg::descriptor>> referrers_tag_entries) {
    std::string what = "attach bundle to " + repo.to_string() + "@" + subject.digest;
    std::string manifest =
        bundle_referrer_manifest(subject, bundle_json, predicate_type, dsse, created);
    std::vector<std::string> blobs{std::string(crypto::oci_empty_content), std::move(bundle_json)};
    if (auto pushed = co_await push_small_blobs(client, repo, std::move(blobs), what, until);
        !pushed) {
        co_return pushed.error();
    }
    reg::descriptor entry;
    entry.artifact_type = std::string(crypto::bundle_v03_media_type);
    entry.annotations = {{std::string(crypto::bundle_content_annotation),
                          std::string(dsse ? crypto::bundle_content_dsse
                                           : crypto::bundle_content_message_signature)},
                         {std::string(crypto::bundle_predicate_type_annotation), predicate_type},
                         {"org.opencontainers.image.created", created}};
    co_return co_await client.attach_referrer(repo, std::move(manifest), subject.digest,
                                              std::move(entry), until,
                                              std::move(referrers_tag_entries));
}

asio::awaitable<net::result<std::vector<found_attestation>>> find_bundle_attestations(
    reg::registry_client& client, const reg::repository_ref& repo, const std::string& digest,
    const std::string& predicate_type, net::deadline until) {
    auto listed = co_await client.referrers(repo, digest, "", until);
    if (!listed) {
        co_return listed.error();
    }
    co_return co_await bundle_attestations_among(client, repo, *listed, predicate_type, until);
}

asio::awaitable<net::result<std::vector<found_attestation>>> bundle_attestations_among(
    reg::registry_client& client, const reg::repository_ref& repo,
    const std::vector<reg::descriptor>& referrers, const std::string& predicate_type,
    net::deadline until, std::vector<std::string>* gone) {
    std::vector<found_attestation> found;
    const std::string annotation(crypto::bundle_predicate_type_annotation);
    for (const auto& referrer : referrers) {
        auto hint = referrer.annotations.find(annotation);
        if (hint != referrer.annotations.end() && !predicate_type.empty() &&
            hint->second != predicate_type) {
            continue;  // annotated as something else: not worth a fetch
        }
        auto manifest = co_await client.get_manifest(repo, referrer.digest, until);
        if (!manifest && manifest.error().is(net::errc::not_found)) {
            if (gone != nullptr) {
                gone->push_back(referrer.digest);
            }
            continue;
        }
        if (!manifest) {
            co_return manifest.error();
        }
        std::string where = "referrer " + referrer.digest;
        std::string type = hint != referrer.annotations.end() ? hint->second : std::string();
        auto parsed = reg::parse_manifest(manifest->body, manifest->media_type);
        if (!parsed) {
            // Other artifacts refer to images too (an SBOM, an ORAS artifact manifest):
            // only one listed as a sigstore bundle, or annotated with a predicate type, is
            // an attestation that could not be read.
            if (is_bundle_media_type(referrer.artifact_type) || !type.empty()) {
                found.push_back({std::move(where),
                                 {},
                                 std::move(type),
                                 "manifest unreadable (" + parsed.error().message() + ")"});
            }
            continue;
        }
        if (auto it = parsed->annotations.find(annotation); it != parsed->annotations.end()) {
            type = it->second;
        }
        if (!predicate_type.empty() && type != predicate_type) {
            continue;
        }
        if (parsed->layers.size() != 1 || !is_bundle_media_type(parsed->layers[0].media_type)) {
            continue;
        }
        const auto& layer = parsed->layers[0];
        auto bytes = co_await read_small_blob(client, repo, layer.digest, layer.size, until);
        if (!bytes) {
            co_return bytes.error();
        }
        auto bundle = crypto::parse_bundle(*bytes);
        if (!bundle) {
            found.push_back({std::move(where),
                             {},
                             std::move(type),
                             unreadable_because("bundle", *bytes, bundle.error())});
            continue;
        }
        auto* envelope = std::get_if<crypto::dsse_envelope>(&bundle->content);
        if (envelope == nullptr) {
            continue;
        }
        found.push_back({std::move(where), std::move(*envelope), std::move(type), {}});
    }
    co_return found;
}

asio::awaitable<net::result<std::vector<found_attestation>>> find_legacy_attestations(
    reg::registry_client& client, const reg::repository_ref& repo, const std::string& digest,
    net::deadline until) {
    std::vector<found_attestation> found;
    auto tag = attestation_tag(digest);
    auto manifest = co_await client.get_manifest(repo, tag, until);
    if (!manifest) {
        if (manifest.error().is(net::errc::not_found)) {
            co_return found;
        }
        co_return manifest.error();
    }
    auto parsed = reg::parse_manifest(manifest->body, manifest->media_type);
    if (!parsed) {
        co_return net::with_context(parsed.error(), repo.to_string() + ":" + tag);
    }
    for (std::size_t i = 0; i < parsed->layers.size(); ++i) {
        const auto& layer = parsed->layers[i];
        if (layer.media_type != dsse_layer_media_type) {
            continue;
        }
        auto bytes = co_await read_small_blob(client, repo, layer.digest, layer.size, until);
        if (!bytes) {
            co_return bytes.error();
        }
        std::string hint;
        if (auto it = layer.annotations.find("predicateType"); it != layer.annotations.end()) {
            hint = it->second;
        }
        std::string where = repo.to_string() + ":" + tag + " layer " + std::to_string(i + 1);
        auto envelope = crypto::parse_dsse_envelope(*bytes);
        if (!envelope) {
            found.push_back({std::move(where),
                             {},
                             std::move(hint),
                             unreadable_because("DSSE envelope", *bytes, envelope.error())});
            continue;
        }
        found.push_back({std::move(where), std::move(*envelope), std::move(hint), {}});
    }
    co_return found;
}

asio::awaitable<net::result<crypto::dsse_envelope>> sign_intoto_statement(
    crypto::batch_signer& signer, std::string statement) {
    auto message = crypto::pae(crypto::intoto_payload_type, statement);
    auto [error, signature] = co_await signer.async_sign(std::move(message), net::use_nothrow);
    if (error) {
        co_return net::fail(error, "signing a statement");
    }
    crypto::dsse_envelope envelope;
    envelope.payload_type = std::string(crypto::intoto_payload_type);
    envelope.payload = std::move(statement);
    envelope.signatures.push_back({"", std::move(signature)});
    co_return envelope;
}

checked_statement check_attestation(const found_attestation& attestation,
                                    const std::vector<crypto::ec_public_key>& keys,
                                    const std::string& digest, const std::string& predicate_type) {
    if (!attestation.unreadable.empty()) {
        return {std::nullopt, attestation.where + ": " + attestation.unreadable};
    }
    const auto& envelope = attestation.envelope;
    bool verified = std::any_of(keys.begin(), keys.end(), [&](const crypto::ec_public_key& key) {
        return crypto::verify_dsse(envelope, key);
    });
    if (!verified) {
        return {std::nullopt, attestation.where + ": signed by another key"};
    }
    if (envelope.payload_type != crypto::intoto_payload_type) {
        return {std::nullopt, attestation.where + ": payloadType " + envelope.payload_type +
                                  ", not " + std::string(crypto::intoto_payload_type)};
    }
    auto statement = crypto::parse_statement(envelope.payload);
    if (!statement) {
        return {std::nullopt,
                attestation.where + ": no in-toto statement (" + statement.error().message() + ")"};
    }
    if (!crypto::has_subject_digest(*statement, digest.substr(digest.find(':') + 1))) {
        return {std::nullopt, attestation.where + ": no subject has digest " + digest};
    }
    if (statement->predicate_type != predicate_type) {
        return {std::nullopt, attestation.where + ": predicate type " + statement->predicate_type +
                                  ", not " + predicate_type};
    }
    return {std::move(*statement), {}};
}

asio::awaitable<net::result<std::optional<std::string>>> attach_statement_bundle(
    reg::registry_client& client, crypto::batch_signer& signer, const reg::repository_ref& repo,
    const std::string& digest, const std::string& predicate_type, const std::string& statement,
    std::optional<std::string>& bundle_json, duplicate_rule rule, const std::string& created,
    net::deadline until, attach_hints hints, write_gate before_write) {
    std::vector<reg::descriptor> referrers;
    if (!hints.referrers_tag_absent || !client.lacks_referrers_api(repo.registry)) {
        auto listed =
            co_await client.referrers(repo, digest, "", until, hints.referrers_tag_absent);
        if (!listed) {
            co_return listed.error();
        }
        referrers = std::move(*listed);
    }
    std::vector<std::string> gone;
    auto found =
        co_await bundle_attestations_among(client, repo, referrers, predicate_type, until, &gone);
    if (!found) {
        co_return found.error();
    }
    const auto& key = signer.public_key();
    bool present = std::any_of(found->begin(), found->end(), [&](const found_attestation& a) {
        return a.unreadable.empty() &&
               (rule == duplicate_rule::same_predicate_type || a.envelope.payload == statement) &&
               crypto::verify_dsse(a.envelope, key);
    });
    if (present) {
        co_return std::optional<std::string>();
    }
    if (before_write) {
        if (auto allowed = co_await before_write(); !allowed) {
            co_return allowed.error();
        }
    }
    if (!bundle_json) {
        auto envelope = co_await sign_intoto_statement(signer, statement);
        if (!envelope) {
            co_return envelope.error();
        }
        auto json = crypto::dsse_bundle_json(*envelope, key);
        if (!json) {
            co_return net::fail(json.error(), "bundle");
        }
        bundle_json = std::move(*json);
    }
    if (!hints.subject) {
        auto head = co_await client.head_manifest(repo, digest, until);
        if (!head) {
            co_return head.error();
        }
        if (!*head) {
            co_return net::fail(net::errc::not_found, repo.to_string() + "@" + digest + " is gone");
        }
        hints.subject = attestation_subject{digest, (*head)->media_type, (*head)->size};
    }
    // Without a referrers API, `referrers` is the referrers tag's whole index, just read.
    // Entries found gone are dropped: a registry refuses an index naming a missing manifest.
    std::optional<std::vector<reg::descriptor>> tag_entries;
    if (client.lacks_referrers_api(repo.registry)) {
        std::erase_if(referrers, [&](const reg::descriptor& entry) {
            return std::find(gone.begin(), gone.end(), entry.digest) != gone.end();
        });
        tag_entries = std::move(referrers);
    }
    auto attached =
        co_await attach_bundle(client, repo, *hints.subject, *bundle_json, predicate_type, true,
                               created, until, std::move(tag_entries));
    if (!attached) {
        co_return attached.error();
    }
    co_return std::optional<std::string>(std::move(*attached));
}

}  // namespace hoist::engine
