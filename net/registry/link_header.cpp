// SPDX-License-Identifier: Apache-2.0
#include "net/registry/link_header.hpp"

#include "net/http_types.hpp"

namespace hoist::net::registry {
namespace {

// tchar, RFC 9110 §5.6.2.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

class parser {
public:
    explicit parser(std::string_view text) : text_(text) {}

    result<std::optional<std::string>> run() {
        std::optional<std::string> next;
        while (true) {
            while (!at_end() && (is_ows(peek()) || peek() == ',')) {
                ++pos_;
            }
            if (at_end()) {
                return next;
            }
            if (peek() != '<') {
                return error("expected '<' at the start of a link");
            }
            std::size_t close = text_.find('>', pos_ + 1);
            if (close == std::string_view::npos) {
                return error("unterminated '<' target");
            }
            std::string_view target = text_.substr(pos_ + 1, close - pos_ - 1);
            for (char c : target) {
                if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
                    return error("whitespace or control character in link target");
                }
            }
            std::size_t target_offset = pos_;
            pos_ = close + 1;
            auto rel = read_params();
            if (!rel) {
                return rel.error();
            }
            if (!next && has_next(*rel)) {
                if (target.empty()) {
                    pos_ = target_offset;
                    return error("rel=\"next\" link with an empty target");
                }
                next = std::string(target);
            }
        }
    }

private:
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    void skip_ows() {
        while (!at_end() && is_ows(peek())) {
            ++pos_;
        }
    }

    failure error(const std::string& what) const {
        return fail(errc::bad_response,
                    "Link header: " + what + " at offset " + std::to_string(pos_));
    }

    static bool has_next(std::string_view rel) {
        while (!rel.empty()) {
            std::size_t start = rel.find_first_not_of(" \t");
            if (start == std::string_view::npos) {
                break;
            }
            rel.remove_prefix(start);
            std::size_t end = rel.find_first_of(" \t");
            if (iequals(rel.substr(0, end), "next")) {
                return true;
            }
            rel.remove_prefix(end == std::string_view::npos ? rel.size() : end);
        }
        return false;
    }

    // *( OWS ";" OWS link-param ); returns the value of the first rel parameter.
    result<std::string> read_params() {
        std::optional<std::string> rel;
        while (true) {
            skip_ows();
            if (at_end() || peek() == ',') {
                return rel.value_or(std::string());
            }
            if (peek() != ';') {
                return error("expected ';' or ','");
            }
            ++pos_;
            skip_ows();
            std::size_t start = pos_;
            while (!at_end() && is_tchar(peek())) {
                ++pos_;
            }
            std::string_view name = text_.substr(start, pos_ - start);
            if (name.empty()) {
                return error("expected a parameter name");
            }
            skip_ows();
            std::string value;
            if (peek() == '=') {
                ++pos_;
                skip_ows();
                if (peek() == '"') {
                    auto quoted = read_quoted();
                    if (!quoted) {
                        return quoted.error();
                    }
                    value = std::move(*quoted);
                } else {
                    std::size_t value_start = pos_;
                    while (!at_end() && is_tchar(peek())) {
                        ++pos_;
                    }
                    if (pos_ == value_start) {
                        return error("parameter '" + std::string(name) + "' has no value");
                    }
                    value = std::string(text_.substr(value_start, pos_ - value_start));
                }
            }
            if (!rel && iequals(name, "rel")) {
                rel = std::move(value);
            }
        }
    }

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
            out.push_back(c);
        }
        pos_ = start;
        return error("unterminated quoted string");
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

result<std::optional<std::string>> next_link(std::string_view header_value) {
    return parser(header_value).run();
}

}  // namespace hoist::net::registry
