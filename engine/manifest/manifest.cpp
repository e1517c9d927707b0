// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/manifest.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <unordered_map>

namespace hoist::engine {
namespace {

using kind = yaml_node::kind;

class decoder {
public:
    decoder(const std::string& file, diagnostics& problems) : file_(file), problems_(problems) {}

    void fail(source_position at, std::string message) {
        problems_.add(file_, at, std::move(message));
    }

    void wrong_kind(const yaml_node& node, std::string_view where, std::string_view expected) {
        fail(node.at, std::string(where) + ": expected " + std::string(expected) + ", found " +
                          std::string(describe(node)));
    }

    /// Calls `field(key, value)` for each known key; unknown keys are errors that name the
    /// keys allowed there.
    template <std::size_t N, typename Field>
    bool fields(const yaml_node& node, std::string_view where,
                const std::array<std::string_view, N>& known, Field field) {
        if (node.type != kind::mapping) {
            std::string expected = "a mapping with keys ";
            append_names(expected, known);
            wrong_kind(node, where, expected);
            return false;
        }
        for (std::size_t i = 0; i < node.mapping_size(); ++i) {
            const yaml_node& key = node.key(i);
            bool found = false;
            for (std::string_view name : known) {
                if (key.text == name) {
                    found = true;
                    field(key.text, key, node.value(i));
                    break;
                }
            }
            if (!found) {
                std::string message(where);
                message += ": unknown key \"" + key.text + "\"; expected one of ";
                append_names(message, known);
                fail(key.at, std::move(message));
            }
        }
        return true;
    }

    /// A string field. Plain scalars keep their text, as yaml.v2 does for string fields
    /// (so `1.0` stays "1.0"); null is the empty string.
    std::string string_value(const yaml_node& node, std::string_view where) {
        if (node.type == kind::scalar) {
            return node.text;
        }
        if (node.type != kind::null) {
            wrong_kind(node, where, "a string");
        }
        return {};
    }

