// SPDX-License-Identifier: Apache-2.0
// A promotion killed with SIGKILL in the middle of Promote leaves no tag that names
// anything missing, and running it again completes it exactly.
#include "net/registry/media_types.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/staging_set.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::registry_instance;
using testsupport::run_process;

using testsupport::start_registry;

std::size_t count_puts(const registry_instance& registry) {
    std::size_t n = 0;
    for (const auto& line : registry.access_log()) {
        if (line.find("\"PUT ") != std::string::npos) {
            ++n;
        }
    }
    return n;
}

/// What a check of the destination found.
struct audit {
    std::size_t tags = 0;
    std::vector<std::string> problems;  ///< tags naming something missing, wrong bytes
};

struct audit_input {
    std::string destination;  ///< host:port/prod
    std::string source;       ///< host:port/staging
    const std::vector<testkit::staging_image>* images;
    bool require_all = false;  ///< every image must be there (after the rerun)
};

asio::awaitable<void> check_manifest_tree(reg::registry_client* client, reg::repository_ref repo,
                                          std::string reference, audit* out, int depth) {
    auto manifest = co_await client->get_manifest(
        repo, reference, net::deadline::from_now(std::chrono::seconds(20)));
    if (!manifest) {
        out->problems.push_back(repo.to_string() + "@" + reference + ": " +
                                manifest.error().message());
        co_return;
    }
    auto parsed = reg::parse_manifest(manifest->body, manifest->media_type);
    if (!parsed) {
        out->problems.push_back(repo.to_string() + "@" + reference + ": unparsable");
        co_return;
    }
    if (parsed->is_index()) {
        for (const auto& child : parsed->manifests) {
            co_await check_manifest_tree(client, repo, child.digest, out, depth + 1);
        }
        co_return;
    }
    std::vector<reg::descriptor> blobs(parsed->layers.begin(), parsed->layers.end());
    if (parsed->config) {
        blobs.push_back(*parsed->config);
    }
    for (const auto& blob : blobs) {
        auto present = co_await client->head_blob(
            repo, blob.digest, net::deadline::from_now(std::chrono::seconds(20)));
        if (!present || !*present) {
            out->problems.push_back(repo.to_string() + "@" + reference + " names missing blob " +
                                    blob.digest);
        }
    }
}

asio::awaitable<audit> audit_destination(reg::registry_client& client, audit_input input) {
    audit out;
    auto until = net::deadline::from_now(std::chrono::seconds(60));
    for (const auto& image : *input.images) {
        auto repo = reg::parse_repository_ref(input.destination + "/" + image.repository);
        auto info = co_await client.head_manifest(*repo, image.tag, until);
        if (!info || !*info) {
            if (input.require_all) {
                out.problems.push_back(repo->to_string() + ":" + image.tag + " is missing");
            }
            continue;
        }
        ++out.tags;
        if ((*info)->digest != image.digest) {
            out.problems.push_back(repo->to_string() + ":" + image.tag + " is " + (*info)->digest +
                                   ", not " + image.digest);
        }
        co_await check_manifest_tree(&client, *repo, image.tag, &out, 0);
    }
    co_return out;
}

TEST(CipKill, KilledDuringPromoteThenRerunCompletes) {
    auto source = start_registry();
    auto destination = start_registry();
    std::string pattern = (fs::temp_directory_path() / "hoist-kill-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    fs::path work = pattern;

    testkit::staging_set_spec spec;
    spec.repositories = 16;
    spec.tags = 3;
    spec.index_every = 2;
    spec.layer_size = 64 * 1024;
    spec.seed = 9;
    testsupport::client_setup setup;
    setup.ca_files = {source.ca_file().string(), destination.ca_file().string()};
    auto pushed = testsupport::run_client<net::result<std::vector<testkit::staging_image>>>(
        setup, [&](reg::registry_client& client) {
            return testkit::push_staging_set(client, source.host_port() + "/staging", spec, 8,
                                             net::deadline::from_now(std::chrono::seconds(120)));
        });
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    testkit::write_thin_manifests(work / "promo", "staging", source.host_port() + "/staging",
                                  {destination.host_port() + "/prod"}, *pushed);

    std::string command = std::string(HOIST_BINARY) + " --ca-file " + source.ca_file().string() +
                          " --ca-file " + destination.ca_file().string() +
                          " cip --confirm --sign=false --thin-manifest-dir " +
                          (work / "promo").string();
    // Slow the run down (few requests at once) so that the kill lands in the middle.
    auto puts_before = count_puts(destination);
    bool killed = testsupport::run_and_kill_when(
        command + " --budget promote:host-inflight=2", (work / "first.log").string(), destination,
        [&] { return count_puts(destination) >= puts_before + 12; });
    ASSERT_TRUE(killed) << "the run ended before it could be killed";

    audit_input input{destination.host_port() + "/prod", source.host_port() + "/staging", &*pushed,
                      false};
    auto after_kill = testsupport::run_client<audit>(
        setup, [&](reg::registry_client& client) { return audit_destination(client, input); });
    EXPECT_TRUE(after_kill.problems.empty()) << after_kill.problems.front();
    EXPECT_LT(after_kill.tags, pushed->size()) << "the kill came too late to test anything";

    int status = -1;
    auto out = run_process(command + " 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
    input.require_all = true;
    auto after_rerun = testsupport::run_client<audit>(
        setup, [&](reg::registry_client& client) { return audit_destination(client, input); });
    EXPECT_EQ(after_rerun.tags, pushed->size());
    EXPECT_TRUE(after_rerun.problems.empty()) << after_rerun.problems.front();
    fs::remove_all(work);
}

}  // namespace
}  // namespace hoist
