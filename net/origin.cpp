// SPDX-License-Identifier: Apache-2.0
#include "net/origin.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace hoist::net {

std::string origin::authority() const {
    std::string out;
    bool ipv6 = host.find(':') != std::string::npos;
    out.reserve(host.size() + 8);
    if (ipv6) {
        out.push_back('[');
    }
    out.append(host);
    if (ipv6) {
        out.push_back(']');
    }
    bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
    if (!default_port) {
        out += ":" + std::to_string(port);
    }
    return out;
}

std::string origin::to_string() const {
    return scheme + "://" + authority();
}

result<url> parse_url(std::string_view text) {
    auto bad = [&] { return fail(errc::bad_url, "malformed URL \"" + std::string(text) + "\""); };
    url out;
    auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return bad();
    }
    out.where.scheme = std::string(text.substr(0, scheme_end));
    for (auto& c : out.where.scheme) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (out.where.scheme != "https" && out.where.scheme != "http") {
        return bad();
    }
    out.where.port = out.where.scheme == "https" ? 443 : 80;
    std::string_view rest = text.substr(scheme_end + 3);
    auto path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    out.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (!out.target.empty() && out.target.front() == '?') {
        out.target.insert(out.target.begin(), '/');
    }
    if (authority.find('@') != std::string_view::npos || authority.empty()) {
        return bad();  // userinfo in URLs is a credential leak waiting to happen
    }
    std::string_view port_text;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return bad();
        }
        out.where.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return bad();
            }
            port_text = after.substr(1);
        }
    } else {
        auto colon = authority.rfind(':');
        out.where.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    if (out.where.host.empty()) {
        return bad();
    }
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535) {
            return bad();
        }
        out.where.port = static_cast<std::uint16_t>(port);
    }
    return out;
}

result<url> resolve_url(const url& base, std::string_view location) {
    if (location.find("://") != std::string_view::npos) {
        return parse_url(location);
    }
    if (location.starts_with("//")) {
        return parse_url(base.where.scheme + ":" + std::string(location));
    }
    url out = base;
    if (location.starts_with("/")) {
        out.target = std::string(location);
        return out;
    }
    // Relative path: replace the last segment of the base path.
    std::string_view base_path = std::string_view(base.target).substr(0, base.target.find('?'));
    auto slash = base_path.rfind('/');
    out.target = std::string(base_path.substr(0, slash + 1)) + std::string(location);
    return out;
}

bool is_ip_literal(std::string_view host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(std::string(host), ec);
    return !ec;
}

bool leaves_tls(const origin& from, const origin& to) {
    return from.is_tls() && !to.is_tls() && !is_loopback_host(to.host);
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost") {
        return true;
    }
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(host), ec);
    return !ec && address.is_loopback();
}

}  // namespace hoist::net
