// SPDX-License-Identifier: Apache-2.0
#include "net/registry/listing.hpp"

#include <simdjson.h>

namespace hoist::net::registry {
namespace {

failure malformed(std::string_view what, simdjson::error_code e) {
    return fail(errc::bad_response,
                "malformed " + std::string(what) + ": " + simdjson::error_message(e));
}

// Appends the strings of a JSON array (null counts as empty).
simdjson::error_code read_strings(simdjson::ondemand::value value, std::vector<std::string>& out) {
    if (value.is_null()) {
        return simdjson::SUCCESS;
    }
    simdjson::ondemand::array array;
    if (auto e = value.get_array().get(array)) {
        return e;
    }
    for (auto element : array) {
        std::string_view text;
        if (auto e = element.get_string().get(text)) {
            return e;
        }
        out.emplace_back(text);
    }
    return simdjson::SUCCESS;
}

}  // namespace

result<tag_page> parse_tag_page(std::string_view json) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(json);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object root;
    if (auto e = parser.iterate(padded).get(doc); e || (e = doc.get_object().get(root))) {
        return malformed("tag list", e);
    }
    tag_page page;
    for (auto field : root) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) {
            return malformed("tag list", e);
        }
        if (key == "tags") {
            if (auto e = read_strings(field.value(), page.tags)) {
                return malformed("tag list \"tags\"", e);
            }
        } else if (key == "manifest") {
            simdjson::ondemand::object manifests;
            if (auto e = field.value().get_object().get(manifests)) {
                return malformed("tag list \"manifest\"", e);
            }
            page.has_digest_map = true;
            for (auto entry : manifests) {
                std::string_view digest;
                if (auto e = entry.unescaped_key().get(digest)) {
                    return malformed("tag list \"manifest\"", e);
                }
                auto& tags = page.tags_by_digest[std::string(digest)];
                simdjson::ondemand::object details;
                if (auto e = entry.value().get_object().get(details)) {
                    return malformed("tag list \"manifest\"", e);
                }
                for (auto detail : details) {
                    std::string_view name;
                    if (auto e = detail.unescaped_key().get(name)) {
                        return malformed("tag list \"manifest\"", e);
                    }
                    if (name == "tag") {
                        if (auto e = read_strings(detail.value(), tags)) {
                            return malformed("tag list \"manifest\" tags", e);
                        }
                    }
                }
            }
        }
    }
    return page;
}

result<std::vector<std::string>> parse_catalog_page(std::string_view json) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(json);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object root;
    if (auto e = parser.iterate(padded).get(doc); e || (e = doc.get_object().get(root))) {
        return malformed("catalog", e);
    }
    std::vector<std::string> repositories;
    for (auto field : root) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) {
            return malformed("catalog", e);
        }
        if (key == "repositories") {
            if (auto e = read_strings(field.value(), repositories)) {
                return malformed("catalog \"repositories\"", e);
            }
        }
    }
    return repositories;
}

}  // namespace hoist::net::registry
