// SPDX-License-Identifier: Apache-2.0
#include "net/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace hoist::net {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "hoist.net"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::resolve_failed:
                return "host name did not resolve";
            case errc::connect_failed:
                return "could not connect";
            case errc::tls_handshake_failed:
                return "TLS handshake failed";
            case errc::tls_verify_failed:
                return "TLS certificate not trusted";
            case errc::insecure_refused:
                return "refusing plain http or unverified TLS (name the registry with "
                       "--insecure-registry to allow it)";
            case errc::connection_closed:
                return "connection closed by peer";
            case errc::protocol_error:
                return "HTTP protocol error";
            case errc::stream_reset:
                return "stream reset by peer";
            case errc::refused_stream:
                return "request refused by peer before processing";
            case errc::timeout:
                return "deadline exceeded";
            case errc::cancelled:
                return "cancelled";
            case errc::body_too_large:
                return "response body too large";
            case errc::truncated_body:
                return "body truncated";
            case errc::bad_url:
                return "malformed URL";
            case errc::bad_reference:
                return "malformed image reference";
            case errc::unauthorized:
                return "unauthorized";
            case errc::denied:
                return "access denied";
            case errc::not_found:
                return "not found";
            case errc::rate_limited:
                return "rate limited";
            case errc::server_error:
                return "server error";
            case errc::unexpected_status:
                return "unexpected HTTP status";
            case errc::bad_response:
                return "malformed response";
            case errc::bad_auth_challenge:
                return "malformed WWW-Authenticate challenge";
            case errc::manifest_too_large:
                return "manifest larger than 4 MiB";
            case errc::digest_mismatch:
                return "content does not match its digest";
            case errc::size_mismatch:
                return "content does not match its size";
            case errc::too_many_redirects:
                return "too many redirects";
            case errc::pagination_loop:
                return "pagination does not end";
            case errc::unsupported_media_type:
                return "unsupported media type";
            case errc::credentials_failed:
                return "credentials lookup failed";
            case errc::io_failed:
                return "local I/O failed";
        }
        return "unknown hoist.net error";
    }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
    static const category instance;
    return instance;
}

std::string failure::message() const {
    std::string text = detail;
    if (!text.empty()) {
        text += ": ";
    }
    text += code.message();
    return text;
}

failure fail(errc e, std::string detail, int http_status) {
    return failure{make_error_code(e), std::move(detail), http_status, std::nullopt};
}

failure fail(boost::system::error_code code, std::string detail) {
    return failure{code, std::move(detail), 0, std::nullopt};
}

failure with_context(failure f, std::string_view context) {
    if (f.detail.empty()) {
        f.detail = std::string(context);
    } else {
        f.detail = std::string(context) + ": " + f.detail;
    }
    return f;
}

bool is_transient(const failure& f) {
    if (f.code.category() != net_category()) {
        return false;
    }
    switch (static_cast<errc>(f.code.value())) {
        case errc::connect_failed:
        case errc::connection_closed:
        case errc::stream_reset:
        case errc::refused_stream:
        case errc::timeout:
        case errc::rate_limited:
        case errc::server_error:
        case errc::truncated_body:
            return true;
        default:
            return false;
    }
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(f.code, f.detail), loc);
}

}  // namespace hoist::net
