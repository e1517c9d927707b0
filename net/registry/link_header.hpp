// SPDX-License-Identifier: Apache-2.0
/// Parsing of Link header values (RFC 8288 §3) for the pagination of tags/list and
/// _catalog (distribution spec: "Listing Tags", "Link" header).
#pragma once

#include "net/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace hoist::net::registry {

/// The target of the first link whose rel includes "next" (relation types are a
/// space-separated, case-insensitive list, quoted or not; only the first rel parameter of
/// a link counts, RFC 8288 §3.3). The target is returned exactly as written, relative or
/// absolute: resolve it against the request URL with net::resolve_url. nullopt when no
/// link has rel="next" (the last page).
/// Errors: errc::bad_response for a malformed value (missing '<', unterminated target or
/// quoted string, garbage between links) or a rel="next" link with an empty target.
result<std::optional<std::string>> next_link(std::string_view header_value);

}  // namespace hoist::net::registry
