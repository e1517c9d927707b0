// SPDX-License-Identifier: Apache-2.0
#include "crypto/detail/json_io.hpp"

#include "crypto/detail/base64_any.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

namespace hoist::crypto::detail {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_unicode_escape(std::string& out, unsigned code) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out.push_back(hex_digits[(code >> shift) & 0xf]);
    }
}

bool is_continuation(unsigned char byte, unsigned char low = 0x80, unsigned char high = 0xbf) {
    return byte >= low && byte <= high;
}

// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode table 3-7, which
// Go's utf8.DecodeRuneInString follows: no overlong forms, surrogates or values past
// U+10FFFF), or 0 when it is not well formed.
std::size_t utf8_sequence_length(std::string_view text) {
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = at(0);
    if (lead >= 0xc2 && lead <= 0xdf) {
        return text.size() >= 2 && is_continuation(at(1)) ? 2 : 0;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
        const unsigned char low = lead == 0xe0 ? 0xa0 : 0x80;
        const unsigned char high = lead == 0xed ? 0x9f : 0xbf;
        return text.size() >= 3 && is_continuation(at(1), low, high) && is_continuation(at(2)) ? 3
                                                                                               : 0;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        const unsigned char low = lead == 0xf0 ? 0x90 : 0x80;
        const unsigned char high = lead == 0xf4 ? 0x8f : 0xbf;
        return text.size() >= 4 && is_continuation(at(1), low, high) && is_continuation(at(2)) &&
                       is_continuation(at(3))
                   ? 4
                   : 0;
    }
    return 0;
}

void append_ascii(std::string& out, unsigned char byte) {
    switch (byte) {
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '\b':  // short forms for \b and \f since Go 1.22, as cosign is built now
            out += "\\b";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        case '<':  // Go's HTML-safe escaping, on by default in json.Marshal
        case '>':
        case '&':
            append_unicode_escape(out, byte);
            return;
        default:
            if (byte < 0x20) {
                append_unicode_escape(out, byte);
            } else {
                out.push_back(static_cast<char>(byte));
            }
    }
}

void append_go_float(std::string& out, double number) {
    if (!std::isfinite(number)) {
        throw std::invalid_argument("JSON cannot represent NaN or infinity");
    }
    const double magnitude = std::fabs(number);
    const bool exponent_form = magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21);
    char buffer[64];
    const auto converted =
        std::to_chars(buffer, buffer + sizeof buffer, number,
                      exponent_form ? std::chars_format::scientific : std::chars_format::fixed);
    std::string text(buffer, converted.ptr);
    // Go writes "1e-7" where C++ writes "1e-07"; positive exponents agree ("1e+21").
    const std::size_t n = text.size();
    if (exponent_form && n >= 4 && text[n - 4] == 'e' && text[n - 3] == '-' && text[n - 2] == '0') {
        text.erase(n - 2, 1);
    }
    out += text;
}

template <class Json>
void append_value(std::string& out, const Json& value) {
    using value_t = nlohmann::json::value_t;
    switch (value.type()) {
        case value_t::null:
            out += "null";
            return;
        case value_t::boolean:
            out += value.template get<bool>() ? "true" : "false";
            return;
        case value_t::number_integer:
            out += std::to_string(value.template get<std::int64_t>());
            return;
        case value_t::number_unsigned:
            out += std::to_string(value.template get<std::uint64_t>());
            return;
        case value_t::number_float:
            append_go_float(out, value.template get<double>());
            return;
        case value_t::string:
            append_go_string(out, value.template get_ref<const std::string&>());
            return;
        case value_t::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& element : value) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_value(out, element);
            }
            out.push_back(']');
            return;
        }
        case value_t::object: {
            out.push_back('{');
            bool first = true;
            for (const auto& [key, member] :
                 value.template get_ref<const typename Json::object_t&>()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_go_string(out, key);
                out.push_back(':');
                append_value(out, member);
            }
            out.push_back('}');
            return;
        }
        case value_t::binary:
        case value_t::discarded:
            break;
    }
    throw std::invalid_argument("value has no JSON text form");
}

}  // namespace

std::optional<nlohmann::json> parse_json(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) {
        return std::nullopt;  // nlohmann skips a byte-order mark silently
    }
    bool rejected = false;
    std::vector<std::set<std::string>> keys_of_open_objects;
    const auto check = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using event_t = nlohmann::json::parse_event_t;
        if (rejected) {
            return false;
        }
        switch (event) {
            case event_t::object_start:
            case event_t::array_start:
                if (depth >= max_json_depth) {
                    rejected = true;
                    return false;
                }
                if (event == event_t::object_start) {
                    keys_of_open_objects.emplace_back();
                }
                return true;
            case event_t::key:
                // Key events come only from the innermost open object: arrays have none.
                if (!keys_of_open_objects.back()
                         .insert(parsed.get_ref<const std::string&>())
                         .second) {
                    rejected = true;
                    return false;
                }
                return true;
            case event_t::object_end:
                keys_of_open_objects.pop_back();
                return true;
            case event_t::array_end:
            case event_t::value:
                return true;
        }
        return true;
    };
    auto document = nlohmann::json::parse(text.begin(), text.end(), check,
                                          /*allow_exceptions=*/false);
    if (rejected || document.is_discarded()) {
        return std::nullopt;
    }
    return document;
}

std::optional<std::string> base64_member(const nlohmann::json& object, const char* name) {
    const auto member = object.find(name);
    if (member == object.end() || !member->is_string()) {
        return std::nullopt;
    }
    return decode_base64_any(member->get_ref<const std::string&>());
}

void append_go_string(std::string& out, std::string_view text) {
    out.push_back('"');
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            append_ascii(out, byte);
            ++i;
            continue;
        }
        const std::size_t length = utf8_sequence_length(text.substr(i));
        if (length == 0) {
            out += "\\ufffd";  // Go replaces each invalid byte
            ++i;
            continue;
        }
        // U+2028 and U+2029 are valid JSON but end a line in JavaScript; Go escapes them.
        const std::string_view sequence = text.substr(i, length);
        if (sequence == "\xE2\x80\xA8" || sequence == "\xE2\x80\xA9") {
            append_unicode_escape(out, sequence == "\xE2\x80\xA8" ? 0x2028 : 0x2029);
        } else {
            out.append(sequence);
        }
        i += length;
    }
    out.push_back('"');
}

void append_go_json(std::string& out, const nlohmann::json& value) {
    append_value(out, value);
}

void append_go_json(std::string& out, const nlohmann::ordered_json& value) {
    append_value(out, value);
}

}  // namespace hoist::crypto::detail
