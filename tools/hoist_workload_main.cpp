// SPDX-License-Identifier: Apache-2.0
// hoist-workload: pushes deterministic synthetic images for the demo, the tests and the
// benchmarks: one image, or a whole staging set with the thin manifests that promote it.
//
//   hoist-workload push 127.0.0.1:5000/demo/sample:v1 --platforms linux/amd64,linux/arm64
//   hoist-workload set 127.0.0.1:5000/staging --repositories 100 --tags 4
//       --manifest-dir promo --destination 127.0.0.1:5001/prod
#include "tools/hoist/context.hpp"
#include "tools/testkit/staging_set.hpp"
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

struct set_options {
    std::string path;
    testkit::staging_set_spec spec;
    std::size_t parallel = 32;
    std::string manifest_dir;
    std::string project = "staging";
    std::vector<std::string> destinations;
};

asio::awaitable<int> push_set(registry_context& ctx, const set_options* options) {
    auto pushed = co_await testkit::push_staging_set(ctx.client(), options->path, options->spec,
                                                     options->parallel, ctx.until());
    if (!pushed) {
        report_error(pushed.error());
        co_return 1;
    }
    if (!options->manifest_dir.empty()) {
        testkit::write_thin_manifests(options->manifest_dir, options->project, options->path,
                                      options->destinations, *pushed);
    }
    std::cout << "pushed " << pushed->size() << " images in " << options->spec.repositories
              << " repositories under " << options->path << "\n";
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

    set_options set;
    auto* set_command = app.add_subcommand("set", "Push a staging set: repositories x tags");
    set_command->add_option("PATH", set.path, "registry path, e.g. 127.0.0.1:5000/staging")
        ->required();
    set_command->add_option("--repositories", set.spec.repositories, "Repositories")
        ->capture_default_str();
    set_command->add_option("--tags", set.spec.tags, "Tags (images) per repository")
        ->capture_default_str();
    set_command
        ->add_option("--index-every", set.spec.index_every,
                     "Every n-th repository holds two-platform indexes (0: none)")
        ->capture_default_str();
    set_command->add_option("--layers", set.spec.layers, "Unique layers per image")
        ->capture_default_str();
    set_command->add_option("--layer-size", set.spec.layer_size, "Bytes per layer")
        ->capture_default_str();
    set_command->add_option("--seed", set.spec.seed, "Seed of the set")->capture_default_str();
    set_command->add_option("--parallel", set.parallel, "Images pushed at once")
        ->capture_default_str();
    set_command->add_option("--manifest-dir", set.manifest_dir,
                            "Write thin manifests promoting the set here");
    set_command->add_option("--project", set.project, "Project name in the manifest tree")
        ->capture_default_str();
    set_command
        ->add_option("--destination", set.destinations,
                     "Destination registry path of the manifests (repeatable)")
        ->take_all();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (set_command->parsed()) {
        return run_command(options, [&set](registry_context& ctx) { return push_set(ctx, &set); });
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
