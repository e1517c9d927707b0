// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/cip.hpp"

#include "engine/manifest/diff_digests.hpp"
#include "engine/manifest/loader.hpp"
#include "engine/pipeline/pipeline.hpp"
#include "engine/plan/edges.hpp"
#include "engine/plan/plan.hpp"
#include "engine/plan/plan_report.hpp"
#include "engine/plan/snapshot.hpp"
#include "engine/supply/provenance_policy.hpp"
#include "net/task_tracker.hpp"
#include "tools/hoist/key_files.hpp"
#include "tools/hoist/progress.hpp"
#include "tools/hoist/source_commit.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

namespace hoist::tools {
namespace {

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

enum class verbosity { quiet, info, debug };

struct shard_spec {
    std::uint32_t index = 0;
    std::uint32_t count = 1;
};

std::optional<shard_spec> parse_shard(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos) {
        return std::nullopt;
    }
    shard_spec spec;
    auto parse = [](std::string_view part, std::uint32_t& out) {
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
        return ec == std::errc() && end == part.data() + part.size() && !part.empty();
    };
    std::string_view view = text;
    if (!parse(view.substr(0, slash), spec.index) || !parse(view.substr(slash + 1), spec.count) ||
        spec.count == 0 || spec.index >= spec.count) {
        return std::nullopt;
    }
    return spec;
}

/// Applies one `--budget [PHASE:]key=value[,key=value]` to `limits`; an error message, or
/// empty.
std::string apply_budget(const std::string& assignments, net::registry::budget_limits& limits) {
    std::size_t start = 0;
    while (start <= assignments.size()) {
        auto comma = assignments.find(',', start);
        std::string item = assignments.substr(start, comma - start);
        start = comma == std::string::npos ? assignments.size() + 1 : comma + 1;
        auto equals = item.find('=');
        if (equals == std::string::npos) {
            return "expected key=value, got \"" + item + "\"";
        }
        std::string key = item.substr(0, equals);
        std::string text = item.substr(equals + 1);
        double value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
            return "\"" + text + "\" is not a number >= 0 (in " + item + ")";
        }
        if (key == "inflight") {
            limits.inflight = static_cast<std::size_t>(std::max(1.0, value));
        } else if (key == "host-inflight") {
            limits.host_inflight = static_cast<std::size_t>(std::max(1.0, value));
        } else if (key == "rate") {
            limits.rate = value;
        } else if (key == "burst") {
            limits.burst = std::max(1.0, value);
        } else if (key == "attempts") {
            limits.attempts = static_cast<int>(std::max(1.0, value));
        } else if (key == "timeout") {
            if (value < 0.001) {
                return "timeout must be at least 0.001 s (in " + item + ")";
            }
            limits.request_timeout = std::chrono::milliseconds(static_cast<long>(value * 1000));
        } else {
            return "unknown key \"" + key +
                   "\" (expected inflight, host-inflight, rate, burst, attempts or timeout)";
        }
    }
    return {};
}

/// All --budget flags: those without a phase first (every phase), then per phase.
std::string apply_budgets(const std::vector<std::string>& specs,
                          engine::promotion_options& options) {
    for (int pass = 0; pass < 2; ++pass) {
        for (const auto& spec : specs) {
            auto colon = spec.find(':');
            auto equals = spec.find('=');
            bool has_phase = colon != std::string::npos && colon < equals;
            if (has_phase != (pass == 1)) {
                continue;
            }
            if (!has_phase) {
                if (auto error = apply_budget(spec, options.default_budget); !error.empty()) {
                    return "--budget " + spec + ": " + error;
                }
                continue;
            }
            std::string phase = spec.substr(0, colon);
            const auto& names = engine::phase_names();
            if (std::find(names.begin(), names.end(), phase) == names.end()) {
                return "--budget " + spec + ": unknown phase \"" + phase + "\"";
            }
            auto [it, inserted] = options.budgets.try_emplace(phase, options.default_budget);
            if (auto error = apply_budget(spec.substr(colon + 1), it->second); !error.empty()) {
                return "--budget " + spec + ": " + error;
            }
        }
    }
    return {};
}

int usage_error(const std::string& message) {
    std::cerr << "hoist cip: " << message << "\nRun 'hoist cip --help' for the flags.\n";
    return exit_usage;
}

