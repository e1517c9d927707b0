// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/context.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>

namespace hoist::tools {

void registry_options::add_to(CLI::App& app) {
    app.add_option("--insecure-registry", insecure_registries,
                   "Registry (host or host:port) that may use plain http or unverified TLS")
        ->type_name("HOST")
        ->take_all();
    app.add_option("--ca-file", ca_files, "Extra CA certificates (PEM) to trust")
        ->type_name("FILE")
        ->check(CLI::ExistingFile)
        ->take_all();
    app.add_option("--authfile", authfile,
                   "Credentials file (docker config.json format); default: REGISTRY_AUTH_FILE, "
                   "containers auth.json, then ~/.docker/config.json")
        ->type_name("FILE");
    app.add_flag("--http1", http1_only, "Do not offer HTTP/2 (ALPN http/1.1 only)");
    app.add_option("--timeout", timeout_seconds, "Deadline of the whole command, in seconds")
        ->check(CLI::PositiveNumber);
    app.add_option("--request-timeout", request_timeout_seconds,
                   "Deadline of one registry request, in seconds")
        ->check(CLI::PositiveNumber);
}

namespace {

net::http_client_options http_options(const registry_options& options) {
    net::http_client_options out;
    out.tls.ca_files = options.ca_files;
    out.tls.certs_dirs = net::tls_options::default_certs_dirs();
    out.tls.offer_h2 = !options.http1_only;
    return out;
}

net::registry::credential_store credentials(const registry_options& options) {
    if (!options.authfile.empty()) {
        return net::registry::credential_store({options.authfile});
    }
    return net::registry::credential_store::from_environment();
}

net::registry::session_options session_options(const registry_options& options) {
    net::registry::session_options out;
    out.insecure_registries = options.insecure_registries;
    out.request_timeout = std::chrono::seconds(options.request_timeout_seconds);
    return out;
}

}  // namespace

registry_context::registry_context(asio::any_io_executor executor, const registry_options& options)
    : http_(executor, http_options(options)),
      session_(http_, credentials(options), session_options(options)),
      client_(session_),
      until_(net::deadline::from_now(std::chrono::seconds(options.timeout_seconds))) {}

namespace {

// lifetime: `options` and `command` belong to run_command, which runs the io_context
// until this coroutine is done.
asio::awaitable<int> run_in_context(
    const registry_options& options,
    std::function<asio::awaitable<int>(registry_context&)>& command) {
    registry_context context(co_await asio::this_coro::executor, options);
    int code = co_await command(context);
    co_await context.close();
    co_return code;
}

}  // namespace

int run_command(const registry_options& options,
                std::function<asio::awaitable<int>(registry_context&)> command) {
    asio::io_context io;
    int exit_code = 1;
    asio::co_spawn(io, run_in_context(options, command), [&](std::exception_ptr error, int code) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                std::cerr << "hoist: internal error: " << e.what() << "\n";
            }
            exit_code = 1;
            return;
        }
        exit_code = code;
    });
    io.run();
    return exit_code;
}

void report_error(const net::failure& failure) {
    std::cerr << "hoist: " << failure.message() << "\n";
}

}  // namespace hoist::tools
