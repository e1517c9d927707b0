// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/cip.hpp"

#include "engine/manifest/diff_digests.hpp"
#include "engine/manifest/loader.hpp"
#include "engine/plan/edges.hpp"
#include "engine/plan/plan.hpp"
#include "engine/plan/plan_report.hpp"
#include "engine/plan/snapshot.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <set>

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

engine::manifest_set load(const cip_options& o, const std::optional<std::set<std::string>>& only) {
    engine::load_options options;
    options.only_digests = only;
    return o.manifest.empty() ? engine::load_thin_manifests(o.thin_manifest_dir, options)
                              : engine::load_plain_manifest(o.manifest, options);
}

asio::awaitable<int> plan_command(registry_context& ctx, const cip_options* o,
                                  const engine::edge_set* edges) {
    engine::plan_options options;
    options.parallel_requests = static_cast<std::size_t>(o->threads);
    auto before = ctx.http().stats().requests;
    auto plan = co_await engine::make_plan(ctx.client(), *edges, options, ctx.until());
    plan.requests.http_requests = ctx.http().stats().requests - before;
    auto level = verbosity_of(o->log_level);
    if (level != verbosity::quiet || !plan.clean()) {
        engine::print_plan(std::cout, plan);
    }
    if (level == verbosity::debug) {
        for (std::size_t i = 0; i < edges->edges.size(); ++i) {
            const auto& edge = edges->edges[i];
            std::cout << "edge " << edges->source_path(edge) << "@" << edge.digest() << " -> "
                      << edges->destination_path(edge) << ": "
                      << engine::to_string(plan.decisions[i].outcome) << '\n';
        }
    }
    if (!o->report.empty()) {
        nlohmann::ordered_json report;
        report["plan"] = engine::plan_to_json(plan);
        if (!write_report(o->report, report)) {
            co_return exit_failed;
        }
    }
    if (!plan.clean()) {
        std::cerr << "hoist cip: the plan is refused: " << plan.counts.tag_move << " tag moves, "
                  << plan.counts.lost << " lost digests, " << plan.counts.failed
                  << " unreadable; nothing was promoted\n";
        co_return exit_failed;
    }
    if (o->vuln_severity_threshold == 0) {
        std::cout << "vulnerability scan disabled (threshold <= 0)\n";
        co_return 0;
    }
    if (!o->confirm) {
        std::cout << "dry run complete: nothing was promoted (use --confirm to promote)\n";
        co_return 0;
    }
    std::cerr << "hoist cip: --confirm: the Promote phase is not part of this build yet; "
                 "nothing was promoted\n";
    co_return exit_failed;
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
    cip->add_option("--shard", o.shard,
                    "Only the edges of shard i of n (0 <= i < n), by destination repository")
        ->type_name("i/n");
    cip->add_option("--report", o.report, "Write the plan as JSON to FILE")->type_name("FILE");
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
    auto set = load(o, *only);
    print_problems(set);
    if (!set.ok()) {
        return exit_usage;
    }
    auto edges = engine::compute_edges(set.manifests);
    if (!o.shard.empty()) {
        auto spec = *parse_shard(o.shard);
        engine::keep_shard(edges, spec.index, spec.count);
    }
    if (*only && edges.edges.empty() && o.manifest_based_snapshot_of.empty()) {
        std::cout << "no manifests to process: the diff names no digest of the manifests\n";
        return 0;
    }
    if (!o.manifest_based_snapshot_of.empty()) {
        if (!o.minimal_snapshot) {
            print_snapshot(o, engine::manifest_based_snapshot(edges, o.manifest_based_snapshot_of));
            return 0;
        }
        return run_command(registries, [&o, &edges](registry_context& ctx) {
            return snapshot_command(ctx, &o, &edges);
        });
    }
    if (o.parse_only) {
        print_parse_summary(set, edges);
        return 0;
    }
    return run_command(
        registries, [&o, &edges](registry_context& ctx) { return plan_command(ctx, &o, &edges); });
}

}  // namespace hoist::tools