/// Checks the flags together; an error message, or empty when they make sense.
std::string check_flags(const cip_options& o) {
    bool snapshot_mode = !o.snapshot.empty() || !o.manifest_based_snapshot_of.empty();
    if (!o.snapshot.empty() && !o.manifest_based_snapshot_of.empty()) {
        return "--snapshot and --manifest-based-snapshot-of cannot be used together";
    }
    if (!o.manifest.empty() && !o.thin_manifest_dir.empty()) {
        return "--manifest and --thin-manifest-dir cannot be used together";
    }
    if (!snapshot_mode && o.manifest.empty() && o.thin_manifest_dir.empty()) {
        return "at least a manifest file or thin manifest directory have to be specified "
               "(--manifest or --thin-manifest-dir)";
    }
    if (!o.manifest_based_snapshot_of.empty() && o.manifest.empty() &&
        o.thin_manifest_dir.empty()) {
        return "--manifest-based-snapshot-of needs --manifest or --thin-manifest-dir";
    }
    if (o.use_prow_manifest_diff && !o.manifest_diff_since.empty()) {
        return "--use-prow-manifest-diff and --manifest-diff-since cannot be used together";
    }
    if (!o.snapshot_tag.empty() && o.snapshot.empty()) {
        return "--snapshot-tag applies only to --snapshot";
    }
    if (o.minimal_snapshot && !snapshot_mode) {
        return "--minimal-snapshot applies only to --snapshot or --manifest-based-snapshot-of";
    }
    std::string output = lowercase(o.output);
    if (output != "yaml" && output != "csv") {
        return "invalid snapshot output format: " + o.output + " (expected yaml or csv)";
    }
    if (!o.shard.empty() && !parse_shard(o.shard)) {
        return "invalid --shard " + o.shard + ": expected i/n with 0 <= i < n";
    }
    if (o.threads <= 0) {
        return "--threads must be at least 1";
    }
    for (const auto* mode : {&o.validate, &o.provenance}) {
        if (!engine::parse_check_mode(*mode)) {
            return "invalid mode " + *mode + " (expected required, if-present or off)";
        }
    }
    if (o.signature_format != "legacy" && o.signature_format != "bundle") {
        return "invalid --signature-format " + o.signature_format + " (expected legacy or bundle)";
    }
    if (o.verify_keys.empty() && (o.validate == "required" || o.provenance == "required")) {
        return "--validate=required and --provenance=required need --verify-key";
    }
    if (o.max_signature_ops <= 0) {
        return "--max-signature-ops must be at least 1";
    }
    if (!(o.progress_interval >= 0.01 && o.progress_interval <= 86400)) {
        return "--progress-interval must be between 0.01 and 86400 seconds";
    }
    if (o.vuln_severity_threshold > 0 && !snapshot_mode) {
        return "--vuln-severity-threshold: vulnerability scanning needs Google Container "
               "Analysis, which hoist does not support";
    }
    return {};
}

/// kpromo prints the snapshot followed by an empty line.
void print_snapshot(const cip_options& o, const engine::snapshot& images) {
    std::cout << (lowercase(o.output) == "csv" ? engine::render_snapshot_csv(images)
                                               : engine::render_snapshot_yaml(images))
              << '\n';
}

verbosity verbosity_of(const std::string& level) {
    if (level == "debug" || level == "trace") {
        return verbosity::debug;
    }
    if (level == "info") {
        return verbosity::info;
    }
    return verbosity::quiet;
}

void print_problems(const engine::manifest_set& set) {
    for (const auto& warning : set.warnings.items()) {
        std::cerr << "warning: " << engine::to_string(warning) << '\n';
    }
    for (const auto& problem : set.problems.items()) {
        std::cerr << engine::to_string(problem) << '\n';
    }
    if (!set.problems.empty()) {
        std::cerr << "hoist cip: " << set.problems.size()
                  << (set.problems.size() == 1 ? " problem" : " problems")
                  << " in the manifests; nothing was read from or written to any registry\n";
    }
}

/// The digests the diff-restricted modes allow, or nullopt when not restricted.
std::optional<std::optional<std::set<std::string>>> diff_filter(const cip_options& o) {
    if (!o.use_prow_manifest_diff && o.manifest_diff_since.empty()) {
        return std::optional<std::set<std::string>>{};
    }
    std::string directory = !o.manifest.empty() ? o.manifest : o.thin_manifest_dir;
    if (!o.manifest.empty()) {
        auto slash = directory.find_last_of('/');
        directory = slash == std::string::npos ? "." : directory.substr(0, slash);
    }
    auto digests = o.use_prow_manifest_diff
                       ? engine::prow_diff_digests(directory)
                       : engine::since_diff_digests(directory, o.manifest_diff_since);
    if (!digests) {
        report_error(digests.error());
        return std::nullopt;
    }
    return std::optional<std::set<std::string>>(std::move(*digests));
}

