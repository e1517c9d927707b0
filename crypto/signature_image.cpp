// SPDX-License-Identifier: Apache-2.0
#include "crypto/signature_image.hpp"

#include "crypto/detail/digest_syntax.hpp"
#include "crypto/detail/json_io.hpp"
#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "crypto/simple_signing.hpp"

#include <limits>

namespace hoist::crypto {
namespace {

using json = nlohmann::json;

bool is_sha256_digest(std::string_view digest) {
    return digest.starts_with("sha256:") && detail::is_lower_hex(digest.substr(7), 64);
}

// go-containerregistry's empty image with layers appended; every field of its ConfigFile
// that is not omitempty appears, in struct order, with zero values.
std::string config_json(const std::vector<signature_layer>& layers) {
    constexpr std::string_view zero_time = R"("0001-01-01T00:00:00Z")";
    std::string out = R"({"architecture":"","created":)";
    out += zero_time;
    out += R"(,"history":[)";
    for (std::size_t i = 0; i < layers.size(); ++i) {
        out += i > 0 ? R"(,{"created":)" : R"({"created":)";
        out += zero_time;
        out += '}';
    }
    out += R"(],"os":"","rootfs":{"type":"layers","diff_ids":[)";
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        detail::append_go_string(out, layers[i].digest);
    }
    out += R"(]},"config":{}})";
    return out;
}

void append_descriptor(std::string& out, std::string_view media_type, std::int64_t size,
                       std::string_view digest) {
    out += R"({"mediaType":)";
    detail::append_go_string(out, media_type);
    out += R"(,"size":)";
    out += std::to_string(size);
    out += R"(,"digest":)";
    detail::append_go_string(out, digest);
}

void append_layer(std::string& out, const signature_layer& layer) {
    append_descriptor(out, layer.media_type, layer.size, layer.digest);
    if (!layer.annotations.empty()) {
        out += R"(,"annotations":)";
        detail::append_go_json(out, json(layer.annotations));
    }
    for (const auto& [name, value] : layer.other_members) {
        out += ',';
        detail::append_go_string(out, name);
        out += ':';
        out += value;
    }
    out += '}';
}

std::optional<std::int64_t> descriptor_size(const json& value) {
    if (value.is_number_unsigned()) {
        const auto size = value.get<std::uint64_t>();
        if (size <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return static_cast<std::int64_t>(size);
        }
    }
    return std::nullopt;  // negative (number_integer) or fractional
}

result<signature_layer> parse_layer(const json& entry) {
    const auto bad = make_error_code(errc::bad_document);
    if (!entry.is_object()) {
        return bad;
    }
    signature_layer layer;
    for (const auto& [name, value] : entry.items()) {
        if (name == "mediaType" && value.is_string()) {
            layer.media_type = value.get<std::string>();
        } else if (name == "size") {
            const auto size = descriptor_size(value);
            if (!size) {
                return bad;
            }
            layer.size = *size;
        } else if (name == "digest" && value.is_string()) {
            layer.digest = value.get<std::string>();
        } else if (name == "annotations" && value.is_object()) {
            for (const auto& [key, text] : value.items()) {
                if (!text.is_string()) {
                    return bad;
                }
                layer.annotations.emplace(key, text.get<std::string>());
            }
        } else if (name == "mediaType" || name == "digest" || name == "annotations") {
            return bad;  // a known member of the wrong type
        } else {
            std::string text;
            detail::append_go_json(text, value);
            layer.other_members.emplace(name, std::move(text));
        }
    }
    if (layer.media_type.empty() || !entry.contains("size") || !is_sha256_digest(layer.digest)) {
        return bad;
    }
    return layer;
}

}  // namespace

signature_layer simple_signing_layer(std::string_view payload, std::string_view der_signature,
                                     std::map<std::string, std::string> extra_annotations) {
    extra_annotations.insert_or_assign(std::string(cosign_signature_annotation),
                                       base64_encode(der_signature));
    return signature_layer{std::string(simple_signing_media_type),
                           static_cast<std::int64_t>(payload.size()),
                           digest_of(payload),
                           std::move(extra_annotations),
                           {}};
}

result<signature_image> build_signature_image(const std::vector<signature_layer>& layers) {
    if (layers.size() > max_signature_layers) {
        return make_error_code(errc::limit_exceeded);
    }
    if (layers.empty()) {
        return make_error_code(errc::invalid_argument);
    }
    for (const auto& layer : layers) {
        if (layer.media_type.empty() || layer.size < 0 || !is_sha256_digest(layer.digest)) {
            return make_error_code(errc::invalid_argument);
        }
    }
    signature_image image;
    image.config = config_json(layers);
    image.manifest = R"({"schemaVersion":2,"mediaType":)";
    detail::append_go_string(image.manifest, oci_manifest_media_type);
    image.manifest += R"(,"config":)";
    append_descriptor(image.manifest, oci_config_media_type,
                      static_cast<std::int64_t>(image.config.size()), digest_of(image.config));
    image.manifest += R"(},"layers":[)";
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (i > 0) {
            image.manifest += ',';
        }
        append_layer(image.manifest, layers[i]);
    }
    image.manifest += "]}";
    return image;
}

result<signature_manifest> parse_signature_manifest(std::string_view json_text) {
    const auto bad = make_error_code(errc::bad_document);
    const auto document = detail::parse_json(json_text);
    if (!document || !document->is_object()) {
        return bad;
    }
    const auto version = document->find("schemaVersion");
    const auto layers = document->find("layers");
    const auto config = document->find("config");
    if (version == document->end() || !version->is_number_integer() || *version != 2 ||
        layers == document->end() || !layers->is_array() || config == document->end() ||
        !config->is_object()) {
        return bad;
    }
    signature_manifest manifest;
    if (const auto media_type = document->find("mediaType"); media_type != document->end()) {
        if (!media_type->is_string()) {
            return bad;
        }
        manifest.media_type = media_type->get<std::string>();
        if (manifest.media_type != oci_manifest_media_type &&
            manifest.media_type != docker_manifest_media_type) {
            return make_error_code(errc::unsupported_document);
        }
    }
    if (layers->size() > max_signature_layers) {
        return make_error_code(errc::limit_exceeded);
    }
    for (const auto& entry : *layers) {
        auto layer = parse_layer(entry);
        if (!layer) {
            return layer.error();
        }
        manifest.layers.push_back(std::move(*layer));
    }
    return manifest;
}

}  // namespace hoist::crypto
