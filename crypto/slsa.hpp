// SPDX-License-Identifier: Apache-2.0
/// SLSA provenance predicates (v0.2 and v1): the facts a promoter checks about how an image
/// was built — who built it and from which sources.
#pragma once

#include "crypto/error.hpp"
#include "crypto/intoto.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hoist::crypto {

inline constexpr std::string_view slsa_provenance_v02 = "https://slsa.dev/provenance/v0.2";
inline constexpr std::string_view slsa_provenance_v1 = "https://slsa.dev/provenance/v1";

/// True for the two predicate types above (older drafts are not read).
bool is_slsa_provenance(std::string_view predicate_type);

struct provenance_facts {
    std::string builder_id;
    /// The repository the build names as built from, without repeats: v0.2:
    /// `invocation.configSource.uri`; v1: `externalParameters.workflow.repository` (GitHub
    /// Actions) and `externalParameters.source` (a string or `{uri}`). Only when those name
    /// nothing: the first of `materials` / `resolvedDependencies`, by convention the source;
    /// the other entries are inputs (base images, modules), never sources.
    std::vector<std::string> source_uris;
};

/// The builder and sources of a provenance statement. A v1 predicate must pass the in-toto
/// validator's rules (buildDefinition with a non-empty buildType and non-empty
/// externalParameters object, runDetails.builder with a non-empty id); a v0.2 one needs a
/// non-empty builder.id and buildType, as its specification requires.
/// Errors: errc::unsupported_document when the predicate type is not SLSA provenance;
/// errc::bad_document when the predicate breaks those rules or has a field of the wrong type.
result<provenance_facts> provenance_facts_of(const intoto_statement& statement);

}  // namespace hoist::crypto
