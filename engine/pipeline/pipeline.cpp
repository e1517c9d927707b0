// SPDX-License-Identifier: Apache-2.0
#include "engine/pipeline/pipeline.hpp"

#include "engine/bounded.hpp"
#include "engine/supply/supply_phases.hpp"

#include <set>

namespace hoist::engine {
namespace {

namespace reg = net::registry;

std::string count_text(std::size_t n, std::string_view what) {
    return std::to_string(n) + " " + std::string(what);
}

/// Options, manifests (offline: nothing touches the network before they are valid),
/// edges, and a ping of every registry to resolve its scheme and warm its auth.
class setup_phase final : public phase {
public:
    std::string_view name() const override { return "setup"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        const auto& o = run.options;
        run.manifests = o.manifest.empty() ? load_thin_manifests(o.thin_manifest_dir, o.load)
                                           : load_plain_manifest(o.manifest, o.load);
        if (!run.manifests.ok()) {
            co_return phase_outcome{phase_status::invalid,
                                    count_text(run.manifests.problems.size(),
                                               "problems in the manifests; nothing was read from "
                                               "or written to any registry")};
        }
        run.edges = compute_edges(run.manifests.manifests);
        if (o.shard) {
            keep_shard(run.edges, o.shard->first, o.shard->second);
        }
        std::string loaded = count_text(run.manifests.manifests.size(), "manifests, ") +
                             count_text(run.edges.edges.size(), "edges");
        if (run.edges.edges.empty() && o.load.only_digests) {
            co_return phase_outcome{phase_status::stopped,
                                    "no manifests to process: the diff names no digest of them"};
        }
        if (o.parse_only) {
            co_return phase_outcome{phase_status::stopped, loaded + " (parse only)"};
        }
        std::set<std::string> hosts;
        for (const auto& edge : run.edges.edges) {
            for (const auto* path :
                 {&run.edges.source_path(edge), &run.edges.destination_path(edge)}) {
                auto repo = reg::parse_repository_ref(*path);
                if (repo) {
                    hosts.insert(repo->registry);
                }
            }
        }
        registries_.assign(hosts.begin(), hosts.end());
        failures_.assign(registries_.size(), {});
        co_await for_each_bounded(registries_.size(), registries_.size(),
                                  [this, &run](std::size_t i) { return ping(this, &run, i); });
        for (std::size_t i = 0; i < registries_.size(); ++i) {
            if (!failures_[i].empty()) {
                co_return phase_outcome{phase_status::failed,
                                        "cannot reach " + registries_[i] + ": " + failures_[i]};
            }
        }
        co_return phase_outcome{phase_status::done,
                                loaded + ", " + count_text(registries_.size(), "registries")};
    }

