// SPDX-License-Identifier: Apache-2.0
// The hoist command line. Exit codes: 0 done, 1 failed, 2 bad invocation.
#include "engine/image_copy.hpp"
#include "tools/hoist/cip.hpp"
#include "tools/hoist/context.hpp"
#include "tools/hoist/keygen.hpp"
#include "tools/hoist/supply_commands.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace hoist::tools {
namespace {

namespace reg = net::registry;

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

// Parses a reference given on the command line; a bad one is a usage error.
std::optional<reg::image_ref> image_arg(const std::string& text, std::string_view default_tag) {
    auto parsed = reg::parse_image_ref(text, default_tag);
    if (!parsed) {
        report_error(parsed.error());
        return std::nullopt;
    }
    return *parsed;
}

asio::awaitable<int> show_tags(registry_context& ctx, reg::repository_ref repo) {
    auto listing = co_await ctx.client().list_tags(repo, ctx.until());
    if (!listing) {
        report_error(listing.error());
        co_return exit_failed;
    }
    for (const auto& tag : listing->tags) {
        std::cout << tag << '\n';
    }
    co_return 0;
}

asio::awaitable<int> show_manifest(registry_context& ctx, reg::image_ref ref) {
    auto manifest = co_await ctx.client().get_manifest(ref.repo, ref.reference(), ctx.until());
    if (!manifest) {
        report_error(manifest.error());
        co_return exit_failed;
    }
    std::cout.write(manifest->body.data(), static_cast<std::streamsize>(manifest->body.size()));
    std::cout.flush();
    co_return 0;
}

asio::awaitable<int> show_digest(registry_context& ctx, reg::image_ref ref) {
    auto info = co_await ctx.client().head_manifest(ref.repo, ref.reference(), ctx.until());
    if (!info) {
        report_error(info.error());
        co_return exit_failed;
    }
    if (!*info) {
        report_error(net::fail(net::errc::not_found, "manifest " + ref.to_string()));
        co_return exit_failed;
    }
    std::cout << (*info)->digest << '\n';
    co_return 0;
}

asio::awaitable<int> show_catalog(registry_context& ctx, std::string registry) {
    auto repositories = co_await ctx.client().catalog(registry, ctx.until());
    if (!repositories) {
        report_error(repositories.error());
        co_return exit_failed;
    }
    for (const auto& repository : *repositories) {
        std::cout << repository << '\n';
    }
    co_return 0;
}

asio::awaitable<int> copy(registry_context& ctx, reg::image_ref source, reg::image_ref destination,
                          engine::copy_options options) {
    auto report =
        co_await engine::copy_image(ctx.client(), source, destination, options, ctx.until());
    if (!report) {
        report_error(net::with_context(
            report.error(), "copy " + source.to_string() + " to " + destination.to_string()));
        co_return exit_failed;
    }
    std::cout << "copied " << source.to_string() << " to " << destination.to_string() << " ("
              << report->digest << "): " << report->manifests_written << " manifests written, "
              << report->manifests_present << " present; " << report->blobs_uploaded
              << " blobs uploaded (" << report->bytes_uploaded << " bytes), "
              << report->blobs_mounted << " mounted, " << report->blobs_present
              << " already present";
    if (report->blobs_foreign > 0) {
        std::cout << ", " << report->blobs_foreign << " foreign left in place";
    }
    auto stats = ctx.http().stats();
    std::cout << "; " << stats.requests << " requests over " << stats.connections_opened
              << " connections (" << stats.h2_connections_opened << " HTTP/2)\n";
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"hoist: promote container images between OCI registries", "hoist"};
    app.require_subcommand(1);
    registry_options options;
    options.add_to(app);

    std::string repository_text;
    auto* tags = app.add_subcommand("tags", "List the tags of a repository");
    tags->add_option("REPOSITORY", repository_text, "registry/repository")->required();

    std::string reference_text;
    auto* manifest = app.add_subcommand("manifest", "Print a manifest's exact bytes");
    manifest->add_option("REF", reference_text, "registry/repository[:tag|@digest]")->required();
    auto* digest = app.add_subcommand("digest", "Print the digest of a manifest");
    digest->add_option("REF", reference_text, "registry/repository[:tag|@digest]")->required();

    std::string registry_text;
    auto* catalog = app.add_subcommand("catalog", "List the repositories of a registry");
    catalog->add_option("REGISTRY", registry_text, "host[:port]")->required();

    std::string source_text, destination_text;
    engine::copy_options copy_options;
    auto* copy_command = app.add_subcommand("copy", "Copy one image, keeping its digest");
    copy_command->add_option("SRC", source_text, "source reference")->required();
    copy_command->add_option("DST", destination_text, "destination reference")->required();
    copy_command->add_flag("--all", copy_options.all, "Copy a whole index and every image in it");
    copy_command->add_option("--platform", copy_options.platform,
                             "Image to pick from an index without --all (os/arch[/variant])");

    cip_options cip;
    auto* cip_command = add_cip_command(app, cip);

    keygen_options keygen;
    auto* keygen_command = add_keygen_command(app, keygen);

    sign_options sign;
    auto* sign_command = add_sign_command(app, sign);
    verify_options verify;
    auto* verify_command = add_verify_command(app, verify);
    attest_options attest;
    auto* attest_command = add_attest_command(app, attest);
    verify_attestation_options verify_attestation;
    auto* verify_attestation_command = add_verify_attestation_command(app, verify_attestation);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : exit_usage;
    }

    if (cip_command->parsed()) {
        return run_cip(cip, options);
    }
    if (keygen_command->parsed()) {
        return run_keygen(keygen);
    }
    if (sign_command->parsed()) {
        return run_sign(sign, options);
    }
    if (verify_command->parsed()) {
        return run_verify(verify, options);
    }
    if (attest_command->parsed()) {
        return run_attest(attest, options);
    }
    if (verify_attestation_command->parsed()) {
        return run_verify_attestation(verify_attestation, options);
    }
    if (tags->parsed()) {
        auto repo = reg::parse_repository_ref(repository_text);
        if (!repo) {
            report_error(repo.error());
            return exit_usage;
        }
        return run_command(options, [&](registry_context& ctx) { return show_tags(ctx, *repo); });
    }
    if (manifest->parsed() || digest->parsed()) {
        auto ref = image_arg(reference_text, "latest");
        if (!ref) {
            return exit_usage;
        }
        if (manifest->parsed()) {
            return run_command(options,
                               [&](registry_context& ctx) { return show_manifest(ctx, *ref); });
        }
        return run_command(options, [&](registry_context& ctx) { return show_digest(ctx, *ref); });
    }
    if (catalog->parsed()) {
        return run_command(options,
                           [&](registry_context& ctx) { return show_catalog(ctx, registry_text); });
    }
    if (copy_command->parsed()) {
        auto source = image_arg(source_text, "latest");
        // A destination without tag or digest takes the source's tag, as skopeo does.
        auto destination = image_arg(destination_text, "");
        if (!source || !destination) {
            return exit_usage;
        }
        if (destination->tag.empty() && destination->digest.empty()) {
            destination->tag = source->tag;
            destination->digest = source->tag.empty() ? source->digest : "";
        }
        return run_command(options, [&](registry_context& ctx) {
            return copy(ctx, *source, *destination, copy_options);
        });
    }
    return exit_usage;
}

}  // namespace hoist::tools

int main(int argc, char** argv) {
    return hoist::tools::main(argc, argv);
}
