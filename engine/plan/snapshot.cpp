// SPDX-License-Identifier: Apache-2.0
#include "engine/plan/snapshot.hpp"

#include "engine/bounded.hpp"
#include "net/registry/media_types.hpp"

#include <optional>

namespace hoist::engine {
namespace {

namespace reg = net::registry;

std::string relative_name(const std::string& prefix, const std::string& image) {
    return prefix.empty() ? image : prefix + "/" + image;
}

struct walk_state {
    reg::registry_client* client;
    net::deadline until;
    std::vector<reg::repository_ref> repositories;
    std::vector<std::string> names;
    std::vector<std::map<std::string, std::set<std::string>>> digests;
    std::optional<net::failure> error;
};

asio::awaitable<void> read_repository(walk_state* state, std::size_t index) {
    const auto& repo = state->repositories[index];
    auto listing = co_await state->client->list_tags(repo, state->until);
    if (!listing) {
        if (!listing.error().is(net::errc::not_found) && !state->error) {
            state->error = listing.error();
        }
        co_return;
    }
    auto& digests = state->digests[index];
    if (listing->has_digest_map) {
        for (const auto& [digest, tags] : listing->tags_by_digest) {
            digests[digest].insert(tags.begin(), tags.end());
        }
        co_return;
    }
    for (const auto& tag : listing->tags) {
        auto info = co_await state->client->head_manifest(repo, tag, state->until);
        if (!info) {
            if (!state->error) {
                state->error = info.error();
            }
            co_return;
        }
        if (*info) {
            digests[(*info)->digest].insert(tag);
        }
    }
}

struct children_state {
    reg::registry_client* client;
    net::deadline until;
    std::vector<std::pair<reg::repository_ref, std::string>> manifests;  // repo, digest
    std::vector<std::vector<std::string>> children;
    std::optional<net::failure> error;
};

asio::awaitable<void> read_children(children_state* state, std::size_t index) {
    const auto& [repo, digest] = state->manifests[index];
    auto info = co_await state->client->head_manifest(repo, digest, state->until);
    if (!info || !*info || !reg::is_index((*info)->media_type)) {
        if (!info && !state->error) {
            state->error = info.error();
        }
        co_return;
    }
    auto fetched = co_await state->client->get_manifest(repo, digest, state->until);
    if (!fetched) {
        if (!state->error) {
            state->error = fetched.error();
        }
        co_return;
    }
    auto parsed = reg::parse_manifest(fetched->body, fetched->media_type);
    if (!parsed) {
        if (!state->error) {
            state->error = parsed.error();
        }
        co_return;
    }
    for (const auto& child : parsed->manifests) {
        state->children[index].push_back(child.digest);
    }
}

}  // namespace

std::string render_snapshot_yaml(const snapshot& images) {
    std::string out;
    for (const auto& [name, digests] : images) {
        out += "- name: " + name + "\n  dmap:\n";
        for (const auto& [digest, tags] : digests) {
            out += "    \"" + digest + "\": [";
            bool first = true;
            for (const auto& tag : tags) {
                out += first ? "\"" : ", \"";
                out += tag + "\"";
                first = false;
            }
            out += "]\n";
        }
    }
    return out;
}

std::string render_snapshot_csv(const snapshot& images) {
    std::string out;
    for (const auto& [name, digests] : images) {
        for (const auto& [digest, tags] : digests) {
            if (tags.empty()) {
                out += name + "@" + digest + ",-\n";
            }
            for (const auto& tag : tags) {
                out += name + "@" + digest + "," + name + ":" + tag + "\n";
            }
        }
    }
    return out;
}

snapshot manifest_based_snapshot(const edge_set& edges, std::string destination) {
    while (!destination.empty() && destination.back() == '/') {
        destination.pop_back();
    }
    snapshot images;
    for (const auto& edge : edges.edges) {
        const std::string& registry = edge.destination->name;
        if (registry.compare(0, destination.size(), destination) != 0 ||
            (registry.size() > destination.size() && registry[destination.size()] != '/')) {
            continue;
        }
        std::string prefix = registry.size() > destination.size()
                                 ? registry.substr(destination.size() + 1)
                                 : std::string();
        auto& tags = images[relative_name(prefix, edge.image->name)][edge.digest()];
        const auto& edge_tags = edges.tags(edge);
        tags.insert(edge_tags.begin(), edge_tags.end());
    }
    return images;
}

void keep_tagged(snapshot& images, const std::string& tag) {
    for (auto image = images.begin(); image != images.end();) {
        std::erase_if(image->second,
                      [&](const auto& entry) { return !entry.second.contains(tag); });
        image = image->second.empty() ? images.erase(image) : std::next(image);
    }
}

asio::awaitable<net::result<snapshot>> registry_snapshot(reg::registry_client& client,
                                                         std::string root, snapshot_options options,
                                                         net::deadline until) {
    while (!root.empty() && root.back() == '/') {
        root.pop_back();
    }
    auto slash = root.find('/');
    std::string host = root.substr(0, slash);
    std::string path = slash == std::string::npos ? "" : root.substr(slash + 1);
    auto catalog = co_await client.catalog(host, until);
    if (!catalog) {
        co_return net::with_context(catalog.error(), "snapshot of " + root);
    }
    walk_state state{&client, until, {}, {}, {}, {}};
    for (const auto& repository : *catalog) {
        std::string name;
        if (path.empty()) {
            name = repository;
        } else if (repository == path) {
            name = "";
        } else if (repository.size() > path.size() && repository.starts_with(path) &&
                   repository[path.size()] == '/') {
            name = repository.substr(path.size() + 1);
        } else {
            continue;
        }
        state.repositories.push_back({host, repository});
        state.names.push_back(std::move(name));
    }
    state.digests.resize(state.repositories.size());
    co_await for_each_bounded(state.repositories.size(), options.parallel_requests,
                              [&state](std::size_t i) { return read_repository(&state, i); });
    if (state.error) {
        co_return net::with_context(*state.error, "snapshot of " + root);
    }
    snapshot images;
    for (std::size_t i = 0; i < state.names.size(); ++i) {
        if (!state.digests[i].empty()) {
            images[state.names[i]] = std::move(state.digests[i]);
        }
    }
    co_return images;
}

asio::awaitable<net::result<void>> drop_tagless_children(
    reg::registry_client& client, snapshot& images,
    std::function<std::string(const std::string&)> repository_of, snapshot_options options,
    net::deadline until) {
    children_state state{&client, until, {}, {}, {}};
    std::vector<std::string> owners;
    for (const auto& [name, digests] : images) {
        auto repo = reg::parse_repository_ref(repository_of(name));
        if (!repo) {
            co_return repo.error();
        }
        for (const auto& [digest, tags] : digests) {
            state.manifests.emplace_back(*repo, digest);
            owners.push_back(name);
        }
    }
    state.children.resize(state.manifests.size());
    co_await for_each_bounded(state.manifests.size(), options.parallel_requests,
                              [&state](std::size_t i) { return read_children(&state, i); });
    if (state.error) {
        co_return net::with_context(*state.error, "--minimal-snapshot");
    }
    for (std::size_t i = 0; i < state.manifests.size(); ++i) {
        auto& digests = images[owners[i]];
        for (const auto& child : state.children[i]) {
            auto found = digests.find(child);
            if (found != digests.end() && found->second.empty()) {
                digests.erase(found);
            }
        }
    }
    std::erase_if(images, [](const auto& image) { return image.second.empty(); });
    co_return net::result<void>{};
}

}  // namespace hoist::engine