    static asio::awaitable<void> ping(setup_phase* self, promotion_run* run, std::size_t i) {
        auto pinged = co_await run->client->ping(self->registries_[i], run->until);
        if (!pinged) {
            self->failures_[i] = pinged.error().message();
        }
    }

private:
    std::vector<std::string> registries_;
    std::vector<std::string> failures_;
};

class plan_phase final : public phase {
public:
    std::string_view name() const override { return "plan"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        plan_options options = run.options.plan;
        // Sign carries the staging `.sig` of every image it signs, where there is one.
        options.list_source_tags |=
            run.options.confirm && run.options.sign && run.options.supply.signing_key.has_value();
        run.plan = co_await make_plan(*run.client, run.edges, options, run.until);
        const auto& c = run.plan->counts;
        std::string summary =
            count_text(c.promote, "to promote, ") + count_text(c.present, "present, ") +
            count_text(c.tag_move, "refused (tag moves), ") + count_text(c.lost, "lost");
        if (c.failed != 0) {
            summary += ", " + count_text(c.failed, "unreadable");
        }
        if (!run.plan->clean()) {
            co_return phase_outcome{phase_status::refused, summary + "; nothing is promoted"};
        }
        co_return phase_outcome{phase_status::done, summary};
    }
};

class promote_phase final : public phase {
public:
    std::string_view name() const override { return "promote"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        if (run.plan->counts.promote == 0) {
            co_return phase_outcome{phase_status::skipped, "nothing to promote"};
        }
        run.promoted = co_await promote(*run.client, *run.plan, run.options.promote, run.until);
        // Even a failed edge may have written some of its tags.
        const auto& set = *run.plan->edges;
        for (std::size_t i = 0; i < set.edges.size(); ++i) {
            const auto& decision = run.plan->decisions[i];
            if (decision.outcome != edge_outcome::promote || decision.missing_tags.empty()) {
                continue;
            }
            auto destination =
                net::registry::parse_repository_ref(set.destination_path(set.edges[i]));
            if (!destination) {
                continue;  // Plan could not have listed it either
            }
            for (const auto& tag : decision.missing_tags) {
                run.plan->tags.wrote(*destination, tag);
            }
        }
        const auto& c = run.promoted->counts;
        std::string summary =
            count_text(c.edges_promoted, "edges promoted") + " (" + count_text(c.images, "images") +
            "): " + count_text(c.blobs_uploaded, "blobs uploaded, ") +
            count_text(c.blobs_mounted, "mounted, ") + count_text(c.blobs_present, "present, ") +
            count_text(c.manifests_put, "manifests written, ") + count_text(c.tags_put, "tags");
        if (!run.promoted->ok()) {
            co_return phase_outcome{phase_status::failed,
                                    count_text(c.edges_failed, "edges failed; ") + summary};
        }
        co_return phase_outcome{phase_status::done, summary};
    }
};

}  // namespace

std::string_view to_string(phase_status status) {
    switch (status) {
        case phase_status::done:
            return "done";
        case phase_status::stopped:
            return "stopped";
        case phase_status::refused:
            return "refused";
        case phase_status::invalid:
            return "invalid";
        case phase_status::failed:
            return "failed";
        case phase_status::skipped:
            return "skipped";
    }
    return "unknown";
}

const net::registry::budget_limits& promotion_options::budget_for(const std::string& phase) const {
    auto found = budgets.find(phase);
    return found == budgets.end() ? default_budget : found->second;
}

const std::vector<std::string>& phase_names() {
    static const std::vector<std::string> names{"setup",   "plan", "provenance", "validate",
                                                "promote", "sign", "attest"};
    return names;
}

std::vector<std::unique_ptr<phase>> standard_phases() {
    std::vector<std::unique_ptr<phase>> phases;
    phases.push_back(std::make_unique<setup_phase>());
    phases.push_back(std::make_unique<plan_phase>());
    phases.push_back(make_provenance_phase());
    phases.push_back(make_validate_phase());
    phases.push_back(std::make_unique<promote_phase>());
    phases.push_back(make_sign_phase());
    phases.push_back(make_attest_phase());
    return phases;
}

asio::awaitable<pipeline_report> run_pipeline(
    std::vector<std::unique_ptr<phase>>& phases, promotion_run& run,
    std::function<void(const phase_report&, bool finished)> on_phase) {
    pipeline_report report;
    for (const auto& p : phases) {
        phase_report entry;
        entry.name = std::string(p->name());
        report.phases.push_back(std::move(entry));
    }
    auto started = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < phases.size(); ++i) {
        auto& entry = report.phases[i];
        run.work = work_progress{};
        if (on_phase) {
            on_phase(entry, false);
        }
        auto phase_started = std::chrono::steady_clock::now();
        auto requests_before = run.http ? run.http->stats().requests : 0;
        // Phases run one after another, so each owns the whole budget.
        entry.budget = run.options.budget_for(entry.name);
        if (run.budget != nullptr) {
            run.budget->set_limits(entry.budget);
            run.budget->set_accounting(&entry.accounting);
        }
        auto outcome = co_await phases[i]->run(run);
        if (run.budget != nullptr) {
            run.budget->set_accounting(nullptr);
        }
        entry.ran = true;
        entry.status = outcome.status;
        entry.message = std::move(outcome.message);
        entry.wall = std::chrono::steady_clock::now() - phase_started;
        entry.http_requests = run.http ? run.http->stats().requests - requests_before : 0;
        if (on_phase) {
            on_phase(entry, true);
        }
        if (outcome.status != phase_status::done && outcome.status != phase_status::skipped) {
            report.final_status = outcome.status;
            break;
        }
    }
    // Images a supply-chain check blocked were left out, and the others promoted: the run
    // did what it could, but not all it was asked.
    // Plan refuses any edge it cannot read, so failed edges here are those whose source a
    // check could not read: a later run may promote them.
    if (report.final_status == phase_status::done && run.plan) {
        if (run.plan->counts.failed != 0) {
            report.final_status = phase_status::failed;
        } else if (run.plan->counts.blocked != 0) {
            report.final_status = phase_status::refused;
        }
    }
    report.wall = std::chrono::steady_clock::now() - started;
    co_return report;
}

}  // namespace hoist::engine
