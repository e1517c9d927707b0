// SPDX-License-Identifier: Apache-2.0
/// The JSON bodies of the listing endpoints: tags/list (with the digest→tags map that
/// GCR and Artifact Registry add) and _catalog.
#pragma once

#include "net/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net::registry {

struct tag_page {
    std::vector<std::string> tags;
    /// digest → tags, from GCR's "manifest" map; empty when the registry has none.
    std::map<std::string, std::vector<std::string>> tags_by_digest;
    bool has_digest_map = false;
};

/// Parses `{"name": ..., "tags": [...] | null, "manifest": {digest: {"tag": [...]}}}`.
result<tag_page> parse_tag_page(std::string_view json);

/// Parses `{"repositories": [...]}`.
result<std::vector<std::string>> parse_catalog_page(std::string_view json);

}  // namespace hoist::net::registry
