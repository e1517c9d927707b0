// SPDX-License-Identifier: Apache-2.0
#include "engine/plan/plan.hpp"

#include "engine/bounded.hpp"
#include "net/registry/media_types.hpp"

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace hoist::engine {
namespace {

namespace reg = net::registry;

struct repository_inventory {
    enum class state : std::uint8_t { unread, listed, absent, failed };
    std::optional<reg::repository_ref> ref;
    state status = state::unread;
    bool has_digest_map = false;
    /// The listing went through (or said the repository has no tags): `tags` is all.
    bool tags_complete = false;
    std::unordered_set<std::string> tags;
    std::unordered_map<std::string, std::string> digest_of_tag;
    std::unordered_set<std::string> digests;                   ///< known to be present
    std::unordered_set<std::string> absent_digests;            ///< a HEAD said 404
    std::unordered_map<std::string, std::string> head_errors;  ///< reference → error
    std::string error;
};

struct head_query {
    std::uint32_t repository;
    std::string reference;  ///< a tag or a digest
};

class planner {
public:
    planner(reg::registry_client& client, const edge_set& edges, plan_options options,
            net::deadline until)
        : client_(client),
          edges_(edges),
          options_(options),
          until_(until),
          repositories_(edges.repositories.size()) {}

    asio::awaitable<promotion_plan> run() {
        promotion_plan plan;
        plan.edges = &edges_;
        plan.decisions.resize(edges_.edges.size());
        co_await read_listings();
        co_await run_heads(destination_queries());
        for (std::size_t i = 0; i < edges_.edges.size(); ++i) {
            plan.decisions[i] = decide_destination(edges_.edges[i]);
        }
        co_await run_heads(source_queries(plan));
        for (std::size_t i = 0; i < edges_.edges.size(); ++i) {
            if (plan.decisions[i].outcome == edge_outcome::promote) {
                check_source(edges_.edges[i], plan.decisions[i]);
            }
            plan.counts.add(plan.decisions[i].outcome);
        }
        plan.requests = requests_;
        record_listed_tags(plan.tags);
        plan.image_manifests = std::move(image_manifests_);
        co_return plan;
    }

    // Coroutine bodies for for_each_bounded (named functions, not capturing lambdas:
    // g++ 12 miscompiles the latter).
    static asio::awaitable<void> list_one(planner* self, std::uint32_t repository) {
        auto& inventory = self->repositories_[repository];
        auto listing = co_await self->client_.list_tags(*inventory.ref, self->until_);
        ++self->requests_.listings;
        if (!listing) {
            if (listing.error().is(net::errc::not_found)) {
                inventory.status = repository_inventory::state::absent;
                inventory.tags_complete = true;
            } else {
                inventory.status = repository_inventory::state::failed;
                inventory.error = listing.error().message();
            }
            co_return;
        }
        self->requests_.listing_pages += listing->pages;
        inventory.status = repository_inventory::state::listed;
        inventory.tags_complete = true;
        inventory.has_digest_map = listing->has_digest_map;
        inventory.tags.insert(listing->tags.begin(), listing->tags.end());
        for (const auto& [digest, tags] : listing->tags_by_digest) {
            inventory.digests.insert(digest);
            for (const auto& tag : tags) {
                inventory.digest_of_tag[tag] = digest;
            }
        }
    }

    static asio::awaitable<void> head_one(planner* self, const head_query* query) {
        auto& inventory = self->repositories_[query->repository];
        auto info =
            co_await self->client_.head_manifest(*inventory.ref, query->reference, self->until_);
        ++self->requests_.heads;
        bool by_digest = query->reference.starts_with("sha256:");
        if (!info) {
            inventory.head_errors[query->reference] = info.error().message();
            co_return;
        }
        if (!*info) {
            if (by_digest) {
                inventory.absent_digests.insert(query->reference);
            } else {
                inventory.tags.erase(query->reference);  // deleted since the listing
            }
            co_return;
        }
        inventory.digests.insert((*info)->digest);
        if (reg::is_image_manifest((*info)->media_type)) {
            self->image_manifests_.insert((*info)->digest);
        }
        if (!by_digest) {
            inventory.digest_of_tag[query->reference] = (*info)->digest;
        }
    }

private:
    using state = repository_inventory::state;

    /// Lists every destination repository. Source listings only help where the registry
    /// maps digests to tags (GCR, Artifact Registry): elsewhere each source digest needs a
    /// HEAD anyway. So one source repository per host is listed first, and the others of
    /// that host only if it showed a digest map, or if `list_source_tags` wants their tags.
    asio::awaitable<void> read_listings() {
        enum class role : std::uint8_t { unused, source, destination };
        std::vector<role> roles(repositories_.size(), role::unused);
        // Distinct digests per source repository: counted only when listing may spare reads.
        std::vector<std::set<std::string_view>> source_digests(
            options_.list_source_tags ? repositories_.size() : 0);
        for (const auto& edge : edges_.edges) {
            if (roles[edge.source_repository] == role::unused) {
                roles[edge.source_repository] = role::source;
            }
            roles[edge.destination_repository] = role::destination;
            if (options_.list_source_tags) {
                source_digests[edge.source_repository].insert(edge.digest());
            }
        }
        std::vector<std::uint32_t> wanted;
        std::map<std::string, std::uint32_t> probe_of_host;
        std::vector<std::uint32_t> deferred_sources;
        std::vector<std::uint32_t> for_tags;
        for (std::uint32_t i = 0; i < repositories_.size(); ++i) {
            if (roles[i] == role::unused) {
                continue;
            }
            auto ref = reg::parse_repository_ref(edges_.repositories[i]);
            if (!ref) {
                repositories_[i].status = state::failed;
                repositories_[i].error = ref.error().message();
                continue;
            }
            repositories_[i].ref = *ref;
            requests_.minimum += 1;
            if (roles[i] == role::source && !probe_of_host.try_emplace(ref->registry, i).second) {
                if (options_.list_source_tags && source_digests[i].size() >= 2) {
                    for_tags.push_back(i);
                    wanted.push_back(i);
                } else {
                    deferred_sources.push_back(i);
                }
                continue;
            }
            wanted.push_back(i);
        }
        co_await list_all(std::move(wanted));
        for (std::uint32_t i : for_tags) {
            // Listed only to spare tag reads: if that failed, HEADs still decide.
            if (repositories_[i].status == state::failed) {
                repositories_[i].status = state::absent;
                repositories_[i].error.clear();
            }
        }

        std::vector<std::uint32_t> more;
        for (std::uint32_t i : deferred_sources) {
            auto probe = probe_of_host.at(repositories_[i].ref->registry);
            if (repositories_[probe].has_digest_map) {
                more.push_back(i);
            } else {
                repositories_[i].status = state::absent;  // known only through HEADs
            }
        }
        co_await list_all(std::move(more));
    }

    asio::awaitable<void> list_all(std::vector<std::uint32_t> repositories) {
        co_await for_each_bounded(
            repositories.size(), options_.parallel_requests,
            [this, &repositories](std::size_t i) { return list_one(this, repositories[i]); });
    }

    asio::awaitable<void> run_heads(std::vector<head_query> queries) {
        co_await for_each_bounded(
            queries.size(), options_.parallel_requests,
            [this, &queries](std::size_t i) { return head_one(this, &queries[i]); });
    }

    /// Hands the complete listings over to `known`: the last use of the inventories.
    void record_listed_tags(known_tags& known) {
        for (auto& inventory : repositories_) {
            if (inventory.tags_complete) {
                known.listed(*inventory.ref, std::move(inventory.tags));
            }
        }
    }

    /// HEADs the destination listings leave necessary: tags listed without their digest,
    /// and tagless digests where there is no digest map.
    std::vector<head_query> destination_queries() {
        std::vector<head_query> queries;
        std::set<std::pair<std::uint32_t, std::string_view>> asked;
        for (const auto& edge : edges_.edges) {
            const auto& inventory = repositories_[edge.destination_repository];
            // docker-registry answers 404 to tags/list for a repository holding only
            // untagged manifests, so "absent" still needs HEADs for tagless digests.
            if (inventory.status == state::failed || inventory.status == state::unread) {
                continue;
            }
            const auto& tags = edges_.tags(edge);
            for (const auto& tag : tags) {
                if (inventory.tags.contains(tag) && !inventory.digest_of_tag.contains(tag) &&
                    asked.emplace(edge.destination_repository, tag).second) {
                    queries.push_back({edge.destination_repository, tag});
                    ++requests_.minimum;
                }
            }
            if (tags.empty() && !inventory.has_digest_map &&
                !inventory.digests.contains(edge.digest()) &&
                asked.emplace(edge.destination_repository, edge.digest()).second) {
                queries.push_back({edge.destination_repository, edge.digest()});
            }
        }
        return queries;
    }

    /// HEADs of source digests for the edges still to promote, where no digest map says.
    std::vector<head_query> source_queries(const promotion_plan& plan) {
        std::vector<head_query> queries;
        std::set<std::pair<std::uint32_t, std::string_view>> asked;
        for (std::size_t i = 0; i < edges_.edges.size(); ++i) {
            const auto& edge = edges_.edges[i];
            const auto& inventory = repositories_[edge.source_repository];
            if (plan.decisions[i].outcome != edge_outcome::promote ||
                inventory.status == state::failed || inventory.status == state::unread ||
                inventory.has_digest_map || inventory.digests.contains(edge.digest())) {
                continue;
            }
            if (asked.emplace(edge.source_repository, edge.digest()).second) {
                queries.push_back({edge.source_repository, edge.digest()});
            }
        }
        return queries;
    }

    edge_decision decide_destination(const promotion_edge& edge) {
        edge_decision decision;
        const auto& inventory = repositories_[edge.destination_repository];
        if (inventory.status == state::failed) {
            decision.outcome = edge_outcome::failed;
            decision.detail =
                "cannot read " + edges_.destination_path(edge) + ": " + inventory.error;
            return decision;
        }
        const auto& tags = edges_.tags(edge);
        bool digest_present = inventory.digests.contains(edge.digest());
        for (const auto& tag : tags) {
            if (auto error = inventory.head_errors.find(tag);
                error != inventory.head_errors.end()) {
                decision.outcome = edge_outcome::failed;
                decision.detail = "cannot read " + edges_.destination_path(edge) + ":" + tag +
                                  ": " + error->second;
                return decision;
            }
            auto found = inventory.digest_of_tag.find(tag);
            if (found == inventory.digest_of_tag.end()) {
                decision.missing_tags.push_back(tag);
            } else if (found->second == edge.digest()) {
                digest_present = true;
            } else {
                decision.outcome = edge_outcome::tag_move;
                if (!decision.detail.empty()) {
                    decision.detail += "; ";
                }
                decision.detail += "tag " + tag + " points at " + found->second;
            }
        }
        if (decision.outcome == edge_outcome::tag_move) {
            decision.missing_tags.clear();
            return decision;
        }
        if (tags.empty()) {
            if (auto error = inventory.head_errors.find(edge.digest());
                error != inventory.head_errors.end()) {
                decision.outcome = edge_outcome::failed;
                decision.detail = "cannot read " + edges_.destination_path(edge) + "@" +
                                  edge.digest() + ": " + error->second;
                return decision;
            }
            decision.outcome = digest_present ? edge_outcome::present : edge_outcome::promote;
            return decision;
        }
        decision.outcome =
            decision.missing_tags.empty() ? edge_outcome::present : edge_outcome::promote;
        decision.digest_present = digest_present;
        return decision;
    }

    void check_source(const promotion_edge& edge, edge_decision& decision) {
        const auto& inventory = repositories_[edge.source_repository];
        const std::string& path = edges_.source_path(edge);
        switch (inventory.status) {
            case state::failed:
                decision.outcome = edge_outcome::failed;
                decision.detail = "cannot read " + path + ": " + inventory.error;
                return;
            default:
                break;
        }
        if (inventory.digests.contains(edge.digest())) {
            return;
        }
        if (auto error = inventory.head_errors.find(edge.digest());
            error != inventory.head_errors.end()) {
            decision.outcome = edge_outcome::failed;
            decision.detail = "cannot read " + path + "@" + edge.digest() + ": " + error->second;
            return;
        }
        decision.outcome = edge_outcome::lost;
        decision.detail = edge.digest() + " is not in " + path;
    }

    reg::registry_client& client_;
    const edge_set& edges_;
    plan_options options_;
    net::deadline until_;
    std::vector<repository_inventory> repositories_;
    std::unordered_set<std::string> image_manifests_;
    plan_requests requests_;
};

}  // namespace

std::string_view to_string(edge_outcome outcome) {
    switch (outcome) {
        case edge_outcome::promote:
            return "promote";
        case edge_outcome::present:
            return "present";
        case edge_outcome::tag_move:
            return "tag-move";
        case edge_outcome::lost:
            return "lost";
        case edge_outcome::failed:
            return "failed";
        case edge_outcome::blocked:
            return "blocked";
    }
    return "unknown";
}

void plan_counts::add(edge_outcome outcome) {
    switch (outcome) {
        case edge_outcome::promote:
            ++promote;
            break;
        case edge_outcome::present:
            ++present;
            break;
        case edge_outcome::tag_move:
            ++tag_move;
            break;
        case edge_outcome::lost:
            ++lost;
            break;
        case edge_outcome::failed:
            ++failed;
            break;
        case edge_outcome::blocked:
            ++blocked;
            break;
    }
}

namespace {

/// Moves a to-promote or present edge to `outcome`; false (nothing done) for others.
bool take_out(plan_counts& counts, edge_decision& decision, edge_outcome outcome,
              std::string reason) {
    if (decision.outcome == edge_outcome::promote) {
        --counts.promote;
    } else if (decision.outcome == edge_outcome::present) {
        --counts.present;
    } else {
        return false;
    }
    decision.outcome = outcome;
    decision.detail = std::move(reason);
    return true;
}

}  // namespace

void promotion_plan::block(std::size_t edge, std::string reason) {
    if (take_out(counts, decisions[edge], edge_outcome::blocked, std::move(reason))) {
        ++counts.blocked;
    }
}

void promotion_plan::fail(std::size_t edge, std::string reason) {
    if (take_out(counts, decisions[edge], edge_outcome::failed, std::move(reason))) {
        ++counts.failed;
    }
}

asio::awaitable<promotion_plan> make_plan(net::registry::registry_client& client,
                                          const edge_set& edges, plan_options options,
                                          net::deadline until) {
    planner state(client, edges, options, until);
    co_return co_await state.run();
}

}  // namespace hoist::engine