void print_parse_summary(const engine::manifest_set& set, const engine::edge_set& edges) {
    std::size_t images = 0;
    std::size_t digests = 0;
    std::size_t tags = 0;
    std::set<std::string> destinations;
    for (const auto& manifest : set.manifests) {
        images += manifest.images.size();
        for (const auto& image : manifest.images) {
            digests += image.dmap.size();
            for (const auto& entry : image.dmap) {
                tags += entry.tags.size();
            }
        }
        for (const auto& registry : manifest.registries) {
            if (!registry.src) {
                destinations.insert(registry.name);
            }
        }
    }
    std::cout << "parsed " << set.manifests.size() << " manifests: " << images << " images, "
              << digests << " image/digest pairs, " << tags << " tags, " << destinations.size()
              << " destination registries; " << edges.edges.size() << " edges to "
              << edges.repositories.size() << " repositories\n";
}

bool write_report(const std::string& path, const nlohmann::ordered_json& json) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << json.dump(2) << '\n';
    if (!out) {
        std::cerr << "hoist cip: cannot write the report to " << path << '\n';
        return false;
    }
    return true;
}

void print_edges(const engine::promotion_plan& plan) {
    const auto& edges = *plan.edges;
    for (std::size_t i = 0; i < edges.edges.size(); ++i) {
        const auto& edge = edges.edges[i];
        std::cout << "edge " << edges.source_path(edge) << "@" << edge.digest() << " -> "
                  << edges.destination_path(edge) << ": "
                  << engine::to_string(plan.decisions[i].outcome) << '\n';
    }
}

int exit_code_of(engine::phase_status status) {
    switch (status) {
        case engine::phase_status::invalid:
            return exit_usage;
        case engine::phase_status::refused:
        case engine::phase_status::failed:
            return exit_failed;
        default:
            return 0;
    }
}

nlohmann::ordered_json signing_counts_json(const engine::signing_counts& c) {
    return {{"digests", c.digests}, {"written", c.written}, {"present", c.present},
            {"carried", c.carried}, {"refused", c.refused}, {"failed", c.failed}};
}

nlohmann::ordered_json supply_to_json(const engine::supply_record& supply) {
    nlohmann::ordered_json verdicts = nlohmann::ordered_json::array();
    for (const auto& v : supply.verdicts) {
        verdicts.push_back({{"phase", v.phase},
                            {"image", v.image},
                            {"result", v.passed   ? "passed"
                                       : v.unread ? "unchecked"
                                                  : "blocked"},
                            {"detail", v.detail}});
    }
    return {{"verdicts", std::move(verdicts)},
            {"signatures", signing_counts_json(supply.signatures)},
            {"attestations", signing_counts_json(supply.attestations)},
            {"errors", supply.errors}};
}

