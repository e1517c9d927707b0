// SPDX-License-Identifier: Apache-2.0
/// `hoist keygen`: a signing key pair in cosign's files — `cosign.key` (encrypted, as
/// `cosign generate-key-pair` writes it, so cosign can sign with it too) and `cosign.pub`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace hoist::tools {

struct keygen_options {
    std::string output_key_prefix = "cosign";
    bool force = false;
};

/// Adds the `keygen` subcommand with --output-key-prefix and --force to `app`.
CLI::App* add_keygen_command(CLI::App& app, keygen_options& options);

/// Writes PREFIX.key (mode 0600) and PREFIX.pub, never over existing files unless
/// `force`; the password comes from tools/hoist/password.hpp. Returns the exit code:
/// 0 written, 1 a file could not be written, 2 a file exists or no password was given.
int run_keygen(const keygen_options& options);

}  // namespace hoist::tools