    bool bool_value(const yaml_node& node, std::string_view where) {
        if (node.type == kind::null) {
            return false;
        }
        if (node.type == kind::scalar && !node.quoted) {
            // YAML 1.1 booleans, as yaml.v2 reads them.
            static constexpr std::array<std::string_view, 11> yes{
                "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
            static constexpr std::array<std::string_view, 11> no{
                "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
            for (auto word : yes) {
                if (node.text == word) {
                    return true;
                }
            }
            for (auto word : no) {
                if (node.text == word) {
                    return false;
                }
            }
        }
        wrong_kind(node, where, "true or false");
        return false;
    }

    std::vector<registry_entry> registries(const yaml_node& node) {
        std::vector<registry_entry> result;
        if (node.type == kind::null) {
            return result;
        }
        if (node.type != kind::sequence) {
            wrong_kind(node, "registries", "a list of registries");
            registries_malformed = true;
            return result;
        }
        static constexpr std::array<std::string_view, 3> known{"name", "src", "service-account"};
        for (const yaml_node& item : node.items) {
            registry_entry entry;
            entry.at = item.at;
            std::size_t before = problems_.size();
            entry.malformed =
                !fields(item, "registry", known,
                        [&](const std::string& key, const yaml_node&, const yaml_node& value) {
                            if (key == "name") {
                                entry.name = string_value(value, "registry name");
                            } else if (key == "src") {
                                entry.src = bool_value(value, "registry src");
                            } else {
                                entry.service_account = string_value(value, "service-account");
                            }
                        });
            entry.malformed = entry.malformed || problems_.size() != before;
            result.push_back(std::move(entry));
        }
        return result;
    }

    std::vector<image_entry> images(const yaml_node& node) {
        std::vector<image_entry> result;
        if (node.type == kind::null) {
            return result;
        }
        if (node.type != kind::sequence) {
            wrong_kind(node, "images", "a list of images (- name: ..., dmap: ...)");
            return result;
        }
        result.reserve(node.items.size());
        static constexpr std::array<std::string_view, 2> known{"name", "dmap"};
        for (const yaml_node& item : node.items) {
            image_entry entry;
            entry.at = item.at;
            bool saw_dmap = false;
            fields(item, "image", known,
                   [&](const std::string& key, const yaml_node&, const yaml_node& value) {
                       if (key == "name") {
                           entry.name = string_value(value, "image name");
                       } else {
                           saw_dmap = true;
                           entry.dmap_null = value.type == kind::null;
                           dmap(value, entry);
                       }
                   });
            if (!saw_dmap) {
                entry.dmap_null = true;
            }
            result.push_back(std::move(entry));
        }
        return result;
    }

    void dmap(const yaml_node& node, image_entry& image) {
        if (node.type == kind::null) {
            return;
        }
        if (node.type != kind::mapping) {
            wrong_kind(node, "dmap", "a mapping of \"sha256:<hex>\" to a list of tags");
            image.dmap_malformed = true;
            return;
        }
        image.dmap.reserve(node.mapping_size());
        for (std::size_t i = 0; i < node.mapping_size(); ++i) {
            digest_entry entry;
            entry.digest = node.key(i).text;
            entry.at = node.key(i).at;
            const yaml_node& tags = node.value(i);
            if (tags.type == kind::sequence) {
                entry.tags.reserve(tags.items.size());
                entry.tag_at.reserve(tags.items.size());
                for (const yaml_node& tag : tags.items) {
                    if (tag.type != kind::scalar) {
                        wrong_kind(tag, "tag", "a string");
                        continue;
                    }
                    entry.tags.push_back(tag.text);
                    entry.tag_at.push_back(tag.at);
                }
            } else if (tags.type != kind::null) {
                wrong_kind(tags, "tags of " + entry.digest,
                           "a list of tags ([] or null for a digest promoted without tags)");
            }
            image.dmap.push_back(std::move(entry));
        }
    }

private:
    template <std::size_t N>
    static void append_names(std::string& out, const std::array<std::string_view, N>& names) {
        for (std::size_t i = 0; i < N; ++i) {
            if (i != 0) {
                out += i + 1 == N ? " and " : ", ";
            }
            out += '"';
            out += names[i];
            out += '"';
        }
    }

public:
    bool registries_malformed = false;

private:
    const std::string& file_;
    diagnostics& problems_;
};

std::string base_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

const registry_entry* promotion_manifest::source() const {
    for (const auto& registry : registries) {
        if (registry.src) {
            return &registry;
        }
    }
    return nullptr;
}

promotion_manifest decode_plain_manifest(const yaml_document& document, const std::string& file,
                                         diagnostics& problems) {
    promotion_manifest manifest;
    manifest.file = file;
    manifest.images_file = file;
    manifest.project = base_name(file);
    if (!document.root) {
        return manifest;  // empty: reported as "registries cannot be empty" by validation
    }
    decoder d(file, problems);
    static constexpr std::array<std::string_view, 2> known{"registries", "images"};
    bool mapping = d.fields(*document.root, "manifest", known,
                            [&](const std::string& key, const yaml_node&, const yaml_node& value) {
                                if (key == "registries") {
                                    manifest.registries = d.registries(value);
                                } else {
                                    manifest.images = d.images(value);
                                }
                            });
    manifest.registries_malformed = d.registries_malformed || !mapping;
    return manifest;
}

promotion_manifest decode_thin_manifest(const yaml_document& document, const std::string& file,
                                        diagnostics& problems) {
    promotion_manifest manifest;
    manifest.file = file;
    if (!document.root) {
        return manifest;
    }
    decoder d(file, problems);
    static constexpr std::array<std::string_view, 2> known{"registries", "imagesPath"};
    bool mapping = d.fields(*document.root, "promoter manifest", known,
                            [&](const std::string& key, const yaml_node&, const yaml_node& value) {
                                if (key == "registries") {
                                    manifest.registries = d.registries(value);
                                } else {
                                    // Deprecated and ignored, as in kpromo: the images file's place
                                    // is fixed.
                                    d.string_value(value, "imagesPath");
                                }
                            });
    manifest.registries_malformed = d.registries_malformed || !mapping;
    return manifest;
}

std::vector<image_entry> decode_images(const yaml_document& document, const std::string& file,
                                       diagnostics& problems) {
    if (!document.root) {
        return {};
    }
    decoder d(file, problems);
    return d.images(*document.root);
}

void merge_repeated_images(promotion_manifest& manifest) {
    std::unordered_map<std::string, std::size_t> first_entry;
    std::vector<image_entry> merged;
    merged.reserve(manifest.images.size());
    for (auto& image : manifest.images) {
        auto [it, inserted] = first_entry.try_emplace(image.name, merged.size());
        if (inserted) {
            merged.push_back(std::move(image));
            continue;
        }
        image_entry& into = merged[it->second];
        for (auto& entry : image.dmap) {
            auto same =
                std::find_if(into.dmap.begin(), into.dmap.end(),
                             [&](const digest_entry& d) { return d.digest == entry.digest; });
            if (same == into.dmap.end()) {
                into.dmap.push_back(std::move(entry));
                continue;
            }
            for (std::size_t i = 0; i < entry.tags.size(); ++i) {
                if (std::find(same->tags.begin(), same->tags.end(), entry.tags[i]) ==
                    same->tags.end()) {
                    same->tags.push_back(entry.tags[i]);
                    same->tag_at.push_back(entry.tag_at[i]);
                }
            }
        }
    }
    manifest.images = std::move(merged);
}

}  // namespace hoist::engine
