// SPDX-License-Identifier: Apache-2.0
// hoist-workload: pushes deterministic synthetic images for the demo, the tests and the
// benchmarks.
//
//   hoist-workload push 127.0.0.1:5000/demo/sample:v1 --platforms linux/amd64,linux/arm64
#include "tools/hoist/context.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace hoist::tools {
namespace {

namespace reg = net::registry;

asio::awaitable<int> push(registry_context& ctx, reg::image_ref target, testkit::image_spec spec) {
    auto image = testkit::build_image(spec);
    auto pushed =
        co_await testkit::push_image(ctx.client(), target.repo, target.tag, image, ctx.until());
    if (!pushed) {
        report_error(pushed.error());
        co_return 1;
    }
    std::cout << "pushed " << target.to_string() << "@" << *pushed << ": " << spec.platforms.size()
              << " platform(s), " << image.blobs.size() << " blobs, " << image.total_bytes()
              << " bytes\n";
    co_return 0;
}

}  // namespace

int workload_main(int argc, char** argv) {
    CLI::App app{"hoist-workload: push deterministic synthetic images", "hoist-workload"};
    app.require_subcommand(1);
    registry_options options;
    options.add_to(app);

    std::string reference_text;
    testkit::image_spec spec;
    std::string platforms = "linux/amd64";
    auto* push_command = app.add_subcommand("push", "Push one synthetic image");
    push_command->add_option("REF", reference_text, "registry/repository:tag")->required();
    push_command->add_option("--platforms", platforms,
                             "Comma-separated os/arch[/variant]; several make an index");
    push_command->add_option("--layers", spec.layers, "Layers unique to each image");
    push_command->add_option("--layer-size", spec.layer_size, "Bytes per layer");
    push_command->add_option("--seed", spec.seed, "Seed of every byte");
    push_command->add_option("--base-seed", spec.base_seed,
                             "Seed of a base layer shared by images with the same one (0: none)");
    bool docker = false;
    push_command->add_flag("--docker", docker, "Docker v2 media types instead of OCI");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    spec.oci = !docker;
    spec.platforms.clear();
    for (std::size_t start = 0; start <= platforms.size();) {
        auto comma = platforms.find(',', start);
        auto item = platforms.substr(start, comma - start);
        if (!item.empty()) {
            spec.platforms.push_back(item);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    auto target = reg::parse_image_ref(reference_text);
    if (!target || spec.platforms.empty()) {
        std::cerr << "hoist-workload: " << (target ? "no platform given" : target.error().message())
                  << "\n";
        return 2;
    }
    return run_command(options, [&](registry_context& ctx) { return push(ctx, *target, spec); });
}

}  // namespace hoist::tools

int main(int argc, char** argv) {
    return hoist::tools::workload_main(argc, argv);
}
