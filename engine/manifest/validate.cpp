// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/validate.hpp"

#include "net/registry/reference.hpp"

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

namespace hoist::engine {
namespace {

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string in_quotes(std::string_view text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

/// Says what exactly is wrong with a digest, so a truncated paste is obvious.
std::string digest_problem(std::string_view digest) {
    constexpr std::string_view prefix = "sha256:";
    std::string what = "invalid digest " + in_quotes(digest) + ": ";
    if (digest.empty()) {
        return what + "it is empty; expected sha256: followed by 64 lower-case hex digits";
    }
    if (digest.substr(0, prefix.size()) != prefix) {
        return what + "expected it to start with \"sha256:\" (the only algorithm kpromo accepts)";
    }
    std::string_view hex = digest.substr(prefix.size());
    for (char c : hex) {
        if (!is_lower_hex(c)) {
            if (c >= 'A' && c <= 'F') {
                return what + "upper-case hex digit '" + std::string(1, c) +
                       "'; expected lower-case hex digits";
            }
            return what + "'" + std::string(1, c) + "' is not a hex digit";
        }
    }
    return what + "it has " + std::to_string(hex.size()) +
           " hex digits after \"sha256:\"; expected exactly 64";
}

std::string tag_problem(std::string_view tag) {
    std::string what = "invalid tag " + in_quotes(tag) + ": ";
    if (tag.empty()) {
        return what + "it is empty";
    }
    if (tag.size() > 128) {
        return what + "it has " + std::to_string(tag.size()) + " characters; at most 128 allowed";
    }
    if (!is_word(tag[0])) {
        return what + "expected it to start with a letter, digit or '_'";
    }
    return what + "expected only letters, digits, '_', '.' and '-' (kpromo's ^\\w[\\w.-]{0,127}$)";
}

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
}

}  // namespace

bool is_valid_promotion_digest(std::string_view digest) {
    constexpr std::string_view prefix = "sha256:";
    if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix) {
        return false;
    }
    for (char c : digest.substr(prefix.size())) {
        if (!is_lower_hex(c)) {
            return false;
        }
    }
    return true;
}

