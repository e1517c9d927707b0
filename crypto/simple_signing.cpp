// SPDX-License-Identifier: Apache-2.0
#include "crypto/simple_signing.hpp"

#include "crypto/detail/digest_syntax.hpp"
#include "crypto/detail/json_io.hpp"

#include <cmath>
#include <initializer_list>
#include <limits>

namespace hoist::crypto {
namespace {

using json = nlohmann::json;

bool has_exactly(const json& value, std::initializer_list<const char*> names) {
    if (!value.is_object() || value.size() != names.size()) {
        return false;
    }
    for (const char* name : names) {
        if (!value.contains(name)) {
            return false;
        }
    }
    return true;
}

// containers/image reads the timestamp as a float64 and accepts it when it has no fraction.
std::optional<std::int64_t> integral_value(const json& value) {
    if (value.is_number_integer() && !value.is_number_unsigned()) {
        return value.get<std::int64_t>();
    }
    if (value.is_number_unsigned()) {
        const auto number = value.get<std::uint64_t>();
        if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(number);
    }
    if (value.is_number_float()) {
        const double number = value.get<double>();
        constexpr double limit = 9223372036854775808.0;  // 2^63
        if (std::trunc(number) != number || number < -limit || number >= limit) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(number);
    }
    return std::nullopt;
}

}  // namespace

std::string simple_signing_payload(std::string_view docker_reference,
                                   std::string_view manifest_digest,
                                   const std::map<std::string, std::string>& optional) {
    std::string out = R"({"critical":{"identity":{"docker-reference":)";
    detail::append_go_string(out, docker_reference);
    out += R"(},"image":{"docker-manifest-digest":)";
    detail::append_go_string(out, manifest_digest);
    out += R"(},"type":)";
    detail::append_go_string(out, simple_signing_type);
    out += R"(},"optional":)";
    if (optional.empty()) {
        out += "null";
    } else {
        detail::append_go_json(out, json(optional));
    }
    out += '}';
    return out;
}

result<simple_signing_claims> parse_simple_signing_payload(std::string_view payload) {
    const auto bad = make_error_code(errc::bad_document);
    const auto document = detail::parse_json(payload);
    if (!document || !has_exactly(*document, {"critical", "optional"})) {
        return bad;
    }
    const json& critical = (*document)["critical"];
    if (!has_exactly(critical, {"type", "image", "identity"})) {
        return bad;
    }
    const json& type = critical["type"];
    const json& image = critical["image"];
    const json& identity = critical["identity"];
    if (!type.is_string() || !has_exactly(image, {"docker-manifest-digest"}) ||
        !image["docker-manifest-digest"].is_string() ||
        !has_exactly(identity, {"docker-reference"}) || !identity["docker-reference"].is_string()) {
        return bad;
    }
    if (type.get_ref<const std::string&>() != simple_signing_type) {
        return make_error_code(errc::unsupported_document);
    }
    if (!detail::is_image_digest(image["docker-manifest-digest"].get_ref<const std::string&>())) {
        return bad;
    }
    simple_signing_claims claims{identity["docker-reference"].get<std::string>(),
                                 image["docker-manifest-digest"].get<std::string>(),
                                 {},
                                 std::nullopt};
    const json& optional = (*document)["optional"];
    if (optional.is_null()) {
        return claims;
    }
    if (!optional.is_object()) {
        return bad;
    }
    for (const auto& [key, value] : optional.items()) {
        if (key == "timestamp") {
            claims.timestamp = integral_value(value);
            if (!claims.timestamp) {
                return bad;
            }
        } else if (value.is_string()) {
            claims.optional.emplace(key, value.get<std::string>());
        } else if (key == "creator") {
            return bad;
        }
    }
    return claims;
}

}  // namespace hoist::crypto
