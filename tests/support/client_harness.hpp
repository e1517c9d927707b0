// SPDX-License-Identifier: Apache-2.0
/// Runs registry-client coroutines from a test: builds the client stack on a fresh
/// io_context, runs the coroutine to completion, shuts the connections down.
#pragma once

#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/registry/registry_client.hpp"
#include "net/registry/registry_session.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>
#include <vector>

namespace hoist::testsupport {

struct client_setup {
    std::vector<std::string> ca_files;
    /// certs.d-style folders of `<host:port>/ca.crt`; none by default.
    std::vector<std::string> certs_dirs;
    std::vector<std::string> insecure_registries;
    /// Credential files (docker config.json format); none means no credentials.
    std::vector<std::string> auth_files;
    bool http1_only = false;
    net::pool_limits limits;
    net::registry::registry_client_options client_options;
    net::registry::session_options session_options;
};

/// What the client did, for tests that assert on connection use.
struct run_stats {
    net::client_stats http;
    net::registry::session_stats session;
    net::registry::client_counters client;
};

template <class T>
T run_client(const client_setup& setup,
             std::function<asio::awaitable<T>(net::registry::registry_client&)> body,
             run_stats* stats = nullptr) {
    asio::io_context io;
    net::http_client_options http_options;
    http_options.tls.ca_files = setup.ca_files;
    http_options.tls.certs_dirs = setup.certs_dirs;
    http_options.tls.offer_h2 = !setup.http1_only;
    http_options.limits = setup.limits;
    net::http_client http(io.get_executor(), http_options);
    auto session_options = setup.session_options;
    session_options.insecure_registries = setup.insecure_registries;
    net::registry::registry_session session(http, net::registry::credential_store(setup.auth_files),
                                            session_options);
    net::registry::registry_client client(session, setup.client_options);
    T out{};
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            out = co_await body(client);
            co_await http.shutdown();
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    io.run();
    if (stats != nullptr) {
        *stats = run_stats{http.stats(), session.stats(), client.counters()};
    }
    return out;
}

/// Runs a command, returning its standard output; `status` gets the exit status.
std::string run_process(const std::string& command, int* status = nullptr);

}  // namespace hoist::testsupport
