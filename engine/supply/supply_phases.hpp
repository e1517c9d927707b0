// SPDX-License-Identifier: Apache-2.0
/// The supply-chain phases of the pipeline:
/// - Provenance: each source image to promote must carry SLSA provenance that verifies
///   with a `--verify-key` and names a builder and source its project's policy allows.
/// - Validate: each source image's cosign signatures must verify with a `--verify-key`.
///   Both block the images that fail (their edges are not promoted) and let the rest go.
/// - Sign: one cosign signature per promoted digest per identity, index children too,
///   staging signatures carried along, in the canonical destination (kpromo's rules).
/// - Attest: one promotion attestation (in-toto, DSSE, sigstore bundle, OCI referrer) per
///   promoted digest and destination repository, never twice, also across reruns.
#pragma once

#include "engine/pipeline/pipeline.hpp"

#include <map>
#include <memory>
#include <string>

namespace hoist::engine {

std::unique_ptr<phase> make_provenance_phase();
std::unique_ptr<phase> make_validate_phase();
std::unique_ptr<phase> make_sign_phase();
std::unique_ptr<phase> make_attest_phase();

/// The identity a destination is signed as: `<registry>/<image>`, except that everything
/// up to and including `k8s-artifacts-prod/images` becomes `registry.k8s.io` (the name
/// users pull by), as kpromo does.
std::string signing_identity(std::string_view destination_path);

/// kpromo's order of destinations within one (identity, digest) group: registries under
/// `us-central1-docker.pkg.dev` (the canonical one, where registry.k8s.io serves
/// signatures from) first, then by name.
bool canonical_first(std::string_view a, std::string_view b);

/// The predicate type of kpromo's promotion attestations.
inline constexpr std::string_view promotion_predicate_type =
    "https://k8s.io/promo-tools/promotion/v1";
/// The predicate type cosign v3 signs images with in the bundle format.
inline constexpr std::string_view cosign_sign_predicate_type =
    "https://sigstore.dev/cosign/sign/v1";
/// cosign v3's signature statement (the bundle format): `digest` as the only subject,
/// without a name, the `-a` pairs as that subject's annotations, the sign predicate type,
/// an empty predicate.
net::result<std::string> signature_statement(const std::string& digest,
                                             const std::map<std::string, std::string>& annotations);

/// The key hoist puts in each signature's `optional`, so a promoter signature is never
/// mistaken for the staging one it sits beside (kpromo does the same with its version).
inline constexpr std::string_view promoter_annotation = "org.kubernetes.kpromo.version";

}  // namespace hoist::engine
