// SPDX-License-Identifier: Apache-2.0
/// `hoist cip`: kpromo's container image promoter command, with kpromo's flags and their
/// meanings, plus hoist's own (--shard, --report).
#pragma once

#include "tools/hoist/context.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hoist::tools {

struct cip_options {
    std::string manifest;
    std::string thin_manifest_dir;
    bool confirm = false;
    bool parse_only = false;
    int threads = 64;
    std::string snapshot;
    std::string snapshot_tag;
    bool minimal_snapshot = false;
    std::string output = "yaml";
    std::string manifest_based_snapshot_of;
    bool use_prow_manifest_diff = false;
    std::string manifest_diff_since;
    std::string log_level = "info";
    int max_image_size = 0;
    int vuln_severity_threshold = -1;
    // Identity and signing: accepted with kpromo's defaults; the signing phases use them.
    std::string signer_account = "krel-trust@k8s-releng-prod.iam.gserviceaccount.com";
    std::string certificate_identity = "krel-trust@k8s-releng-prod.iam.gserviceaccount.com";
    std::string certificate_oidc_issuer = "https://accounts.google.com";
    std::string certificate_identity_regexp;
    std::string certificate_oidc_issuer_regexp;
    bool sign = true;
    int max_signature_ops = 50;
    // Supply chain (hoist's own flags; kpromo signs keyless, hoist with a key).
    std::string signing_key;
    std::vector<std::string> verify_keys;
    std::string validate = "if-present";
    std::string provenance = "if-present";
    std::string provenance_policy;
    std::string signature_format = "legacy";
    std::string builder_id;
    // hoist's own.
    std::string shard;
    std::string report;
    std::string metrics;
    std::vector<std::string> budgets;
    /// Seconds between progress lines when standard output is not a terminal, and between
    /// redraws of a terminal's bar when under 0.25.
    double progress_interval = 10;
};

/// Adds the `cip` subcommand with every flag to `app`.
CLI::App* add_cip_command(CLI::App& app, cip_options& options);

/// Runs `hoist cip`; returns the exit code (0 done, 1 failed or refused, 2 bad invocation
/// or invalid manifests).
int run_cip(const cip_options& options, const registry_options& registries);

}  // namespace hoist::tools
