// SPDX-License-Identifier: Apache-2.0
// hoist-testreg: starts N docker-registry instances on 127.0.0.1 for the demo and benchmark
// scripts, prints shell-sourceable variables describing them, and keeps them running until
// SIGTERM, SIGINT or SIGHUP.
//
//   hoist-testreg --kind tls --count 2 --env-file /tmp/regs.env &
//   # wait for /tmp/regs.env to appear (it is written atomically), then:
//   source /tmp/regs.env; skopeo copy --dest-cert-dir … docker://$REG1/…
#include "tools/testkit/registry_launcher.hpp"

#include <CLI/CLI.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using hoist::testkit::registry_instance;
using hoist::testkit::registry_options;

// Single-quoted for POSIX shells: only ' itself needs escaping.
std::string shell_quote(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string describe(const std::vector<registry_instance>& registries, std::string_view kind) {
    std::string env;
    auto line = [&](const std::string& name, std::string_view value) {
        env += name + "=" + shell_quote(value) + "\n";
    };
    line("HOIST_TESTREG_PID", std::to_string(::getpid()));
    line("REG_KIND", kind);
    line("REG_COUNT", std::to_string(registries.size()));
    for (std::size_t i = 0; i < registries.size(); ++i) {
        const auto& r = registries[i];
        const std::string prefix = "REG" + std::to_string(i + 1);
        line(prefix, r.host_port());
        line(prefix + "_URL", r.base_url());
        if (!r.ca_file().empty()) {
            line(prefix + "_CA", r.ca_file().string());
        }
        line(prefix + "_ROOT", r.root_dir().string());
        line(prefix + "_STORAGE", r.storage_dir().string());
        line(prefix + "_LOG", r.log_file().string());
        if (!r.username().empty()) {
            line(prefix + "_USER", r.username());
            line(prefix + "_PASSWORD", r.password());
        }
        if (r.token_issuer()) {
            line(prefix + "_TOKEN_REALM", r.token_issuer()->realm());
        }
    }
    return env;
}

// Written under a temporary name and renamed, so a script polling for the file never
// sources half of it.
bool write_atomically(const fs::path& path, const std::string& content) {
    const fs::path temporary = path.string() + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << content;
        out.close();
        if (!out) {
            return false;
        }
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) {
        fs::remove(temporary, ec);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Starts docker-registry instances on 127.0.0.1 and keeps them running until "
        "SIGTERM/SIGINT/SIGHUP."};
    std::string kind_name = "tls";
    int count = 1;
    std::string root;
    std::string env_file;
    std::string registry_binary;
    app.add_option("--kind", kind_name, "tls | plain | basic | token")
        ->check(CLI::IsMember({"tls", "plain", "basic", "token"}));
    app.add_option("--count", count, "number of registries")->check(CLI::Range(1, 64));
    app.add_option("--root", root,
                   "keep registry N's files (and images) in ROOT/regN; default: temporary "
                   "directories, removed on exit");
    app.add_option("--env-file", env_file,
                   "write the shell variables here (atomically) instead of stdout; removed on "
                   "exit");
    app.add_option("--registry-binary", registry_binary,
                   "docker-registry executable (default: $HOIST_DOCKER_REGISTRY or $PATH)");
    CLI11_PARSE(app, argc, argv);

    // Blocked before any thread exists (token servers run threads), so every thread
    // inherits the mask and sigwait() below receives them. Children get a clean mask.
    // The dispositions are reset first: a shell starts background jobs with SIGINT
    // ignored, and an ignored signal is discarded even while blocked.
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
        ::signal(sig, SIG_DFL);
        sigaddset(&signals, sig);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::vector<registry_instance> registries;
    for (int i = 1; i <= count; ++i) {
        registry_options options;
        options.mode = *hoist::testkit::parse_registry_kind(kind_name);
        options.registry_binary = registry_binary;
        if (!root.empty()) {
            options.root_dir = (fs::path(root) / ("reg" + std::to_string(i))).string();
        }
        auto started = registry_instance::start(std::move(options));
        if (!started) {
            std::cerr << "hoist-testreg: registry " << i << ": " << started.error().message()
                      << "\n";
            return 1;  // the ones already started are stopped by their destructors
        }
        registries.push_back(std::move(*started));
    }

    const std::string env = describe(registries, kind_name);
    if (env_file.empty()) {
        std::cout << env << std::flush;
    } else if (!write_atomically(env_file, env)) {
        std::cerr << "hoist-testreg: cannot write " << env_file << "\n";
        return 1;
    }
    std::cerr << "hoist-testreg: " << registries.size() << " " << kind_name << " registr"
              << (registries.size() == 1 ? "y" : "ies") << " ready; stop with SIGTERM or SIGINT\n";

    int status = 0;
    while (true) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0) {
            status = 1;
            break;
        }
        if (sig != SIGCHLD) {
            break;
        }
        // A child exited: fine if it was a helper (htpasswd), fatal if it was a registry.
        bool all_running = true;
        for (std::size_t i = 0; i < registries.size(); ++i) {
            if (!registries[i].running()) {
                std::cerr << "hoist-testreg: registry " << i + 1 << " exited; see "
                          << registries[i].log_file() << "\n";
                all_running = false;
            }
        }
        if (!all_running) {
            status = 1;
            break;
        }
    }
    if (!env_file.empty()) {
        std::error_code ignored;
        fs::remove(env_file, ignored);
    }
    registries.clear();  // SIGTERM each registry and wait for it
    return status;
}
