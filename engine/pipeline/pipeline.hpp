// SPDX-License-Identifier: Apache-2.0
/// The seven phases of a promotion — Setup, Plan, Provenance, Validate, Promote, Sign,
/// Attest — as separate units behind one interface, run one after another. Any phase may
/// end the run cleanly (a dry run stops after Validate) or fail it; every phase is timed
/// and its requests counted alike.
#pragma once

#include "engine/manifest/loader.hpp"
#include "engine/plan/edges.hpp"
#include "engine/plan/plan.hpp"
#include "engine/promote/promote.hpp"
#include "engine/supply/supply_options.hpp"
#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/http_client.hpp"
#include "net/registry/registry_client.hpp"
#include "net/registry/request_budget.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hoist::engine {

/// How a phase ended.
enum class phase_status : std::uint8_t {
    done,     ///< go on with the next phase
    stopped,  ///< the run ends here, successfully (dry run, parse only, nothing to do)
    refused,  ///< the run ends here: a check refused (tag moves, lost digests): exit 1
    invalid,  ///< the run ends here: the input is invalid (manifests): exit 2
    failed,   ///< the run ends here: something could not be done: exit 1
    skipped,  ///< nothing to do in this phase; go on
};

std::string_view to_string(phase_status status);

struct phase_outcome {
    phase_status status = phase_status::done;
    std::string message;  ///< one line for people: what the phase did or why it ended
};

struct promotion_options {
    std::string manifest;           ///< a plain manifest, or
    std::string thin_manifest_dir;  ///< a thin tree
    load_options load;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> shard;  ///< index, count
    bool parse_only = false;
    bool confirm = false;
    bool sign = true;
    plan_options plan;
    promote_options promote;
    supply_options supply;
    /// Budget of each phase by name; phases not named get `default_budget`.
    net::registry::budget_limits default_budget;
    std::map<std::string, net::registry::budget_limits> budgets;

    const net::registry::budget_limits& budget_for(const std::string& phase) const;
};

/// How far the running phase is, for progress output (Promote keeps its own, with bytes).
struct work_progress {
    std::string unit;       ///< what is counted: "images checked", "digests signed"
    std::size_t total = 0;  ///< 0: the phase counts nothing
    std::size_t done = 0;
};

/// What the phases share.
struct promotion_run {
    promotion_options options;
    net::registry::registry_client* client = nullptr;
    net::http_client* http = nullptr;
    net::registry::request_budget* budget = nullptr;  ///< null: no budget, no accounting
    net::deadline until;

    manifest_set manifests;
    edge_set edges;
    std::optional<promotion_plan> plan;
    std::optional<promote_result> promoted;
    supply_record supply;
    /// The running phase's count of work; reset before each phase.
    work_progress work;
};

class phase {
public:
    virtual ~phase() = default;
    virtual std::string_view name() const = 0;
    virtual asio::awaitable<phase_outcome> run(promotion_run& run) = 0;
};

struct phase_report {
    std::string name;
    phase_status status = phase_status::done;
    std::string message;
    std::chrono::duration<double> wall{};
    std::size_t http_requests = 0;
    bool ran = false;
    net::registry::budget_limits budget;
    net::registry::accounting accounting;
};

struct pipeline_report {
    std::vector<phase_report> phases;  ///< all seven, those not reached with ran == false
    phase_status final_status = phase_status::done;
    std::chrono::duration<double> wall{};
};

/// The names of the seven phases in kpromo's order.
const std::vector<std::string>& phase_names();

/// The seven phases in kpromo's order.
std::vector<std::unique_ptr<phase>> standard_phases();

/// Runs `phases` in order until one ends the run. `on_phase` (if set) is told before
/// each phase starts and after it ends, for progress output.
asio::awaitable<pipeline_report> run_pipeline(
    std::vector<std::unique_ptr<phase>>& phases, promotion_run& run,
    std::function<void(const phase_report&, bool finished)> on_phase = {});

}  // namespace hoist::engine
