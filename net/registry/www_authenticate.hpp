// SPDX-License-Identifier: Apache-2.0
/// Parsing of WWW-Authenticate header values (RFC 7235 §4.1) into challenges, and the
/// choice of the challenge hoist answers.
#pragma once

#include "net/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net::registry {

/// One challenge: `Bearer realm="…",service="…"` or `Negotiate <token68>`.
struct auth_challenge {
    std::string scheme;                         ///< lower-case: "bearer", "basic", …
    std::map<std::string, std::string> params;  ///< lower-case names; values unquoted
    /// The token68 form (`Negotiate YWJj==`); empty when the challenge has params.
    std::string token68;

    friend bool operator==(const auth_challenge&, const auth_challenge&) = default;
};

/// Parses one header value, which may hold several comma-separated challenges. Scheme and
/// parameter names are case-insensitive (returned lower-case); values are tokens or quoted
/// strings with backslash escapes; empty list elements are skipped (RFC 9110 §5.6.1).
/// A parameter without a value (`realm=`) is an error for Bearer and Basic, whose
/// challenges are parameters only (RFC 6750 §3, RFC 7617 §2); for other schemes it is read
/// as token68. A repeated parameter name is an error (RFC 7235 §2.1).
/// Errors: errc::bad_auth_challenge (empty value, missing scheme, unterminated quoted
/// string, parameter without value, unexpected characters), with the offset in the detail.
result<std::vector<auth_challenge>> parse_www_authenticate(std::string_view header_value);

/// The challenge hoist should answer: the first Bearer challenge, else the first Basic
/// one; nullptr when there is neither. Points into `challenges`.
const auth_challenge* pick_challenge(const std::vector<auth_challenge>& challenges);

}  // namespace hoist::net::registry