nlohmann::ordered_json run_to_json(const engine::pipeline_report& report,
                                   const engine::promotion_run& run) {
    nlohmann::ordered_json json;
    json["status"] = engine::to_string(report.final_status);
    json["wall_seconds"] = report.wall.count();
    auto phases = nlohmann::ordered_json::array();
    for (const auto& phase : report.phases) {
        nlohmann::ordered_json item{{"name", phase.name}, {"ran", phase.ran}};
        if (phase.ran) {
            item["status"] = engine::to_string(phase.status);
            item["message"] = phase.message;
            item["wall_seconds"] = phase.wall.count();
            item["http_requests"] = phase.http_requests;
            item["budget"] = {{"inflight", phase.budget.inflight},
                              {"host_inflight", phase.budget.host_inflight},
                              {"rate", phase.budget.rate},
                              {"burst", phase.budget.burst},
                              {"attempts", phase.budget.attempts},
                              {"timeout_seconds", phase.budget.request_timeout.count() / 1000.0}};
            auto hosts = nlohmann::ordered_json::object();
            for (const auto& [name, host] : phase.accounting.hosts) {
                auto requests = nlohmann::ordered_json::object();
                for (const auto& [method, statuses] : host.requests) {
                    for (const auto& [status, count] : statuses) {
                        requests[method][std::to_string(status)] = count;
                    }
                }
                hosts[name] = {{"requests", requests},
                               {"bytes_sent", host.bytes_sent},
                               {"bytes_received", host.bytes_received},
                               {"retries", host.retries},
                               {"rate_limited", host.rate_limited},
                               {"window_halvings", host.window_halvings},
                               {"budget_wait_seconds", host.budget_wait.count()}};
            }
            item["hosts"] = std::move(hosts);
        }
        phases.push_back(std::move(item));
    }
    json["phases"] = std::move(phases);
    if (run.plan) {
        json["plan"] = engine::plan_to_json(*run.plan);
    }
    if (run.promoted) {
        const auto& c = run.promoted->counts;
        json["promote"] = {{"images", c.images},
                           {"edges_promoted", c.edges_promoted},
                           {"edges_failed", c.edges_failed},
                           {"manifests_put", c.manifests_put},
                           {"tags_put", c.tags_put},
                           {"blobs_uploaded", c.blobs_uploaded},
                           {"blobs_mounted", c.blobs_mounted},
                           {"blobs_present", c.blobs_present},
                           {"blobs_foreign", c.blobs_foreign},
                           {"bytes_uploaded", c.bytes_uploaded},
                           {"source_bytes_read", c.source_bytes_read},
                           {"edge_retries", c.edge_retries}};
        auto& edges = json["plan"]["edges"];
        for (std::size_t i = 0; i < run.promoted->edges.size() && i < edges.size(); ++i) {
            const auto& result = run.promoted->edges[i];
            if (result.status == engine::promote_status::promoted) {
                edges[i]["result"] = "promoted";
            } else if (result.status == engine::promote_status::failed) {
                edges[i]["result"] = "failed";
                edges[i]["error"] = result.error;
            }
        }
    }
    json["supply"] = supply_to_json(run.supply);
    return json;
}

std::string label(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"') {
            out += '\\';
        }
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

/// The run in Prometheus text exposition format.
std::string run_to_metrics(const engine::pipeline_report& report,
                           const engine::promotion_run& run) {
    std::ostringstream out;
    auto family = [&out](std::string_view name, std::string_view type, std::string_view help) {
        out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    };
    family("hoist_phase_duration_seconds", "gauge", "Wall time of each phase that ran.");
    for (const auto& phase : report.phases) {
        if (phase.ran) {
            out << "hoist_phase_duration_seconds{phase=\"" << phase.name << "\",status=\""
                << engine::to_string(phase.status) << "\"} " << phase.wall.count() << '\n';
        }
    }
    family("hoist_requests_total", "counter",
           "Registry requests by phase, host, method and status (0: no response).");
    for (const auto& phase : report.phases) {
        for (const auto& [host, a] : phase.accounting.hosts) {
            for (const auto& [method, statuses] : a.requests) {
                for (const auto& [status, count] : statuses) {
                    out << "hoist_requests_total{phase=\"" << phase.name << "\",host=\""
                        << label(host) << "\",method=\"" << method << "\",status=\"" << status
                        << "\"} " << count << '\n';
                }
            }
        }
    }
    struct per_host {
        std::string_view name;
        std::string_view help;
        double (*value)(const net::registry::host_accounting&);
    };
    const per_host series[] = {
        {"hoist_bytes_sent_total", "Bytes sent to registries.",
         [](const net::registry::host_accounting& a) { return double(a.bytes_sent); }},
        {"hoist_bytes_received_total", "Bytes received from registries.",
         [](const net::registry::host_accounting& a) { return double(a.bytes_received); }},
        {"hoist_retries_total", "Requests sent again after a transient failure.",
         [](const net::registry::host_accounting& a) { return double(a.retries); }},
        {"hoist_rate_limited_total", "429 responses.",
         [](const net::registry::host_accounting& a) { return double(a.rate_limited); }},
        {"hoist_budget_wait_seconds_total", "Time requests waited for the budget.",
         [](const net::registry::host_accounting& a) { return a.budget_wait.count(); }},
    };
    for (const auto& s : series) {
        family(s.name, "counter", s.help);
        for (const auto& phase : report.phases) {
            for (const auto& [host, a] : phase.accounting.hosts) {
                out << s.name << "{phase=\"" << phase.name << "\",host=\"" << label(host) << "\"} "
                    << s.value(a) << '\n';
            }
        }
    }
    if (run.plan) {
        family("hoist_plan_edges", "gauge", "Edges of the plan by decision.");
        const auto& c = run.plan->counts;
        const std::pair<std::string_view, std::size_t> outcomes[] = {
            {"promote", c.promote}, {"present", c.present}, {"tag_move", c.tag_move},
            {"lost", c.lost},       {"failed", c.failed},   {"blocked", c.blocked}};
        for (const auto& [name, count] : outcomes) {
            out << "hoist_plan_edges{outcome=\"" << name << "\"} " << count << '\n';
        }
    }
    if (run.promoted) {
        const auto& c = run.promoted->counts;
        family("hoist_promoted_edges", "gauge", "Edges the Promote phase finished or failed.");
        out << "hoist_promoted_edges{result=\"promoted\"} " << c.edges_promoted << '\n';
        out << "hoist_promoted_edges{result=\"failed\"} " << c.edges_failed << '\n';
        family("hoist_promoted_blobs", "gauge", "Blobs placed by the Promote phase, by how.");
        out << "hoist_promoted_blobs{how=\"uploaded\"} " << c.blobs_uploaded << '\n';
        out << "hoist_promoted_blobs{how=\"mounted\"} " << c.blobs_mounted << '\n';
        out << "hoist_promoted_blobs{how=\"present\"} " << c.blobs_present << '\n';
    }
    return out.str();
}

