// SPDX-License-Identifier: Apache-2.0
#include "engine/plan/edges.hpp"

#include <algorithm>
#include <unordered_map>

namespace hoist::engine {
namespace {

class repository_index {
public:
    explicit repository_index(std::vector<std::string>& paths) : paths_(paths) {}

    std::uint32_t intern(std::string path) {
        auto [it, inserted] = ids_.try_emplace(path, static_cast<std::uint32_t>(paths_.size()));
        if (inserted) {
            paths_.push_back(std::move(path));
        }
        return it->second;
    }

private:
    std::vector<std::string>& paths_;
    std::unordered_map<std::string, std::uint32_t> ids_;
};

// kpromo skips a destination only when all its fields equal the source's; a destination
// with the source's name is the same repository whatever else it says, so it is skipped too.
bool same_registry(const registry_entry& a, const registry_entry& b) {
    return a.name == b.name;
}

void merge_tags(edge_set& set, promotion_edge& kept, const std::vector<std::string>& more) {
    if (kept.merged_tags == promotion_edge::no_merged_tags) {
        kept.merged_tags = static_cast<std::uint32_t>(set.merged_tags.size());
        set.merged_tags.push_back(kept.entry->tags);
    }
    auto& tags = set.merged_tags[kept.merged_tags];
    for (const auto& tag : more) {
        if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
            tags.push_back(tag);
        }
    }
}

}  // namespace

edge_set compute_edges(const std::vector<promotion_manifest>& manifests) {
    edge_set set;
    repository_index index(set.repositories);

    // How many (manifest, image) pairs feed each destination repository: only those fed
    // more than once need the (repository, digest) duplicate check.
    std::vector<std::uint32_t> feeders;
    std::size_t edge_count = 0;
    for (const auto& manifest : manifests) {
        const registry_entry* source = manifest.source();
        for (const auto& image : manifest.images) {
            for (const auto& destination : manifest.registries) {
                if (source == nullptr || destination.src || same_registry(destination, *source)) {
                    continue;
                }
                std::uint32_t repository = index.intern(destination.name + "/" + image.name);
                if (repository >= feeders.size()) {
                    feeders.resize(repository + 1, 0);
                }
                ++feeders[repository];
                edge_count += image.dmap.size();
            }
        }
    }

    set.edges.reserve(edge_count);
    std::unordered_map<std::uint64_t, std::size_t> edge_of;  // (repository, digest) → edge
    std::unordered_map<std::string_view, std::uint32_t> digest_ids;
    for (const auto& manifest : manifests) {
        const registry_entry* source = manifest.source();
        if (source == nullptr) {
            continue;
        }
        for (const auto& image : manifest.images) {
            std::uint32_t source_repository = index.intern(source->name + "/" + image.name);
            for (const auto& destination : manifest.registries) {
                if (destination.src || same_registry(destination, *source)) {
                    continue;
                }
                std::uint32_t repository = index.intern(destination.name + "/" + image.name);
                for (const auto& entry : image.dmap) {
                    if (feeders[repository] > 1) {
                        auto digest_id =
                            digest_ids
                                .try_emplace(entry.digest,
                                             static_cast<std::uint32_t>(digest_ids.size()))
                                .first->second;
                        std::uint64_t key = (std::uint64_t{repository} << 32) | digest_id;
                        auto [it, inserted] = edge_of.try_emplace(key, set.edges.size());
                        if (!inserted) {
                            merge_tags(set, set.edges[it->second], entry.tags);
                            ++set.redundant;
                            continue;
                        }
                    }
                    set.edges.push_back(promotion_edge{&manifest, &image, &entry, source,
                                                       &destination, source_repository,
                                                       repository});
                }
            }
        }
    }
    return set;
}

std::uint32_t shard_of(std::string_view destination_path, std::uint32_t count) {
    // FNV-1a, 64 bits: the same on every machine and every run.
    std::uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : destination_path) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return static_cast<std::uint32_t>(hash % count);
}

void keep_shard(edge_set& set, std::uint32_t index, std::uint32_t count) {
    std::erase_if(set.edges, [&](const promotion_edge& edge) {
        return shard_of(set.destination_path(edge), count) != index;
    });
}

}  // namespace hoist::engine
