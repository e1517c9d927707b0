// SPDX-License-Identifier: Apache-2.0
/// The provenance policy of `--provenance-policy FILE`: per project (a source repository
/// prefix), whether SLSA provenance is required, and which builders and source
/// repositories it may name. Format (YAML):
///
///     default:                      # optional: for sources no project matches
///       mode: if-present            # required | if-present | off
///       builders: []                # empty or absent: any builder
///       sources: []                 # empty or absent: any source
///     projects:
///       - source: gcr.io/k8s-staging-foo     # "<registry>/<path>" prefix of the source image
///         mode: required
///         builders: ["https://github.com/kubernetes/foo/.github/workflows/release.yaml@*"]
///         sources: ["https://github.com/kubernetes/foo", "git+https://github.com/kubernetes/foo*"]
///
/// A pattern ending in `*` matches every string starting with what precedes it; others
/// match exactly. The longest `source` that is a path prefix of the image's source
/// repository wins. A project without `mode` takes the `--provenance` mode.
#pragma once

#include "engine/manifest/diagnostics.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {

/// How strictly a check is applied (`--validate`, `--provenance`, policy `mode`).
enum class check_mode : std::uint8_t { required, if_present, off };

std::string_view to_string(check_mode mode);
std::optional<check_mode> parse_check_mode(std::string_view text);

struct provenance_rule {
    std::string source;  ///< repository prefix; empty for the default rule
    std::optional<check_mode> mode;
    std::vector<std::string> builders;
    std::vector<std::string> sources;
};

struct provenance_policy {
    std::optional<provenance_rule> fallback;
    std::vector<provenance_rule> projects;

    /// The rule for a source repository path ("<registry>/<image>"); null when none.
    const provenance_rule* rule_for(std::string_view source_repository) const;
};

/// True when `value` matches one of `patterns` (exact, or prefix for a trailing `*`); an
/// empty pattern list allows everything.
bool allowed_by(const std::vector<std::string>& patterns, std::string_view value);

/// Reads a policy file's text. Errors name file:line:col, as manifest errors do.
std::optional<provenance_policy> parse_provenance_policy(std::string_view text,
                                                         const std::string& file,
                                                         diagnostics& problems);

}  // namespace hoist::engine