void print_phase(const engine::phase_report& phase) {
    std::cout << "[" << phase.name << "] " << engine::to_string(phase.status) << " in "
              << std::fixed << std::setprecision(2) << phase.wall.count() << " s";
    std::cout.unsetf(std::ios::floatfield);
    if (phase.http_requests != 0) {
        std::cout << ", " << phase.http_requests << " requests";
    }
    auto total = phase.accounting.total();
    if (total.retries != 0 || total.rate_limited != 0) {
        std::cout << " (" << total.retries << " retries, " << total.rate_limited << " 429s)";
    }
    if (!phase.message.empty()) {
        std::cout << ": " << phase.message;
    }
    std::cout << '\n';
}

asio::awaitable<int> promotion_command(registry_context& ctx, const cip_options* o,
                                       engine::promotion_options options) {
    engine::promotion_run run;
    run.options = std::move(options);
    run.client = &ctx.client();
    run.http = &ctx.http();
    run.until = ctx.until();
    net::registry::request_budget budget(run.options.default_budget);
    run.budget = &budget;
    ctx.session().set_budget(&budget);
    engine::promote_progress live;
    run.options.promote.progress = &live;
    bool terminal = ::isatty(STDOUT_FILENO) != 0;
    progress_display display(co_await asio::this_coro::executor, &ctx.http(), &budget, &live,
                             &run.work, terminal,
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::duration<double>(o->progress_interval)));
    net::task_tracker background(co_await asio::this_coro::executor);
    if (verbosity_of(o->log_level) != verbosity::quiet) {
        background.spawn(display.run());
    }
    auto level = verbosity_of(o->log_level);
    auto phases = engine::standard_phases();
    std::size_t errors_printed = 0;
    auto on_phase = [&run, &display, level, &errors_printed](const engine::phase_report& phase,
                                                             bool finished) {
        display.set_phase(finished ? std::string() : phase.name);
        if (!finished) {
            return;
        }
        if (phase.name == "setup") {
            print_problems(run.manifests);
        }
        if (phase.name == "provenance" || phase.name == "validate") {
            for (const auto& verdict : run.supply.verdicts) {
                if (verdict.phase == phase.name && (!verdict.passed || level != verbosity::quiet)) {
                    (verdict.passed ? std::cout : std::cerr)
                        << phase.name << ": "
                        << (verdict.passed   ? "passed "
                            : verdict.unread ? "could not check "
                                             : "blocked ")
                        << verdict.image << ": " << verdict.detail << '\n';
                }
            }
        }
        for (; errors_printed < run.supply.errors.size(); ++errors_printed) {
            std::cerr << "failed: " << run.supply.errors[errors_printed] << '\n';
        }
        if (phase.name == "plan" && run.plan) {
            if (level != verbosity::quiet || !run.plan->clean()) {
                engine::print_plan(std::cout, *run.plan);
            }
            if (level == verbosity::debug) {
                print_edges(*run.plan);
            }
        }
        if (level != verbosity::quiet || (phase.status != engine::phase_status::done &&
                                          phase.status != engine::phase_status::skipped &&
                                          phase.status != engine::phase_status::stopped)) {
            print_phase(phase);
        }
    };
    auto report = co_await engine::run_pipeline(phases, run, on_phase);
    display.stop();
    co_await background.join(net::deadline::from_now(std::chrono::seconds(5)));
    if (run.promoted) {
        for (std::size_t i = 0; i < run.promoted->edges.size(); ++i) {
            const auto& result = run.promoted->edges[i];
            if (result.status == engine::promote_status::failed) {
                const auto& edge = run.edges.edges[i];
                std::cerr << "failed: " << run.edges.destination_path(edge) << "@" << edge.digest()
                          << ": " << result.error << '\n';
            }
        }
    }
    ctx.session().set_budget(nullptr);
    if (!o->report.empty() && !write_report(o->report, run_to_json(report, run))) {
        co_return exit_failed;
    }
    if (!o->metrics.empty()) {
        std::ofstream out(o->metrics, std::ios::binary | std::ios::trunc);
        out << run_to_metrics(report, run);
        if (!out) {
            std::cerr << "hoist cip: cannot write the metrics to " << o->metrics << '\n';
            co_return exit_failed;
        }
    }
    if (report.final_status == engine::phase_status::done ||
        report.final_status == engine::phase_status::stopped) {
        if (run.options.parse_only) {
            print_parse_summary(run.manifests, run.edges);
        }
    }
    co_return exit_code_of(report.final_status);
}

