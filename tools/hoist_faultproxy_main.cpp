// SPDX-License-Identifier: Apache-2.0
// hoist-faultproxy: a fault-injecting HTTP/1.1 proxy in front of one TLS registry, for
// scripts that check how a promotion copes with 429s, 503s, resets and stalls. Runs until
// SIGTERM or SIGINT, then prints what it injected.
//
//   hoist-faultproxy --upstream $REG2 --ca-file $REG2_CA --reset-after 0.1 --env-file p.env &
//   # wait for p.env to appear (it is written atomically), then:
//   source p.env; hoist cip … (destination $PROXY/prod)
#include "tools/testkit/fault_proxy.hpp"

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
using hoist::testkit::fault_options;
using hoist::testkit::fault_proxy;

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
        "Forwards plain HTTP/1.1 on 127.0.0.1 to one TLS registry, injecting faults, until "
        "SIGTERM/SIGINT."};
    std::string upstream;
    std::string ca_file;
    std::string env_file;
    double stall_seconds = 3;
    fault_options options;
    app.add_option("--upstream", upstream, "the registry, HOST:PORT (https)")->required();
    app.add_option("--ca-file", ca_file, "PEM bundle that verifies the registry")
        ->check(CLI::ExistingFile);
    app.add_option("--seed", options.seed, "seed of the fault generator")->capture_default_str();
    const auto probability = CLI::Range(0.0, 1.0);
    app.add_option("--rate-limit", options.rate_limit, "probability of a 429 (Retry-After: 1)")
        ->check(probability);
    app.add_option("--unavailable", options.unavailable, "probability of a 503")
        ->check(probability);
    app.add_option("--reset-before", options.reset_before,
                   "probability of a reset on the request head, before its body is read")
        ->check(probability);
    app.add_option("--reset-after", options.reset_after,
                   "probability of a reset after the registry answered")
        ->check(probability);
    app.add_option("--stall-body", options.stall_body,
                   "probability of an answer that stops halfway through its body")
        ->check(probability);
    app.add_option("--reset-body", options.reset_body,
                   "probability of an answer reset halfway through its body")
        ->check(probability);
    app.add_option("--stall", options.stall, "probability of a silent connection")
        ->check(probability);
    app.add_option("--stall-seconds", stall_seconds, "how long a stalled connection stays silent")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    app.add_option("--methods", options.methods, "fault only these methods (e.g. PUT,POST)")
        ->delimiter(',');
    app.add_option("--targets", options.targets,
                   "fault only requests whose target contains one of these (e.g. .sig)")
        ->delimiter(',');
    app.add_option("--max-faults", options.max_faults, "faults in all, then forward faithfully");
    app.add_flag("--referrers-api", options.referrers_api,
                 "serve the OCI referrers API for manifests pushed through the proxy");
    app.add_option("--referrers-page-size", options.referrers_page_size,
                   "referrers per answer of that API, the rest behind Link: rel=next (0: all)");
    app.add_option("--max-consecutive", options.max_consecutive,
                   "faults in a row for the same request")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--env-file", env_file,
                   "write PROXY=127.0.0.1:PORT here (atomically) when ready, instead of stdout; "
                   "removed on exit");
    CLI11_PARSE(app, argc, argv);
    options.stall_time =
        std::chrono::milliseconds(static_cast<long long>(stall_seconds * 1000.0 + 0.5));

    // Blocked before the proxy's thread exists, so it inherits the mask and sigwait()
    // below receives them. The dispositions are reset first: a shell starts background
    // jobs with SIGINT ignored, and an ignored signal is discarded even while blocked.
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGINT, SIGTERM}) {
        ::signal(sig, SIG_DFL);
        sigaddset(&signals, sig);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    auto proxy = fault_proxy::start(upstream, ca_file, options);
    if (!proxy) {
        std::cerr << "hoist-faultproxy: " << proxy.error().message() << "\n";
        return 1;
    }
    const std::string env = "PROXY=" + (*proxy)->host_port() +
                            "\nPROXY_URL=" + (*proxy)->base_url() +
                            "\nHOIST_FAULTPROXY_PID=" + std::to_string(::getpid()) + "\n";
    if (env_file.empty()) {
        std::cout << env << std::flush;
    } else if (!write_atomically(env_file, env)) {
        std::cerr << "hoist-faultproxy: cannot write " << env_file << "\n";
        return 1;
    }
    std::cerr << "hoist-faultproxy: " << (*proxy)->base_url() << " → " << (*proxy)->upstream()
              << " ready; stop with SIGTERM or SIGINT\n";

    int sig = 0;
    int status = sigwait(&signals, &sig) == 0 ? 0 : 1;
    (*proxy)->stop();
    std::cerr << "hoist-faultproxy: " << (*proxy)->counts().to_string() << "\n";
    if (!env_file.empty()) {
        std::error_code ignored;
        fs::remove(env_file, ignored);
    }
    return status;
}
