// SPDX-License-Identifier: Apache-2.0
#include "net/registry/www_authenticate.hpp"

#include <cstdio>

namespace hoist::net::registry {
namespace {

// tchar, RFC 9110 §5.6.2.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// token68 without its trailing "=" padding, RFC 7235 §2.1.
bool is_token68_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c + ('a' - 'A'));
        }
    }
    return out;
}

std::string describe(char c) {
    if (c > 0x20 && c < 0x7f) {
        return std::string("'") + c + "'";
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02x", static_cast<unsigned char>(c));
    return buf;
}

class parser {
public:
    explicit parser(std::string_view text) : text_(text) {}

    result<std::vector<auth_challenge>> run() {
        std::vector<auth_challenge> out;
        while (true) {
            skip_separators();
            if (at_end()) {
                break;
            }
            std::size_t start = pos_;
            std::string_view scheme = read_token();
            if (scheme.empty()) {
                return unexpected("where an auth scheme was expected");
            }
            skip_ows();
            if (peek() == '=') {
                return fail_at(start, "parameter '" + lower(scheme) +
                                          "' does not follow an auth scheme (missing scheme)");
            }
            pos_ = start + scheme.size();
            auth_challenge challenge;
            challenge.scheme = lower(scheme);
            if (!at_end() && peek() != ',') {
                if (!is_ows(peek())) {
                    return unexpected("after auth scheme '" + challenge.scheme + "'");
                }
                skip_ows();
                if (!at_end() && peek() != ',') {
                    if (auto r = read_params_or_token68(challenge); !r) {
                        return r.error();
                    }
                }
            }
            out.push_back(std::move(challenge));
        }
        if (out.empty()) {
            return fail(errc::bad_auth_challenge, "WWW-Authenticate: no challenge");
        }
        return out;
    }

private:
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    void skip_ows() {
        while (!at_end() && is_ows(text_[pos_])) {
            ++pos_;
        }
    }
    // Empty list elements are allowed (RFC 9110 §5.6.1): ", ,Bearer" is fine.
    void skip_separators() {
        while (!at_end() && (is_ows(text_[pos_]) || text_[pos_] == ',')) {
            ++pos_;
        }
    }

    std::string_view read_token() {
        std::size_t start = pos_;
        while (!at_end() && is_tchar(text_[pos_])) {
            ++pos_;
        }
        return text_.substr(start, pos_ - start);
    }

    failure fail_at(std::size_t offset, const std::string& what) const {
        return fail(errc::bad_auth_challenge,
                    "WWW-Authenticate: " + what + " at offset " + std::to_string(offset));
    }
    failure unexpected(const std::string& where) const {
        if (at_end()) {
            return fail_at(pos_, "unexpected end " + where);
        }
        return fail_at(pos_, "unexpected " + describe(peek()) + " " + where);
    }

    // After "scheme 1*SP": either token68 or the first of a list of auth-params.
    result<void> read_params_or_token68(auth_challenge& challenge) {
        std::size_t item_start = pos_;
        std::string_view name = read_token();
        if (name.empty()) {
            return unexpected("where a parameter or token68 was expected");
        }
        skip_ows();
        if (peek() == '=') {
            ++pos_;
            skip_ows();
            if (!at_end() && (peek() == '"' || is_tchar(peek()))) {
                if (auto r = read_param_value(challenge, name); !r) {
                    return r;
                }
                return read_more_params(challenge);
            }
            if (challenge.scheme == "bearer" || challenge.scheme == "basic") {
                return fail_at(item_start, "parameter '" + lower(name) + "' has no value");
            }
        }
        pos_ = item_start;
        return read_token68(challenge);
    }

    result<void> read_token68(auth_challenge& challenge) {
        std::size_t start = pos_;
        while (!at_end() && is_token68_char(peek())) {
            ++pos_;
        }
        if (pos_ == start) {
            return unexpected("where token68 was expected");
        }
        while (peek() == '=') {
            ++pos_;
        }
        challenge.token68 = std::string(text_.substr(start, pos_ - start));
        skip_ows();
        if (!at_end() && peek() != ',') {
            return unexpected("after token68");
        }
        return {};
    }

    // Commas separate both parameters and challenges: after a comma, `name =` continues
    // this challenge and anything else starts the next one (left for run() to read).
    result<void> read_more_params(auth_challenge& challenge) {
        while (true) {
            skip_ows();
            if (at_end()) {
                return {};
            }
            if (peek() != ',') {
                return unexpected("after a parameter value");
            }
            skip_separators();
            if (at_end()) {
                return {};
            }
            std::size_t item_start = pos_;
            std::string_view name = read_token();
            if (name.empty()) {
                return unexpected("where a parameter or auth scheme was expected");
            }
            skip_ows();
            if (peek() != '=') {
                pos_ = item_start;
                return {};
            }
            ++pos_;
            skip_ows();
            if (at_end() || peek() == ',') {
                return fail_at(item_start, "parameter '" + lower(name) + "' has no value");
            }
            if (auto r = read_param_value(challenge, name); !r) {
                return r;
            }
        }
    }

    result<void> read_param_value(auth_challenge& challenge, std::string_view raw_name) {
        std::size_t name_offset = static_cast<std::size_t>(raw_name.data() - text_.data());
        std::string name = lower(raw_name);
        std::string value;
        if (peek() == '"') {
            auto quoted = read_quoted();
            if (!quoted) {
                return quoted.error();
            }
            value = std::move(*quoted);
        } else {
            std::string_view token = read_token();
            if (token.empty()) {
                return unexpected("in the value of parameter '" + name + "'");
            }
            value = std::string(token);
        }
        if (!challenge.params.emplace(name, std::move(value)).second) {
            return fail_at(name_offset, "parameter '" + name + "' repeated in the " +
                                            challenge.scheme + " challenge");
        }
        return {};
    }

    // quoted-string, RFC 9110 §5.6.4.
    result<std::string> read_quoted() {
        std::size_t start = pos_;
        ++pos_;
        std::string out;
        while (!at_end()) {
            char c = text_[pos_++];
            if (c == '"') {
                return out;
            }
            if (c == '\\') {
                if (at_end()) {
                    break;
                }
                c = text_[pos_++];
            }
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                return fail_at(pos_ - 1, "control character " + describe(c) + " in quoted string");
            }
            out.push_back(c);
        }
        return fail_at(start, "unterminated quoted string starting");
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

result<std::vector<auth_challenge>> parse_www_authenticate(std::string_view header_value) {
    return parser(header_value).run();
}

const auth_challenge* pick_challenge(const std::vector<auth_challenge>& challenges) {
    for (std::string_view wanted : {"bearer", "basic"}) {
        for (const auto& challenge : challenges) {
            if (challenge.scheme == wanted) {
                return &challenge;
            }
        }
    }
    return nullptr;
}

}  // namespace hoist::net::registry