asio::awaitable<int> snapshot_command(registry_context& ctx, const cip_options* o,
                                      const engine::edge_set* edges) {
    engine::snapshot_options options;
    options.parallel_requests = static_cast<std::size_t>(o->threads);
    engine::snapshot images;
    std::string root;
    if (!o->snapshot.empty()) {
        root = o->snapshot;
        while (!root.empty() && root.back() == '/') {
            root.pop_back();
        }
        auto walked = co_await engine::registry_snapshot(ctx.client(), root, options, ctx.until());
        if (!walked) {
            report_error(walked.error());
            co_return exit_failed;
        }
        images = std::move(*walked);
        if (!o->snapshot_tag.empty()) {
            engine::keep_tagged(images, o->snapshot_tag);
        }
    } else {
        images = engine::manifest_based_snapshot(*edges, o->manifest_based_snapshot_of);
        root = o->manifest_based_snapshot_of;
        while (!root.empty() && root.back() == '/') {
            root.pop_back();
        }
    }
    if (o->minimal_snapshot) {
        auto where = [&root](const std::string& name) {
            return name.empty() ? root : root + "/" + name;
        };
        auto dropped = co_await engine::drop_tagless_children(ctx.client(), images, where, options,
                                                              ctx.until());
        if (!dropped) {
            report_error(dropped.error());
            co_return exit_failed;
        }
    }
    print_snapshot(*o, images);
    co_return 0;
}

}  // namespace

/// --manifest-based-snapshot-of: offline unless --minimal-snapshot needs the manifests.
int manifest_snapshot(const cip_options& o, const registry_options& registries,
                      const std::optional<std::set<std::string>>& only) {
    engine::load_options options;
    options.only_digests = only;
    auto set = o.manifest.empty() ? engine::load_thin_manifests(o.thin_manifest_dir, options)
                                  : engine::load_plain_manifest(o.manifest, options);
    print_problems(set);
    if (!set.ok()) {
        return exit_usage;
    }
    auto edges = engine::compute_edges(set.manifests);
    if (!o.minimal_snapshot) {
        print_snapshot(o, engine::manifest_based_snapshot(edges, o.manifest_based_snapshot_of));
        return 0;
    }
    return run_command(registries, [&o, &edges](registry_context& ctx) {
        return snapshot_command(ctx, &o, &edges);
    });
}