bool is_valid_promotion_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > 128 || !is_word(tag[0])) {
        return false;
    }
    for (char c : tag.substr(1)) {
        if (!is_word(c) && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

bool is_valid_registry_name(std::string_view name) {
    auto slash = name.find('/');
    std::string_view host = name.substr(0, slash);
    if (host.empty()) {
        return false;
    }
    for (char c : host) {
        if (!is_host_char(c)) {
            return false;
        }
    }
    if (slash == std::string_view::npos) {
        return true;
    }
    return net::registry::is_valid_repository(name.substr(slash + 1));
}

void validate_manifest(const promotion_manifest& manifest, diagnostics& problems) {
    const std::string& file = manifest.file;
    bool malformed_registry = manifest.registries_malformed;
    for (const auto& registry : manifest.registries) {
        malformed_registry = malformed_registry || registry.malformed;
    }
    if (manifest.registries.empty() && !manifest.registries_malformed) {
        problems.add(file, {},
                     "'registries' is empty; expected the source registry (src: true) and the "
                     "destination registries");
    }
    const registry_entry* source = nullptr;
    for (const auto& registry : manifest.registries) {
        if (registry.malformed) {
            // already reported where it is wrong
        } else if (registry.name.empty()) {
            problems.add(file, registry.at,
                         "registry without a name; expected name: <host>[/path]");
        } else if (!is_valid_registry_name(registry.name)) {
            problems.add(file, registry.at,
                         "invalid registry name " + in_quotes(registry.name) +
                             ": expected host[:port] followed by lower-case path components");
        }
        if (!registry.src) {
            continue;
        }
        if (source != nullptr) {
            problems.add(file, registry.at,
                         "second source registry " + in_quotes(registry.name) + " (the first is " +
                             in_quotes(source->name) + " at line " +
                             std::to_string(source->at.line) +
                             "); a manifest has exactly one registry with src: true");
        } else {
            source = &registry;
        }
    }
    if (!manifest.registries.empty() && source == nullptr && !malformed_registry) {
        problems.add(file, manifest.registries.front().at,
                     "no source registry: expected one registry with src: true");
    }

    const std::string& images_file = manifest.images_file;
    for (const auto& image : manifest.images) {
        if (image.name.empty()) {
            problems.add(images_file, image.at, "image without a name; expected name: <path>");
        } else if (!net::registry::is_valid_repository(image.name)) {
            problems.add(images_file, image.at,
                         "invalid image name " + in_quotes(image.name) +
                             ": expected lower-case path components separated by '/'");
        }
        if (image.dmap.empty() && !image.dmap_malformed) {
            problems.add(images_file, image.at,
                         "image " + in_quotes(image.name) + ": dmap is " +
                             (image.dmap_null ? "missing or null" : "empty") +
                             "; expected a mapping of \"sha256:<64 hex>\" to a list of tags");
        }
        for (const auto& entry : image.dmap) {
            if (!is_valid_promotion_digest(entry.digest)) {
                problems.add(
                    images_file, entry.at,
                    "image " + in_quotes(image.name) + ": " + digest_problem(entry.digest));
            }
            for (std::size_t i = 0; i < entry.tags.size(); ++i) {
                if (!is_valid_promotion_tag(entry.tags[i])) {
                    problems.add(
                        images_file, entry.tag_at[i],
                        "image " + in_quotes(image.name) + ": " + tag_problem(entry.tags[i]));
                }
            }
        }
    }
}

namespace {

struct tag_claim {
    const std::string* digest;
    const promotion_manifest* manifest;
    source_position at;
};

using claims_by_tag = std::unordered_map<std::string_view, tag_claim>;

std::string where(const tag_claim& claim) {
    return claim.manifest->images_file + ":" + std::to_string(claim.at.line);
}

}  // namespace

void check_overlaps(const std::vector<promotion_manifest>& manifests, diagnostics& problems) {
    // Per manifest and image name (entries with one name merge, as in kpromo): who claims
    // each tag. Conflicts here hold for every destination of the manifest at once.
    std::vector<std::unordered_map<std::string_view, claims_by_tag>> claims(manifests.size());
    for (std::size_t m = 0; m < manifests.size(); ++m) {
        const auto& manifest = manifests[m];
        for (const auto& image : manifest.images) {
            auto& tags = claims[m][image.name];
            for (const auto& entry : image.dmap) {
                for (std::size_t i = 0; i < entry.tags.size(); ++i) {
                    tag_claim claim{&entry.digest, &manifest, entry.tag_at[i]};
                    auto [it, inserted] = tags.emplace(entry.tags[i], claim);
                    if (!inserted && *it->second.digest != entry.digest) {
                        problems.add(
                            manifest.images_file, entry.tag_at[i],
                            "image " + in_quotes(image.name) + ": tag " + in_quotes(entry.tags[i]) +
                                " is claimed by " + entry.digest + " and by " + *it->second.digest +
                                " (" + where(it->second) + "); a tag can point at only one digest");
                    }
                }
            }
        }
    }

    // Across manifests: destination repositories reached from more than one manifest.
    // Full paths are compared, so nested registry names (…/images + kubernetes/x and
    // …/images/kubernetes + x) meet at the same repository.
    // Ordered, so that a conflict shared by many destinations is always reported for the
    // same (first) one.
    std::map<std::string, std::vector<std::pair<std::size_t, std::string_view>>> feeders;
    for (std::size_t m = 0; m < manifests.size(); ++m) {
        const auto& manifest = manifests[m];
        for (const auto& registry : manifest.registries) {
            if (registry.src) {
                continue;
            }
            for (const auto& [name, tags] : claims[m]) {
                std::string path = registry.name + "/" + std::string(name);
                auto& list = feeders[std::move(path)];
                if (list.empty() ||
                    list.back() != std::pair<std::size_t, std::string_view>(m, name)) {
                    list.emplace_back(m, name);
                }
            }
        }
    }
    std::set<std::tuple<std::size_t, std::size_t, std::string_view, std::string_view>> reported;
    for (const auto& [path, list] : feeders) {
        for (std::size_t a = 0; a < list.size(); ++a) {
            for (std::size_t b = a + 1; b < list.size(); ++b) {
                auto [ma, name_a] = list[a];
                auto [mb, name_b] = list[b];
                const auto& tags_a = claims[ma].at(name_a);
                const auto& tags_b = claims[mb].at(name_b);
                for (const auto& [tag, claim_b] : tags_b) {
                    auto found = tags_a.find(tag);
                    if (found == tags_a.end() || *found->second.digest == *claim_b.digest) {
                        continue;
                    }
                    if (!reported.emplace(ma, mb, name_b, tag).second) {
                        continue;
                    }
                    problems.add(manifests[mb].images_file, claim_b.at,
                                 "destination " + path + ":" + std::string(tag) +
                                     " is claimed by " + *claim_b.digest + " here and by " +
                                     *found->second.digest + " (" + where(found->second) +
                                     "); a tag can point at only one digest");
                }
            }
        }
    }
}

}  // namespace hoist::engine
