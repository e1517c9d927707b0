// SPDX-License-Identifier: Apache-2.0
#include "net/registry/manifest_parse.hpp"

#include "net/http_types.hpp"
#include "net/registry/media_types.hpp"

#include <simdjson.h>

namespace hoist::net::registry {
namespace {

// simdjson 3.0's document has no at_end(); past the last token current_location() says so.
bool at_end(simdjson::ondemand::document& doc) {
    const char* at = nullptr;
    return doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
}

// simdjson's message without its trailing period, to be followed by a position.
std::string json_message(simdjson::error_code e) {
    std::string out = simdjson::error_message(e);
    while (!out.empty() && (out.back() == '.' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

namespace ondemand = simdjson::ondemand;
using json_type = ondemand::json_type;

// Values from the body may be megabytes long; errors quote at most this much of them.
std::string quote(std::string_view s) {
    constexpr std::size_t limit = 80;
    std::string out = "\"";
    out += s.substr(0, limit);
    out += s.size() > limit ? "…\"" : "\"";
    return out;
}

bool is_lower_hex(std::string_view s) {
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

// Reads the fields hoist needs straight into owned structs; every simdjson error becomes
// errc::bad_response naming the field it was in.
class reader {
public:
    reader(ondemand::document& doc, const simdjson::padded_string& text) : doc_(doc), text_(text) {}

    failure bad(const std::string& what) const {
        return fail(errc::bad_response, "manifest: " + what);
    }

    failure malformed(simdjson::error_code e) const {
        std::string what = "malformed JSON";
        const char* at = nullptr;
        if (e != simdjson::INCOMPLETE_ARRAY_OR_OBJECT && !doc_.current_location().get(at) &&
            at >= text_.data() && at <= text_.data() + text_.size()) {
            what += " at offset " + std::to_string(at - text_.data());
        }
        return bad(what + ": " + json_message(e));
    }

    result<json_type> type_of(ondemand::value& v) const {
        json_type t;
        if (auto e = v.type().get(t)) {
            return malformed(e);
        }
        return t;
    }

    result<ondemand::object> object_of(ondemand::value& v, const std::string& where) const {
        auto t = type_of(v);
        if (!t) {
            return t.error();
        }
        ondemand::object object;
        if (*t != json_type::object) {
            return bad(where + " is not an object");
        }
        if (auto e = v.get_object().get(object)) {
            return malformed(e);
        }
        return object;
    }

    // Calls fn(key, value) for each member; fn returns result<void>.
    template <class Fn>
    result<void> for_each_member(ondemand::object& object, Fn&& fn) const {
        for (auto member : object) {
            ondemand::field field;
            std::string_view key;
            if (auto e = std::move(member).get(field)) {
                return malformed(e);
            }
            if (auto e = field.unescaped_key().get(key)) {
                return malformed(e);
            }
            if (auto r = fn(key, field.value()); !r) {
                return r;
            }
        }
        return {};
    }

    template <class Fn>
    result<void> for_each_element(ondemand::value& v, const std::string& where, Fn&& fn) const {
        auto t = type_of(v);
        if (!t) {
            return t.error();
        }
        if (*t == json_type::null) {
            return {};
        }
        ondemand::array array;
        if (*t != json_type::array) {
            return bad(where + " is not an array");
        }
        if (auto e = v.get_array().get(array)) {
            return malformed(e);
        }
        std::size_t index = 0;
        for (auto element : array) {
            ondemand::value value;
            if (auto e = std::move(element).get(value)) {
                return malformed(e);
            }
            if (auto r = fn(where + "[" + std::to_string(index++) + "]", value); !r) {
                return r;
            }
        }
        return {};
    }

    result<void> read_string(ondemand::value& v, std::string& out, const std::string& where) const {
        auto t = type_of(v);
        if (!t) {
            return t.error();
        }
        if (*t == json_type::null) {
            return {};
        }
        std::string_view s;
        if (*t != json_type::string) {
            return bad(where + " is not a string");
        }
        if (auto e = v.get_string().get(s)) {
            return malformed(e);
        }
        out = s;
        return {};
    }

    result<void> read_strings(ondemand::value& v, std::vector<std::string>& out,
                              const std::string& where) const {
        out.clear();
        return for_each_element(v, where, [&](const std::string& at, ondemand::value& element) {
            return read_string(element, out.emplace_back(), at);
        });
    }

    result<void> read_annotations(ondemand::value& v, std::map<std::string, std::string>& out,
                                  const std::string& where) const {
        out.clear();
        auto t = type_of(v);
        if (!t) {
            return t.error();
        }
        if (*t == json_type::null) {
            return {};
        }
        auto object = object_of(v, where);
        if (!object) {
            return object.error();
        }
        return for_each_member(*object, [&](std::string_view key, ondemand::value& value) {
            std::string at = where + "." + std::string(key);
            std::string text;
            if (auto r = read_string(value, text, at); !r) {
                return r;
            }
            out[std::string(key)] = std::move(text);
            return result<void>();
        });
    }

    result<std::int64_t> read_int(ondemand::value& v, const std::string& where) const {
        auto t = type_of(v);
        if (!t) {
            return t.error();
        }
        std::int64_t n = 0;
        if (*t != json_type::number || v.get_int64().get(n)) {
            return bad(where + " is not an integer");
        }
        return n;
    }

    result<platform> read_platform(ondemand::value& v, const std::string& where) const {
        auto object = object_of(v, where);
        if (!object) {
            return object.error();
        }
        platform out;
        auto r = for_each_member(*object, [&](std::string_view key, ondemand::value& value) {
            std::string at = where + "." + std::string(key);
            if (key == "architecture") {
                return read_string(value, out.architecture, at);
            }
            if (key == "os") {
                return read_string(value, out.os, at);
            }
            if (key == "os.version") {
                return read_string(value, out.os_version, at);
            }
            if (key == "os.features") {
                return read_strings(value, out.os_features, at);
            }
            if (key == "variant") {
                return read_string(value, out.variant, at);
            }
            if (key == "features") {
                return read_strings(value, out.features, at);
            }
            return result<void>();
        });
        if (!r) {
            return r.error();
        }
        return out;
    }

    result<descriptor> read_descriptor(ondemand::value& v, const std::string& where) const {
        auto object = object_of(v, where);
        if (!object) {
            return object.error();
        }
        descriptor out;
        bool has_size = false;
        auto r = for_each_member(*object, [&](std::string_view key, ondemand::value& value) {
            std::string at = where + "." + std::string(key);
            if (key == "mediaType") {
                return read_string(value, out.media_type, at);
            }
            if (key == "digest") {
                return read_string(value, out.digest, at);
            }
            if (key == "size") {
                auto size = read_int(value, at);
                if (!size) {
                    return result<void>(size.error());
                }
                out.size = *size;
                has_size = true;
                return result<void>();
            }
            if (key == "urls") {
                return read_strings(value, out.urls, at);
            }
            if (key == "platform") {
                auto t = type_of(value);
                if (!t) {
                    return result<void>(t.error());
                }
                if (*t == json_type::null) {
                    out.platform.reset();
                    return result<void>();
                }
                auto p = read_platform(value, at);
                if (!p) {
                    return result<void>(p.error());
                }
                out.platform = std::move(*p);
                return result<void>();
            }
            if (key == "artifactType") {
                return read_string(value, out.artifact_type, at);
            }
            if (key == "annotations") {
                return read_annotations(value, out.annotations, at);
            }
            return result<void>();
        });
        if (!r) {
            return r.error();
        }
        if (out.media_type.empty()) {
            return bad(where + " has no mediaType");
        }
        if (out.digest.empty()) {
            return bad(where + " has no digest");
        }
        if (!is_valid_digest(out.digest)) {
            return bad(where + ".digest " + quote(out.digest) +
                       " is not sha256:<64 hex> or sha512:<128 hex>");
        }
        if (!has_size) {
            return bad(where + " has no size");
        }
        if (out.size < 0) {
            return bad(where + ".size is negative");
        }
        return out;
    }

    result<void> read_descriptors(ondemand::value& v, std::vector<descriptor>& out,
                                  const std::string& where) const {
        out.clear();
        return for_each_element(v, where, [&](const std::string& at, ondemand::value& element) {
            auto d = read_descriptor(element, at);
            if (!d) {
                return result<void>(d.error());
            }
            out.push_back(std::move(*d));
            return result<void>();
        });
    }

    // Sets `present` unless the value is null; reads an optional descriptor.
    result<void> read_optional_descriptor(ondemand::value& v, std::optional<descriptor>& out,
                                          const std::string& where) const {
        auto t = type_of(v);
        if (!t) {
            return t.error();
        }
        if (*t == json_type::null) {
            out.reset();
            return {};
        }
        auto d = read_descriptor(v, where);
        if (!d) {
            return d.error();
        }
        out = std::move(*d);
        return {};
    }

private:
    ondemand::document& doc_;
    const simdjson::padded_string& text_;
};

// Small manifests reuse one parser per thread (C11); a rare large one gets its own so the
// thread's parser does not keep megabytes of buffers for the rest of the run.
constexpr std::size_t shared_parser_limit = 256 * 1024;

failure unsupported(std::string_view type) {
    if (is_schema1_manifest(type)) {
        return fail(errc::unsupported_media_type,
                    "manifest: Docker schema 1 (" + std::string(media_type_essence(type)) +
                        ") is not supported; push the image again with a current client to "
                        "get a schema 2 or OCI manifest");
    }
    return fail(errc::unsupported_media_type,
                "manifest: media type " + quote(type) +
                    " is not an OCI image manifest or index, nor a Docker schema 2 manifest or "
                    "manifest list");
}

bool is_generic_type(std::string_view type) {
    return type.empty() || iequals(type, "application/json") ||
           iequals(type, "application/octet-stream");
}

}  // namespace

bool parsed_manifest::is_index() const {
    return registry::is_index(media_type);
}

bool is_valid_digest(std::string_view digest) {
    if (digest.starts_with("sha256:")) {
        return digest.size() == 7 + 64 && is_lower_hex(digest.substr(7));
    }
    if (digest.starts_with("sha512:")) {
        return digest.size() == 7 + 128 && is_lower_hex(digest.substr(7));
    }
    return false;
}

result<parsed_manifest> parse_manifest(std::string_view body, std::string_view content_type) {
    if (body.size() > max_manifest_size) {
        return fail(errc::manifest_too_large, "manifest: " + std::to_string(body.size()) +
                                                  " bytes, over the limit of " +
                                                  std::to_string(max_manifest_size));
    }
    std::string_view header_type = media_type_essence(content_type);
    if (is_schema1_manifest(header_type)) {
        return unsupported(header_type);
    }

    simdjson::padded_string text(body);
    thread_local ondemand::parser shared_parser;
    std::optional<ondemand::parser> own_parser;
    ondemand::parser& parser =
        body.size() <= shared_parser_limit ? shared_parser : own_parser.emplace();
    ondemand::document doc;
    if (auto e = parser.iterate(text).get(doc)) {
        return fail(errc::bad_response, "manifest: malformed JSON: " + json_message(e));
    }
    reader in(doc, text);
    ondemand::object object;
    {
        ondemand::json_type t;
        if (auto e = doc.type().get(t)) {
            return in.malformed(e);
        }
        if (t != json_type::object) {
            return in.bad("not a JSON object");
        }
        if (auto e = doc.get_object().get(object)) {
            return in.malformed(e);
        }
    }

    parsed_manifest out;
    std::string body_type;
    bool has_schema_version = false;
    bool has_config = false;
    bool has_layers = false;
    bool has_manifests = false;
    auto r = in.for_each_member(object, [&](std::string_view key, ondemand::value& value) {
        auto present = [&]() -> result<bool> {
            auto t = in.type_of(value);
            if (!t) {
                return t.error();
            }
            return *t != json_type::null;
        };
        if (key == "schemaVersion") {
            auto n = in.read_int(value, "schemaVersion");
            if (!n) {
                return result<void>(n.error());
            }
            // Anything but 1 and 2 is rejected below; keep the cast from wrapping into them.
            out.schema_version = (*n >= 0 && *n <= 1000) ? static_cast<int>(*n) : 1000;
            has_schema_version = true;
            return result<void>();
        }
        if (key == "mediaType") {
            return in.read_string(value, body_type, "mediaType");
        }
        if (key == "config") {
            auto p = present();
            if (!p) {
                return result<void>(p.error());
            }
            has_config = *p;
            return in.read_optional_descriptor(value, out.config, "config");
        }
        if (key == "layers") {
            auto p = present();
            if (!p) {
                return result<void>(p.error());
            }
            has_layers = *p;
            return in.read_descriptors(value, out.layers, "layers");
        }
        if (key == "manifests") {
            auto p = present();
            if (!p) {
                return result<void>(p.error());
            }
            has_manifests = *p;
            return in.read_descriptors(value, out.manifests, "manifests");
        }
        if (key == "subject") {
            return in.read_optional_descriptor(value, out.subject, "subject");
        }
        if (key == "artifactType") {
            return in.read_string(value, out.artifact_type, "artifactType");
        }
        if (key == "annotations") {
            return in.read_annotations(value, out.annotations, "annotations");
        }
        return result<void>();
    });
    if (!r) {
        return r.error();
    }
    if (!at_end(doc)) {
        return in.bad("malformed JSON: content after the top-level object");
    }

    if (out.schema_version == 1 || is_schema1_manifest(body_type)) {
        return unsupported(is_schema1_manifest(body_type) ? body_type
                                                          : media_type::docker_schema1_manifest);
    }
    if (!has_schema_version) {
        return in.bad("no schemaVersion");
    }
    if (out.schema_version != 2) {
        return in.bad("schemaVersion " + std::to_string(out.schema_version) + " is not 2");
    }

    if (!body_type.empty()) {
        out.media_type = body_type;
    } else if (!is_generic_type(header_type)) {
        out.media_type = header_type;
    } else if (has_manifests && !has_config && !has_layers) {
        out.media_type = media_type::oci_index;
    } else if (has_config && !has_manifests) {
        out.media_type = media_type::oci_manifest;
    } else {
        return in.bad(
            "no mediaType, and the fields do not tell an index (manifests) from an image "
            "manifest (config, layers)");
    }
    if (!is_known_manifest(out.media_type)) {
        return unsupported(out.media_type);
    }

    if (is_index(out.media_type)) {
        if (has_config || has_layers) {
            return in.bad("an index (" + out.media_type + ") with config or layers");
        }
        if (!has_manifests) {
            return in.bad("an index (" + out.media_type + ") without manifests");
        }
    } else {
        if (has_manifests) {
            return in.bad("an image manifest (" + out.media_type + ") with manifests");
        }
        if (!has_config) {
            return in.bad("an image manifest (" + out.media_type + ") without config");
        }
        if (!has_layers) {
            return in.bad("an image manifest (" + out.media_type + ") without layers");
        }
    }
    return out;
}

}  // namespace hoist::net::registry