/// Keys, modes and the provenance policy, read before any registry is touched.
std::string apply_supply_flags(const cip_options& o, engine::supply_options& supply) {
    supply.validate = *engine::parse_check_mode(o.validate);
    supply.provenance = *engine::parse_check_mode(o.provenance);
    supply.bundle_signatures = o.signature_format == "bundle";
    supply.parallel = static_cast<std::size_t>(o.max_signature_ops);
    supply.promoter_version = HOIST_VERSION;
    supply.promoter_commit = HOIST_SOURCE_COMMIT;
    supply.builder_id =
        o.builder_id.empty() ? std::string("urn:hoist:promoter@") + HOIST_VERSION : o.builder_id;
    if (!o.verify_keys.empty()) {
        auto keys = read_verification_keys(o.verify_keys);
        if (!keys.value) {
            return keys.problem;
        }
        supply.verify_keys = std::move(*keys.value);
    }
    if (!o.signing_key.empty() && o.sign && o.confirm) {
        auto key = read_signing_key(o.signing_key);
        if (!key.value) {
            return key.problem;
        }
        supply.signing_key = std::move(*key.value);
    }
    if (!o.provenance_policy.empty()) {
        std::ifstream in(o.provenance_policy, std::ios::binary);
        if (!in) {
            return "cannot read --provenance-policy " + o.provenance_policy;
        }
        std::stringstream text;
        text << in.rdbuf();
        engine::diagnostics problems;
        supply.policy = engine::parse_provenance_policy(text.str(), o.provenance_policy, problems);
        if (!supply.policy) {
            std::string message = "invalid provenance policy:";
            for (const auto& d : problems.items()) {
                message += "\n  " + engine::to_string(d);
            }
            return message;
        }
        // A project that requires provenance can never pass without a key to verify it.
        bool requires_provenance = supply.policy->fallback &&
                                   supply.policy->fallback->mode == engine::check_mode::required;
        for (const auto& rule : supply.policy->projects) {
            requires_provenance |= rule.mode == engine::check_mode::required;
        }
        if (requires_provenance && supply.verify_keys.empty()) {
            return "--provenance-policy " + o.provenance_policy +
                   " requires provenance for some projects: give --verify-key";
        }
    }
    return {};
}

CLI::App* add_cip_command(CLI::App& app, cip_options& o) {
    auto* cip = app.add_subcommand("cip",
                                   "Promote images as kpromo cip does, from the same "
                                   "manifests and flags");
    cip->add_option("--manifest", o.manifest, "A plain promoter manifest")->type_name("FILE");
    cip->add_option("--thin-manifest-dir", o.thin_manifest_dir,
                    "Root of a thin manifest tree (manifests/<p>/promoter-manifest.yaml and "
                    "images/<p>/images.yaml)")
        ->type_name("DIR");
    cip->add_flag("--confirm", o.confirm,
                  "Promote; without it the run is a dry run that only plans");
    cip->add_flag("--parse-only", o.parse_only, "Only read and validate the manifests, offline");
    cip->add_option("--threads", o.threads, "Registry requests in flight at once while planning")
        ->capture_default_str();
    cip->add_option("--snapshot", o.snapshot,
                    "Print what a registry path holds, as an images.yaml (or CSV)")
        ->type_name("REGISTRY");
    cip->add_option("--snapshot-tag", o.snapshot_tag,
                    "With --snapshot: only digests carrying this tag");
    cip->add_flag("--minimal-snapshot", o.minimal_snapshot,
                  "Leave out tagless digests that are children of an index");
    cip->add_option("--output", o.output, "Snapshot format: yaml or csv")->capture_default_str();
    cip->add_option("--manifest-based-snapshot-of", o.manifest_based_snapshot_of,
                    "Print what the manifests put into this destination registry path")
        ->type_name("REGISTRY");
    cip->add_flag("--use-prow-manifest-diff", o.use_prow_manifest_diff,
                  "Only digests in the git diff of the Prow change (JOB_TYPE, PULL_BASE_SHA)");
    cip->add_option("--manifest-diff-since", o.manifest_diff_since,
                    "Only digests in the git diff of the commits within this window, e.g. "
                    "\"7 days\"");
    cip->add_option("--log-level", o.log_level, "panic, fatal, error, warning, info, debug, trace")
        ->check(CLI::IsMember({"panic", "fatal", "error", "warning", "info", "debug", "trace"}))
        ->capture_default_str();
    cip->add_option("--max-image-size", o.max_image_size, "Ignored (kept for kpromo compatibility)")
        ->group("");
    cip->add_option("--vuln-severity-threshold", o.vuln_severity_threshold,
                    "kpromo's vulnerability scan; only 0 (scan disabled) is supported")
        ->capture_default_str();
    cip->add_option("--signer-account", o.signer_account, "Identity that signs")
        ->capture_default_str();
    cip->add_option("--certificate-identity", o.certificate_identity,
                    "Expected signer identity of staging signatures")
        ->capture_default_str();
    cip->add_option("--certificate-oidc-issuer", o.certificate_oidc_issuer,
                    "Expected OIDC issuer of staging signatures")
        ->capture_default_str();
    cip->add_option("--certificate-identity-regexp", o.certificate_identity_regexp,
                    "Regular expression alternative to --certificate-identity");
    cip->add_option("--certificate-oidc-issuer-regexp", o.certificate_oidc_issuer_regexp,
                    "Regular expression alternative to --certificate-oidc-issuer");
    cip->add_flag("--sign,!--no-sign", o.sign, "Sign and attest promoted images (--sign=false)")
        ->capture_default_str();
    cip->add_option("--max-signature-ops", o.max_signature_ops, "Signing operations at once")
        ->capture_default_str();
    cip->add_option("--signing-key", o.signing_key,
                    "Key that signs and attests (cosign.key, password from COSIGN_PASSWORD "
                    "or the terminal, or an unencrypted PEM key); without it nothing is signed")
        ->type_name("FILE");
    cip->add_option("--verify-key", o.verify_keys,
                    "Public key (cosign.pub) that staging signatures and provenance must "
                    "verify with; repeatable")
        ->type_name("FILE");
    cip->add_option("--validate", o.validate, "Staging signatures: required, if-present or off")
        ->capture_default_str();
    cip->add_option("--provenance", o.provenance,
                    "SLSA provenance of staging images: required, if-present or off (the "
                    "policy file may set it per project)")
        ->capture_default_str();
    cip->add_option("--provenance-policy", o.provenance_policy,
                    "YAML: per project, provenance mode and allowed builders and sources")
        ->type_name("FILE");
    cip->add_option("--signature-format", o.signature_format,
                    "legacy (cosign .sig images) or bundle (sigstore bundle referrers)")
        ->capture_default_str();
    cip->add_option("--builder-id", o.builder_id,
                    "builderId of the promotion attestations (default urn:hoist:promoter@VERSION)");
    cip->add_option("--shard", o.shard,
                    "Only the edges of shard i of n (0 <= i < n), by destination repository")
        ->type_name("i/n");
    cip->add_option("--report", o.report,
                    "Write the run as JSON to FILE: phases with their accounting, the plan, "
                    "every edge's result")
        ->type_name("FILE");
    cip->add_option("--metrics", o.metrics, "Write the run's metrics (Prometheus text) to FILE")
        ->type_name("FILE");
    cip->add_option("--progress-interval", o.progress_interval,
                    "Seconds between progress lines when the output is not a terminal (and "
                    "between redraws of a terminal's bar, when under 0.25)")
        ->capture_default_str();
    cip->add_option("--budget", o.budgets,
                    "[PHASE:]key=value[,key=value] with keys inflight, host-inflight, rate "
                    "(requests/s per host, 0: none), burst, attempts, timeout (s); repeatable")
        ->type_name("SPEC")
        ->take_all();
    return cip;
}

