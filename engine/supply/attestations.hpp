// SPDX-License-Identifier: Apache-2.0
/// Attestations in a registry: sigstore bundles attached to an image as OCI 1.1 referrers
/// (found through the referrers API or the `sha256-<hex>` referrers tag), and the legacy
/// cosign `.att` image of DSSE envelopes. Writing a bundle referrer the way cosign's
/// `attest --new-bundle-format` does, and reading both layouts back.
#pragma once

#include "crypto/batch_signer.hpp"
#include "crypto/bundle.hpp"
#include "crypto/dsse.hpp"
#include "crypto/intoto.hpp"
#include "engine/supply/write_gate.hpp"
#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hoist::engine {

/// The image an attestation is about, as its referrer's `subject` names it.
struct attestation_subject {
    std::string digest;
    std::string media_type;
    std::int64_t size = 0;
};

/// The referrer manifest holding `bundle_json` for `subject`, byte for byte what cosign
/// writes: empty config, one bundle layer, `subject`, annotations
/// dev.sigstore.bundle.content / predicateType / org.opencontainers.image.created.
std::string bundle_referrer_manifest(const attestation_subject& subject,
                                     const std::string& bundle_json,
                                     const std::string& predicate_type, bool dsse,
                                     const std::string& created);

/// Uploads the bundle and the empty config, then attaches the referrer (keeping the
/// referrers tag up to date where the registry has no referrers API). The caller runs
/// at most one attachment per (repository, subject) at a time.
/// `referrers_tag_entries`: as for registry_client::attach_referrer.
asio::awaitable<net::result<std::string>> attach_bundle(
    net::registry::registry_client& client, const net::registry::repository_ref& repo,
    const attestation_subject& subject, std::string bundle_json, const std::string& predicate_type,
    bool dsse, const std::string& created, net::deadline until,
    std::optional<std::vector<net::registry::descriptor>> referrers_tag_entries = std::nullopt);

/// One attestation found for an image.
struct found_attestation {
    std::string where;  ///< "referrer sha256:…" or "<repo>:sha256-….att layer 2"
    crypto::dsse_envelope envelope;
    std::string predicate_type_hint;  ///< from annotations; the statement is the truth
    /// Set when it holds no envelope that can be read (then `envelope` is empty): why.
    /// Kept, so that a check can say what it could not read instead of seeing nothing.
    std::string unreadable;
};

struct checked_statement {
    std::optional<crypto::intoto_statement> statement;
    std::string problem;  ///< why there is none
};

/// cosign's checks on an attestation, in its order: the envelope verifies with one of
/// `keys`, holds an in-toto statement, about `digest`, of `predicate_type`.
checked_statement check_attestation(const found_attestation& attestation,
                                    const std::vector<crypto::ec_public_key>& keys,
                                    const std::string& digest, const std::string& predicate_type);

/// The bundle referrers of `digest` whose predicateType annotation is `predicate_type`
/// (every bundle referrer when it is empty). Referrers listed without annotations (a
/// fallback index written by go-containerregistry) are fetched to read them. A referrer
/// whose manifest or bundle cannot be parsed is returned as unreadable; one that parses
/// but is not a DSSE bundle (another artifact, a message signature) is left out.
asio::awaitable<net::result<std::vector<found_attestation>>> find_bundle_attestations(
    net::registry::registry_client& client, const net::registry::repository_ref& repo,
    const std::string& digest, const std::string& predicate_type, net::deadline until);

/// The same, among `referrers` as registry_client::referrers listed them. A listed
/// referrer that is gone (a referrers tag outlives the manifests it lists, once a garbage
/// collection deleted them untagged) is not there: it is left out, its digest added to
/// `gone` when given.
asio::awaitable<net::result<std::vector<found_attestation>>> bundle_attestations_among(
    net::registry::registry_client& client, const net::registry::repository_ref& repo,
    const std::vector<net::registry::descriptor>& referrers, const std::string& predicate_type,
    net::deadline until, std::vector<std::string>* gone = nullptr);

/// The DSSE layers of the legacy `<repo>:sha256-<hex>.att` image (empty when absent),
/// those that are not a DSSE envelope as unreadable.
asio::awaitable<net::result<std::vector<found_attestation>>> find_legacy_attestations(
    net::registry::registry_client& client, const net::registry::repository_ref& repo,
    const std::string& digest, net::deadline until);

/// RFC 3339 UTC, to the second: the `created` annotation and the predicate timestamp.
std::string utc_timestamp_now();

/// A DSSE envelope around the in-toto `statement`, signed by `signer`: one signature and
/// no keyid, as cosign v3 writes it into a bundle.
asio::awaitable<net::result<crypto::dsse_envelope>> sign_intoto_statement(
    crypto::batch_signer& signer, std::string statement);

/// When an attachment already there stands for the one about to be made.
enum class duplicate_rule {
    /// Any statement of the predicate type signed by the key: records that differ in a
    /// timestamp (promotion records) or a predicate revised later (`hoist attest`).
    same_predicate_type,
    /// The very statement bytes signed by the key: deterministic statements whose content
    /// matters (`hoist sign` in the bundle format, whose subject carries the annotations).
    same_statement,
};

/// What a caller of attach_statement_bundle may know already, each sparing a request.
// Brace-initialised inside coroutines: name both members there (g++ 12, see
// signing_request).
struct attach_hints {
    /// The `sha256-<hex>` referrers tag does not exist (only used where the registry has
    /// no referrers API, which the tag then stands in for).
    bool referrers_tag_absent = false;
    /// The subject's media type and size, instead of a HEAD.
    std::optional<attestation_subject> subject;
};

/// Attaches `statement`, DSSE-signed by `signer` in a bundle v0.3, as a referrer of
/// `digest` in `repo`, unless a bundle referrer of `predicate_type` there already counts
/// as it by `rule`. `bundle_json` is the signed bundle: when empty it is signed here and
/// kept, so one signature serves every repository a digest is attached in. Returns the
/// referrer's digest, or nullopt when nothing was written. The caller runs one attachment
/// per (repository, subject) at a time. `before_write` (if set) may refuse the attachment
/// once it is known to be needed.
// lifetime: `bundle_json` outlives the call (owned by the caller's frame).
asio::awaitable<net::result<std::optional<std::string>>> attach_statement_bundle(
    net::registry::registry_client& client, crypto::batch_signer& signer,
    const net::registry::repository_ref& repo, const std::string& digest,
    const std::string& predicate_type, const std::string& statement,
    std::optional<std::string>& bundle_json, duplicate_rule rule, const std::string& created,
    net::deadline until, attach_hints hints = {false, std::nullopt}, write_gate before_write = {});

}  // namespace hoist::engine
