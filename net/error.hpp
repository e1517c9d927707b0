// SPDX-License-Identifier: Apache-2.0
/// Errors of the network module: an `errc` enum with its category, and `failure`, the
/// value every fallible net operation returns: a code plus the context a user needs
/// (which registry, which reference, what the server said).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>

namespace hoist::net {

enum class errc {
    resolve_failed = 1,      ///< the host name did not resolve
    connect_failed,          ///< TCP connect refused or unreachable
    tls_handshake_failed,    ///< TLS could not be negotiated
    tls_verify_failed,       ///< the certificate is not trusted or not for this host
    insecure_refused,        ///< plain http or unverified TLS for a registry not named insecure
    connection_closed,       ///< the peer closed the connection before the response ended
    protocol_error,          ///< malformed HTTP/1.1 or HTTP/2 from the peer
    stream_reset,            ///< the peer reset the HTTP/2 stream
    refused_stream,          ///< the peer did not process the request; safe to retry anywhere
    timeout,                 ///< the deadline passed before the operation finished
    cancelled,               ///< the caller cancelled the operation
    body_too_large,          ///< a response body exceeded the limit set for it
    truncated_body,          ///< a body ended before its announced length
    bad_url,                 ///< a URL or registry address could not be parsed
    bad_reference,           ///< an image reference could not be parsed
    unauthorized,            ///< 401 after authenticating: wrong or missing credentials
    denied,                  ///< 403: authenticated but not allowed
    not_found,               ///< 404: repository, manifest, blob or tag unknown
    rate_limited,            ///< 429 after the allowed retries
    server_error,            ///< 5xx after the allowed retries
    unexpected_status,       ///< any other status the operation does not expect
    bad_response,            ///< a response body or header that does not parse
    bad_auth_challenge,      ///< a WWW-Authenticate header that does not parse
    manifest_too_large,      ///< a manifest over the 4 MiB limit
    digest_mismatch,         ///< bytes whose sha256 differs from the expected digest
    size_mismatch,           ///< a blob whose length differs from its descriptor
    too_many_redirects,      ///< a redirect chain longer than allowed
    pagination_loop,         ///< a Link chain that repeats or never ends
    unsupported_media_type,  ///< a manifest media type hoist does not know
    credentials_failed,      ///< a credential store or helper failed
    io_failed,               ///< a local file could not be read or written
};

const boost::system::error_category& net_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), net_category()};
}

/// What went wrong, with enough context to act on it.
struct failure {
    boost::system::error_code code;
    std::string detail;   ///< e.g. "GET https://r.example/v2/a/manifests/1: 404 MANIFEST_UNKNOWN"
    int http_status = 0;  ///< 0 when no response was received
    /// How long the server asked to wait before trying again (Retry-After), if it did.
    std::optional<std::chrono::milliseconds> retry_after;

    bool is(errc e) const { return code == make_error_code(e); }
    /// "<detail>: <code message>", or just the code message when there is no detail.
    std::string message() const;
};

failure fail(errc e, std::string detail = {}, int http_status = 0);
failure fail(boost::system::error_code code, std::string detail = {});

/// Prefixes the detail with what was being done: "copy a:1 → b:1: " + detail.
failure with_context(failure f, std::string_view context);

/// True for failures that may go away when the same request is tried again: resets,
/// refused streams, timeouts, 429 and 5xx. Never true for integrity failures.
bool is_transient(const failure& f);

/// Required by boost::system::result<T, failure>::value(): reaching it is a bug.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, failure>;

}  // namespace hoist::net

template <>
struct boost::system::is_error_code_enum<hoist::net::errc> : std::true_type {};
