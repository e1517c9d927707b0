// SPDX-License-Identifier: Apache-2.0
/// What every hoist command shares: the options about registries (trust, insecure
/// registries, credentials, timeouts) and the client stack built from them.
#pragma once

#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/registry/registry_client.hpp"
#include "net/registry/registry_session.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hoist::tools {

struct registry_options {
    std::vector<std::string> insecure_registries;
    std::vector<std::string> ca_files;
    std::string authfile;
    bool http1_only = false;
    int timeout_seconds = 3600;
    int request_timeout_seconds = 60;

    /// Adds --insecure-registry, --ca-file, --authfile, --http1, --timeout to `app`.
    void add_to(CLI::App& app);
};

/// The client stack of one command run, on one io_context.
class registry_context {
public:
    registry_context(asio::any_io_executor executor, const registry_options& options);

    net::registry::registry_client& client() { return client_; }
    /// Ends every connection; must be awaited before the context is destroyed.
    asio::awaitable<void> close() { co_await http_.shutdown(); }
    net::http_client& http() { return http_; }
    net::registry::registry_session& session() { return session_; }
    net::deadline until() const { return until_; }

private:
    net::http_client http_;
    net::registry::registry_session session_;
    net::registry::registry_client client_;
    net::deadline until_;
};

/// Runs `command` with a fresh client stack on a fresh io_context, closes the stack, and
/// returns the command's exit code. An exception escaping the command is a bug: it is
/// reported and gives exit code 1.
int run_command(const registry_options& options,
                std::function<asio::awaitable<int>(registry_context&)> command);

/// Prints "hoist: <message>" to stderr.
void report_error(const net::failure& failure);

}  // namespace hoist::tools
