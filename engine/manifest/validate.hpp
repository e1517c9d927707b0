// SPDX-License-Identifier: Apache-2.0
/// kpromo's manifest rules (V2–V10 and the overlap rule E1) with file, line and column for
/// every failure. Unlike kpromo they apply to thin manifests as well as plain ones: that
/// gap is how a 63-digit digest reached the production manifests.
#pragma once

#include "engine/manifest/diagnostics.hpp"
#include "engine/manifest/manifest.hpp"

#include <string_view>
#include <vector>

namespace hoist::engine {

/// `sha256:` followed by 64 lower-case hex digits (kpromo accepts no other algorithm).
bool is_valid_promotion_digest(std::string_view digest);
/// kpromo's tag rule `^\w[\w.-]{0,127}$`, ASCII only.
bool is_valid_promotion_tag(std::string_view tag);
/// host[:port] followed by optional repository path components.
bool is_valid_registry_name(std::string_view name);

/// The rules of one manifest: one source registry with a name, non-empty registries,
/// names, dmaps, digests and tags well-formed.
void validate_manifest(const promotion_manifest& manifest, diagnostics& problems);

/// E1 across everything: no destination tag (registry/image:tag) may be claimed by two
/// different digests, whether in one dmap, in two entries of one image, or in two
/// manifests that share a destination. The same digest claimed twice is redundant, not
/// an error.
void check_overlaps(const std::vector<promotion_manifest>& manifests, diagnostics& problems);

}  // namespace hoist::engine
