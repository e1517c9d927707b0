// SPDX-License-Identifier: Apache-2.0
/// `hoist sign`, `verify`, `attest` and `verify-attestation`: cosign's key-based commands
/// for one image, writing and reading what cosign writes and reads (`.sig` images, `.att`
/// images, sigstore bundle referrers).
#pragma once

#include "tools/hoist/context.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace hoist::tools {

struct sign_options {
    std::string reference;
    std::string key;
    /// critical.identity.docker-reference; empty: the repository, as cosign names it.
    std::string identity;
    std::vector<std::string> annotations;  ///< "key=value"
    bool recursive = false;
    std::string signature_format = "legacy";
};

struct verify_options {
    std::string reference;
    std::vector<std::string> keys;
    std::vector<std::string> annotations;  ///< "key=value", each required in the signature
};

struct attest_options {
    std::string reference;
    std::string key;
    std::string predicate;  ///< a file holding the predicate, a JSON object
    std::string type = "custom";
};

struct verify_attestation_options {
    std::string reference;
    std::vector<std::string> keys;
    std::string type = "custom";
};

CLI::App* add_sign_command(CLI::App& app, sign_options& options);
CLI::App* add_verify_command(CLI::App& app, verify_options& options);
CLI::App* add_attest_command(CLI::App& app, attest_options& options);
CLI::App* add_verify_attestation_command(CLI::App& app, verify_attestation_options& options);

/// Signs the image (each child of an index too with `recursive`) unless the key signed it
/// already. Exit code: 0 signed or already signed, 1 a registry failure, 2 a bad
/// reference, key or annotation.
int run_sign(const sign_options& options, const registry_options& registries);

/// Verifies the image's signatures, legacy `.sig` first and bundle referrers when there is
/// none, printing each verified payload as one JSON line. Exit code: 0 at least one
/// verifies and carries every annotation, 1 none does (each refusal said on stderr) or a
/// registry failure, 2 a bad invocation.
int run_verify(const verify_options& options, const registry_options& registries);

/// Attaches an in-toto statement of the predicate as a bundle referrer unless one of its
/// type by the key is there already. Exit code: 0, 1 a registry failure, 2 a bad
/// invocation (reference, key, predicate file, type).
int run_attest(const attest_options& options, const registry_options& registries);

/// Verifies the image's attestations (bundle referrers and `.att` layers) of the type,
/// printing each verified statement as one JSON line. Exit code as for `run_verify`.
int run_verify_attestation(const verify_attestation_options& options,
                           const registry_options& registries);

}  // namespace hoist::tools
