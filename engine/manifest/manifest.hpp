// SPDX-License-Identifier: Apache-2.0
/// kpromo's promotion manifests: the registries (one source, many destinations) and the
/// images with their digest → tags maps. Decoding is strict in the way kpromo's yaml.v2
/// is: unknown keys, duplicate keys and values of the wrong kind are errors.
#pragma once

#include "engine/manifest/diagnostics.hpp"
#include "engine/manifest/yaml_tree.hpp"

#include <string>
#include <vector>

namespace hoist::engine {

struct registry_entry {
    std::string name;  ///< registry path prefix: host plus optional path
    bool src = false;
    std::string service_account;  ///< accepted for compatibility; kpromo ignores it too
    source_position at;
    bool malformed = false;  ///< a field had a value of the wrong kind (already reported)
};

struct digest_entry {
    std::string digest;
    std::vector<std::string> tags;  ///< empty: promoted by digest alone
    source_position at;
    std::vector<source_position> tag_at;  ///< beside `tags`
};

struct image_entry {
    std::string name;  ///< repository path relative to each registry
    std::vector<digest_entry> dmap;
    source_position at;
    bool dmap_null = false;       ///< `dmap:` given with no value
    bool dmap_malformed = false;  ///< dmap of the wrong kind (already reported)
};

struct promotion_manifest {
    std::string project;      ///< thin: the directory name; plain: the file name
    std::string file;         ///< the manifest (plain) or promoter-manifest.yaml (thin)
    std::string images_file;  ///< where `images` came from (== file for a plain manifest)
    std::vector<registry_entry> registries;
    std::vector<image_entry> images;
    /// `registries` had a value of the wrong kind (already reported): the rules about
    /// registries are not checked, so that the problem is not echoed.
    bool registries_malformed = false;

    /// The first `src: true` registry, or nullptr.
    const registry_entry* source() const;
};

/// A plain manifest: `registries` and `images` in one document.
promotion_manifest decode_plain_manifest(const yaml_document& document, const std::string& file,
                                         diagnostics& problems);

/// promoter-manifest.yaml of a thin tree: `registries` (and the ignored `imagesPath`).
promotion_manifest decode_thin_manifest(const yaml_document& document, const std::string& file,
                                        diagnostics& problems);

/// images.yaml of a thin tree: a list of images, or no document at all.
std::vector<image_entry> decode_images(const yaml_document& document, const std::string& file,
                                       diagnostics& problems);

/// Entries that repeat an image name become one (kpromo builds edges from all of them),
/// and a digest listed twice for one image keeps the union of its tags.
void merge_repeated_images(promotion_manifest& manifest);

}  // namespace hoist::engine
