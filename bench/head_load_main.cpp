// SPDX-License-Identifier: Apache-2.0
// hoist-bench-head: N manifest HEADs at concurrency C through hoist's registry client,
// the counterpart of `h2load -m C -H ':method: HEAD'` on the same URL. Prints one line of
// JSON: requests, failures, wall seconds, requests/s, CPU seconds of this process,
// connections opened.
#include "engine/bounded.hpp"
#include "tools/hoist/context.hpp"

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>

namespace hoist::bench {
namespace {

namespace reg = net::registry;

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](timeval t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct tally {
    std::size_t ok = 0;
    std::size_t failed = 0;
};

// lifetime: `ctx` and `counts` belong to run(), which awaits every call.
asio::awaitable<void> one_head(tools::registry_context& ctx, reg::image_ref target, tally* counts) {
    auto head = co_await ctx.client().head_manifest(target.repo, target.reference(), ctx.until());
    if (head && *head) {
        ++counts->ok;
    } else {
        ++counts->failed;
    }
}

asio::awaitable<int> run(tools::registry_context& ctx, reg::image_ref target, std::size_t requests,
                         std::size_t concurrency) {
    // Warm up: resolve the registry, open the first connection.
    if (auto warm = co_await ctx.client().ping(target.repo.registry, ctx.until()); !warm) {
        tools::report_error(warm.error());
        co_return 1;
    }
    tally counts;
    double cpu_before = cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    co_await engine::for_each_bounded(requests, concurrency,
                                      [&](std::size_t) { return one_head(ctx, target, &counts); });
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu = cpu_seconds() - cpu_before;
    auto stats = ctx.http().stats();
    std::printf(
        "{\"requests\": %zu, \"failed\": %zu, \"concurrency\": %zu, \"seconds\": %.3f, "
        "\"requests_per_second\": %.1f, \"cpu_seconds\": %.3f, \"connections\": %zu}\n",
        counts.ok, counts.failed, concurrency, wall, double(counts.ok) / wall, cpu,
        stats.connections_opened);
    co_return counts.failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace hoist::bench

int main(int argc, char** argv) {
    using namespace hoist;
    CLI::App app{"hoist-bench-head: manifest HEADs through hoist's client", "hoist-bench-head"};
    tools::registry_options options;
    options.add_to(app);
    std::string reference;
    std::size_t requests = 10000;
    std::size_t concurrency = 64;
    app.add_option("REF", reference, "registry/repository:tag")->required();
    app.add_option("-n,--requests", requests, "Requests in all");
    app.add_option("-c,--concurrency", concurrency, "Requests in flight");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    auto target = net::registry::parse_image_ref(reference);
    if (!target) {
        tools::report_error(target.error());
        return 2;
    }
    return tools::run_command(options, [&](tools::registry_context& ctx) {
        return bench::run(ctx, *target, requests, concurrency);
    });
}