int run_cip(const cip_options& o, const registry_options& registries) {
    if (auto problem = check_flags(o); !problem.empty()) {
        return usage_error(problem);
    }
    bool registry_snapshot_mode = !o.snapshot.empty();
    if (registry_snapshot_mode) {
        return run_command(
            registries, [&o](registry_context& ctx) { return snapshot_command(ctx, &o, nullptr); });
    }

    auto only = diff_filter(o);
    if (!only) {
        return exit_failed;
    }
    if (!o.manifest_based_snapshot_of.empty()) {
        return manifest_snapshot(o, registries, *only);
    }
    engine::promotion_options options;
    options.manifest = o.manifest;
    options.thin_manifest_dir = o.thin_manifest_dir;
    options.load.only_digests = *only;
    if (!o.shard.empty()) {
        auto spec = *parse_shard(o.shard);
        options.shard = std::make_pair(spec.index, spec.count);
    }
    options.parse_only = o.parse_only;
    options.confirm = o.confirm && o.vuln_severity_threshold < 0;
    options.sign = o.sign;
    options.plan.parallel_requests = static_cast<std::size_t>(o.threads);
    if (auto problem = apply_supply_flags(o, options.supply); !problem.empty()) {
        return usage_error(problem);
    }
    // --request-timeout is the budgets' `timeout` until a --budget says otherwise.
    options.default_budget.request_timeout =
        std::chrono::seconds(registries.request_timeout_seconds);
    if (auto problem = apply_budgets(o.budgets, options); !problem.empty()) {
        return usage_error(problem);
    }
    return run_command(registries, [&o, &options](registry_context& ctx) {
        return promotion_command(ctx, &o, options);
    });
}

}  // namespace hoist::tools
