// SPDX-License-Identifier: Apache-2.0
/// Where requests go: scheme, host and port, and whether TLS is verified there.
#pragma once

#include "net/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hoist::net {

struct origin {
    std::string scheme = "https";  ///< "https" or "http"
    std::string host;              ///< DNS name or IP literal, without brackets
    std::uint16_t port = 443;
    /// False only for registries the user named insecure.
    bool verify_tls = true;
    /// Offer only HTTP/1.1 in ALPN: for bulk transfers, which Go registries serve with
    /// much less CPU over HTTP/1.1 connections than over HTTP/2 streams.
    bool http1_only = false;

    bool is_tls() const { return scheme == "https"; }
    /// "host:port", or just "host" on the scheme's default port; IPv6 in brackets.
    std::string authority() const;
    /// "https://host:port".
    std::string to_string() const;

    friend bool operator==(const origin&, const origin&) = default;
};

/// A parsed absolute URL.
struct url {
    origin where;
    std::string target;  ///< path and query, "/" at least
};

/// Parses "https://host[:port]/path?query". The port defaults to the scheme's.
result<url> parse_url(std::string_view text);

/// Resolves `location` (absolute, or relative to `base` as in a Location header).
result<url> resolve_url(const url& base, std::string_view location);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

/// True when going from `from` to `to` drops TLS on the way to another machine: what was
/// meant for a TLS registry (a blob, an upload, credentials) would cross the network in
/// the clear. Plain http to loopback stays on this machine and is allowed.
bool leaves_tls(const origin& from, const origin& to);

/// True when `host` is an IPv4 or IPv6 literal.
bool is_ip_literal(std::string_view host);

}  // namespace hoist::net
