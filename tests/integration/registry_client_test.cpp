// SPDX-License-Identifier: Apache-2.0
// The registry client against real docker-registry instances on 127.0.0.1: TLS (which
// serves HTTP/2), plain http, basic auth and token auth.
#include "crypto/sha256.hpp"
#include "engine/bounded.hpp"
#include "engine/image_copy.hpp"
#include "net/registry/media_types.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/skopeo.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"
#include "tools/testkit/token_server.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::registry_instance;
using testkit::registry_options;
using testsupport::client_setup;
using testsupport::run_client;
using testsupport::run_process;

constexpr auto test_deadline = std::chrono::seconds(60);

net::deadline soon() {
    return net::deadline::from_now(test_deadline);
}

using testsupport::start_registry;

// The registries are shared by the tests of this file; each test uses its own repositories.
class RegistryClient : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tls_a = new registry_instance(start_registry(registry_options::kind::tls));
        tls_b = new registry_instance(start_registry(registry_options::kind::tls));
        plain = new registry_instance(start_registry(registry_options::kind::plain));
    }
    static void TearDownTestSuite() {
        delete tls_a;
        delete tls_b;
        delete plain;
    }

    static client_setup trusting_all() {
        client_setup setup;
        setup.ca_files = {tls_a->ca_file().string(), tls_b->ca_file().string()};
        return setup;
    }

    static reg::repository_ref repo(const registry_instance& r, std::string name) {
        return reg::repository_ref{r.host_port(), std::move(name)};
    }

    // The bytes skopeo reads for a reference, for byte-for-byte comparisons made by a
    // reader that is not ours.
    static std::string skopeo_raw(const registry_instance& r, const std::string& reference) {
        std::string ca = r.mode() == registry_instance::kind::plain ? "" : r.ca_file().string();
        return testsupport::skopeo_raw(r.host_port(), ca, reference);
    }

    static inline registry_instance* tls_a = nullptr;
    static inline registry_instance* tls_b = nullptr;
    static inline registry_instance* plain = nullptr;
};

TEST_F(RegistryClient, PushedImageReadsBackByteForByteOverHttp2) {
    testkit::image_spec spec;
    spec.platforms = {"linux/amd64", "linux/arm64/v8"};
    spec.seed = 11;
    auto image = testkit::build_image(spec);
    auto target = repo(*tls_a, "client/multiarch");
    testsupport::run_stats stats;
    auto pushed = run_client<net::result<std::string>>(
        trusting_all(),
        [&](reg::registry_client& c) {
            return testkit::push_image(c, target, "v1", image, soon());
        },
        &stats);
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    EXPECT_EQ(*pushed, image.top.digest);
    EXPECT_EQ(stats.http.h2_connections_opened, stats.http.connections_opened);
    EXPECT_GE(stats.http.h2_connections_opened, 1u);

    auto fetched = run_client<net::result<reg::fetched_manifest>>(
        trusting_all(),
        [&](reg::registry_client& c) { return c.get_manifest(target, "v1", soon()); });
    ASSERT_TRUE(fetched.has_value()) << fetched.error().message();
    EXPECT_EQ(fetched->body, image.top.body);
    EXPECT_EQ(fetched->digest, image.top.digest);
    EXPECT_EQ(fetched->media_type, reg::media_type::oci_index);
    EXPECT_EQ(skopeo_raw(*tls_a, "client/multiarch:v1"), image.top.body);

    // Every request of ours went over HTTP/2, as the registry itself recorded.
    ASSERT_TRUE(tls_a->wait_for_access_log(1));
    std::size_t ours = 0;
    for (const auto& line : tls_a->access_log()) {
        if (line.find("hoist/") != std::string::npos) {
            ++ours;
            EXPECT_NE(line.find("HTTP/2.0"), std::string::npos) << line;
        }
    }
    EXPECT_GT(ours, image.blobs.size());
}

TEST_F(RegistryClient, HeadAndDigestAndTagsAndCatalog) {
    testkit::image_spec spec;
    spec.seed = 12;
    auto image = testkit::build_image(spec);
    auto target = repo(*tls_a, "client/listing");
    std::vector<std::string> tags = {"a", "b", "c", "d", "e"};
    auto setup = trusting_all();
    setup.client_options.page_size = 2;  // five tags over three pages, through Link headers
    struct outcome {
        net::result<std::optional<reg::manifest_info>> head = net::fail(net::errc::cancelled);
        net::result<std::optional<reg::manifest_info>> missing = net::fail(net::errc::cancelled);
        net::result<reg::tag_listing> listing = net::fail(net::errc::cancelled);
        net::result<std::vector<std::string>> catalog = net::fail(net::errc::cancelled);
        net::result<reg::tag_listing> unknown_repo = net::fail(net::errc::cancelled);
    };
    auto got = run_client<outcome>(setup, [&](reg::registry_client& c) -> asio::awaitable<outcome> {
        outcome o;
        for (const auto& tag : tags) {
            auto pushed = co_await testkit::push_image(c, target, tag, image, soon());
            EXPECT_TRUE(pushed.has_value());
            // One repository per tag too, so that the catalog spans several pages.
            auto other = repo(*tls_a, "client/listing-" + tag);
            pushed = co_await testkit::push_image(c, other, "t", image, soon());
            EXPECT_TRUE(pushed.has_value());
        }
        o.head = co_await c.head_manifest(target, "c", soon());
        o.missing = co_await c.head_manifest(target, "nope", soon());
        o.listing = co_await c.list_tags(target, soon());
        o.catalog = co_await c.catalog(tls_a->host_port(), soon());
        o.unknown_repo = co_await c.list_tags(repo(*tls_a, "client/never-pushed"), soon());
        co_return o;
    });
    ASSERT_TRUE(got.head.has_value()) << got.head.error().message();
    ASSERT_TRUE(got.head->has_value());
    EXPECT_EQ((*got.head)->digest, image.top.digest);
    EXPECT_EQ((*got.head)->media_type, reg::media_type::oci_manifest);
    ASSERT_TRUE(got.missing.has_value());
    EXPECT_FALSE(got.missing->has_value());
    ASSERT_TRUE(got.listing.has_value()) << got.listing.error().message();
    auto listed = got.listing->tags;
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, tags);
    ASSERT_TRUE(got.catalog.has_value()) << got.catalog.error().message();
    for (const auto& tag : tags) {
        EXPECT_NE(std::find(got.catalog->begin(), got.catalog->end(), "client/listing-" + tag),
                  got.catalog->end());
    }
    EXPECT_NE(std::find(got.catalog->begin(), got.catalog->end(), "client/listing"),
              got.catalog->end());
    // docker-registry 2.8 paginates the catalog (not tags/list): with n=2 the listing
    // needed one page per two repositories, each found through the Link header.
    std::size_t catalog_pages = 0;
    for (const auto& line : tls_a->access_log()) {
        if (line.find("GET /v2/_catalog?") != std::string::npos) {
            ++catalog_pages;
        }
    }
    std::size_t full_pages = (got.catalog->size() + 1) / 2;
    EXPECT_GE(catalog_pages, full_pages);
    EXPECT_LE(catalog_pages, full_pages + 1);  // a registry may end with an empty page
    ASSERT_FALSE(got.unknown_repo.has_value());
    EXPECT_TRUE(got.unknown_repo.error().is(net::errc::not_found));
}

TEST_F(RegistryClient, CopyAllBetweenRegistriesKeepsEveryDigest) {
    testkit::image_spec spec;
    spec.platforms = {"linux/amd64", "linux/arm64", "linux/s390x"};
    spec.seed = 13;
    spec.base_seed = 99;  // a base layer shared by the three images
    auto image = testkit::build_image(spec);
    auto source = reg::image_ref{repo(*tls_a, "client/copy-src"), "v2", ""};
    auto destination = reg::image_ref{repo(*tls_b, "client/copy-dst"), "v2", ""};
    auto pushed =
        run_client<net::result<std::string>>(trusting_all(), [&](reg::registry_client& c) {
            return testkit::push_image(c, source.repo, "v2", image, soon());
        });
    ASSERT_TRUE(pushed.has_value());
    engine::copy_options options;
    options.all = true;
    auto copied =
        run_client<net::result<engine::copy_report>>(trusting_all(), [&](reg::registry_client& c) {
            return engine::copy_image(c, source, destination, options, soon());
        });
    ASSERT_TRUE(copied.has_value()) << copied.error().message();
    EXPECT_EQ(copied->digest, image.top.digest);
    EXPECT_EQ(copied->manifests_written, 4u);
    EXPECT_EQ(copied->blobs_uploaded, image.blobs.size());
    EXPECT_EQ(skopeo_raw(*tls_b, "client/copy-dst:v2"), image.top.body);
    for (const auto& child : image.manifests) {
        EXPECT_EQ(skopeo_raw(*tls_b, "client/copy-dst@" + child.digest), child.body);
    }
    // A second copy finds everything present and writes only the tag again.
    auto again =
        run_client<net::result<engine::copy_report>>(trusting_all(), [&](reg::registry_client& c) {
            return engine::copy_image(c, source, destination, options, soon());
        });
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->blobs_uploaded, 0u);
    EXPECT_EQ(again->manifests_present, 3u);
}

TEST_F(RegistryClient, CopyWithinARegistryMountsBlobs) {
    testkit::image_spec spec;
    spec.seed = 14;
    spec.layers = 3;
    auto image = testkit::build_image(spec);
    auto source = reg::image_ref{repo(*tls_a, "client/mount-src"), "m", ""};
    auto destination = reg::image_ref{repo(*tls_a, "client/mount-dst"), "m", ""};
    auto pushed =
        run_client<net::result<std::string>>(trusting_all(), [&](reg::registry_client& c) {
            return testkit::push_image(c, source.repo, "m", image, soon());
        });
    ASSERT_TRUE(pushed.has_value());
    auto copied =
        run_client<net::result<engine::copy_report>>(trusting_all(), [&](reg::registry_client& c) {
            return engine::copy_image(c, source, destination, {}, soon());
        });
    ASSERT_TRUE(copied.has_value()) << copied.error().message();
    EXPECT_EQ(copied->blobs_mounted, image.blobs.size());
    EXPECT_EQ(copied->blobs_uploaded, 0u);
    EXPECT_EQ(skopeo_raw(*tls_a, "client/mount-dst:m"), image.top.body);
}

TEST_F(RegistryClient, PlainHttpRegistryOnLoopbackUsesHttp1) {
    testkit::image_spec spec;
    spec.seed = 15;
    spec.platforms = {"linux/amd64", "linux/arm"};
    auto image = testkit::build_image(spec);
    auto target = repo(*plain, "client/plain");
    testsupport::run_stats stats;
    auto pushed = run_client<net::result<std::string>>(
        trusting_all(),
        [&](reg::registry_client& c) { return testkit::push_image(c, target, "p", image, soon()); },
        &stats);
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    EXPECT_EQ(stats.http.h2_connections_opened, 0u);
    // Keep-alive: far fewer connections than requests.
    EXPECT_LT(stats.http.connections_opened * 3, stats.http.requests);
    EXPECT_EQ(skopeo_raw(*plain, "client/plain:p"), image.top.body);
    // And across protocols: plain http source, HTTP/2 destination.
    engine::copy_options options;
    options.all = true;
    auto copied =
        run_client<net::result<engine::copy_report>>(trusting_all(), [&](reg::registry_client& c) {
            return engine::copy_image(c, reg::image_ref{target, "p", ""},
                                      reg::image_ref{repo(*tls_b, "client/from-plain"), "p", ""},
                                      options, soon());
        });
    ASSERT_TRUE(copied.has_value()) << copied.error().message();
    EXPECT_EQ(skopeo_raw(*tls_b, "client/from-plain:p"), image.top.body);
}

TEST_F(RegistryClient, LargeBlobGoesUpInChunksAndStreamsBack) {
    auto setup = trusting_all();
    setup.client_options.monolithic_upload_limit = 1u << 20;
    setup.client_options.upload_chunk_size = 3u << 20;
    std::string blob(10u << 20, '\0');
    for (std::size_t i = 0; i < blob.size(); ++i) {
        blob[i] = static_cast<char>((i * 2654435761u) >> 13);
    }
    std::string digest = crypto::digest_of(blob);
    auto target = repo(*tls_a, "client/large");
    struct outcome {
        net::result<reg::push_outcome> pushed = net::fail(net::errc::cancelled);
        net::result<std::string> read_back = net::fail(net::errc::cancelled);
    };
    testsupport::run_stats stats;
    auto got = run_client<outcome>(
        setup,
        [&](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            reg::memory_blob_source source(blob);
            o.pushed = co_await c.push_blob(target, digest, static_cast<std::int64_t>(blob.size()),
                                            source, soon());
            auto reader = co_await c.get_blob(target, digest,
                                              static_cast<std::int64_t>(blob.size()), true, soon());
            if (!reader) {
                o.read_back = reader.error();
                co_return o;
            }
            std::string all;
            for (;;) {
                auto chunk = co_await (*reader)->next(soon());
                if (!chunk) {
                    o.read_back = chunk.error();
                    co_return o;
                }
                if (chunk->empty()) {
                    break;
                }
                all += *chunk;
            }
            o.read_back = std::move(all);
            co_return o;
        },
        &stats);
    ASSERT_TRUE(got.pushed.has_value()) << got.pushed.error().message();
    ASSERT_TRUE(got.read_back.has_value()) << got.read_back.error().message();
    EXPECT_TRUE(*got.read_back == blob);
    ASSERT_TRUE(tls_a->wait_for_access_log(1));
    std::size_t patches = 0;
    for (const auto& line : tls_a->access_log()) {
        if (line.find("\"PATCH /v2/client/large/blobs/uploads/") != std::string::npos) {
            ++patches;
        }
    }
    EXPECT_EQ(patches, 4u);  // 10 MiB in 3 MiB chunks
}

// lifetime: `client` and `done` belong to the test body, which awaits every call.
asio::awaitable<void> head_and_count(reg::registry_client& client, reg::repository_ref target,
                                     std::size_t* done) {
    auto head = co_await client.head_manifest(target, "x", soon());
    if (head && *head) {
        ++*done;
    }
}

TEST_F(RegistryClient, ManyConcurrentRequestsShareFewConnections) {
    testkit::image_spec spec;
    spec.seed = 16;
    auto image = testkit::build_image(spec);
    auto target = repo(*tls_a, "client/concurrent");
    auto pushed =
        run_client<net::result<std::string>>(trusting_all(), [&](reg::registry_client& c) {
            return testkit::push_image(c, target, "x", image, soon());
        });
    ASSERT_TRUE(pushed.has_value());
    // 600 HEADs at once: docker-registry allows 250 streams per connection.
    testsupport::run_stats stats;
    auto ok = run_client<std::size_t>(
        trusting_all(),
        [&](reg::registry_client& c) -> asio::awaitable<std::size_t> {
            std::size_t done = 0;
            co_await engine::for_each_bounded(
                600, 600, [&](std::size_t) { return head_and_count(c, target, &done); });
            co_return done;
        },
        &stats);
    EXPECT_EQ(ok, 600u);
    // More than one connection (250 streams cannot carry 600 requests at once), never
    // more than three; fewer when early answers free streams while a connection opens.
    EXPECT_GE(stats.http.h2_connections_opened, 2u);
    EXPECT_LE(stats.http.h2_connections_opened, 3u);
}

// lifetime: `client` and `outcomes` belong to the test body, which awaits every call.
asio::awaitable<void> push_and_record(reg::registry_client& client, reg::repository_ref target,
                                      std::string bytes,
                                      std::vector<net::result<reg::push_outcome>>* outcomes) {
    std::string digest = crypto::digest_of(bytes);
    auto size = static_cast<std::int64_t>(bytes.size());
    reg::memory_blob_source source(std::move(bytes));
    outcomes->push_back(co_await client.push_blob(target, digest, size, source, soon()));
}

TEST_F(RegistryClient, ConcurrentPushesOfOneBlobUploadItOnce) {
    // What every attestation of a repository shares: the empty config. Racing uploads of
    // it make docker-registry rewrite its link file under a reader's feet.
    auto target = repo(*tls_a, "client/one-blob");
    const std::string bytes = "{\"shared\":\"by every caller\"}";
    std::vector<net::result<reg::push_outcome>> outcomes;
    run_client<int>(trusting_all(), [&](reg::registry_client& c) -> asio::awaitable<int> {
        co_await engine::for_each_bounded(
            5, 5, [&](std::size_t) { return push_and_record(c, target, bytes, &outcomes); });
        co_await push_and_record(c, target, bytes, &outcomes);  // later, same client
        co_return 0;
    });
    ASSERT_EQ(outcomes.size(), 6u);
    std::size_t uploaded = 0;
    std::size_t joined = 0;
    for (const auto& outcome : outcomes) {
        ASSERT_TRUE(outcome.has_value()) << outcome.error().message();
        uploaded += *outcome == reg::push_outcome::uploaded ? 1 : 0;
        joined += *outcome == reg::push_outcome::joined ? 1 : 0;
    }
    EXPECT_EQ(uploaded, 1u);
    EXPECT_EQ(joined, 5u);
    auto log = tls_a->settled_access_log();
    ASSERT_TRUE(log.has_value());
    std::size_t commits = 0;
    for (const auto& line : *log) {
        if (line.find("\"PUT /v2/client/one-blob/blobs/uploads/") != std::string::npos) {
            ++commits;
        }
    }
    EXPECT_EQ(commits, 1u);

    // Another client knows nothing of it: its push is a push.
    outcomes.clear();
    run_client<int>(trusting_all(), [&](reg::registry_client& c) -> asio::awaitable<int> {
        co_await push_and_record(c, target, bytes, &outcomes);
        co_return 0;
    });
    ASSERT_EQ(outcomes.size(), 1u);
    ASSERT_TRUE(outcomes[0].has_value());
    EXPECT_EQ(*outcomes[0], reg::push_outcome::uploaded);
}

// The empty config again, now shared by many repositories: after the first upload, the
// others of that registry mount it (one request instead of an upload's two).
TEST_F(RegistryClient, ABlobThisClientPlacedIsMountedIntoOtherRepositories) {
    const std::string bytes = "{\"placed\":\"once, then mounted\"}";
    std::vector<net::result<reg::push_outcome>> outcomes;
    run_client<int>(trusting_all(), [&](reg::registry_client& c) -> asio::awaitable<int> {
        co_await push_and_record(c, repo(*tls_a, "client/home"), bytes, &outcomes);
        co_await push_and_record(c, repo(*tls_a, "client/mounted-1"), bytes, &outcomes);
        co_await push_and_record(c, repo(*tls_a, "client/mounted-2"), bytes, &outcomes);
        // Another registry cannot mount from this one: an upload there.
        co_await push_and_record(c, repo(*tls_b, "client/elsewhere"), bytes, &outcomes);
        co_return 0;
    });
    ASSERT_EQ(outcomes.size(), 4u);
    for (const auto& outcome : outcomes) {
        ASSERT_TRUE(outcome.has_value()) << outcome.error().message();
    }
    EXPECT_EQ(*outcomes[0], reg::push_outcome::uploaded);
    EXPECT_EQ(*outcomes[1], reg::push_outcome::mounted);
    EXPECT_EQ(*outcomes[2], reg::push_outcome::mounted);
    EXPECT_EQ(*outcomes[3], reg::push_outcome::uploaded);
    auto log = tls_a->settled_access_log();
    ASSERT_TRUE(log.has_value());
    std::size_t mounts = 0;
    for (const auto& line : *log) {
        EXPECT_EQ(line.find("\"PUT /v2/client/mounted-"), std::string::npos) << line;
        if (line.find("\"POST /v2/client/mounted-") != std::string::npos &&
            line.find("from=client/home") != std::string::npos) {
            ++mounts;
        }
    }
    EXPECT_EQ(mounts, 2u);
}

// Attestations into many repositories start at once, several per repository, each pushing
// the same empty config: one uploads it, one per other repository mounts it once that
// upload is done, and the rest join the push into their repository.
TEST_F(RegistryClient, ConcurrentPushesIntoManyRepositoriesUploadOnceAndMount) {
    const std::string bytes = "{\"placed\":\"by the first of ten at once\"}";
    constexpr std::size_t repositories = 5;
    constexpr std::size_t pushes = 2 * repositories;
    std::vector<net::result<reg::push_outcome>> outcomes;
    run_client<int>(trusting_all(), [&](reg::registry_client& c) -> asio::awaitable<int> {
        co_await engine::for_each_bounded(pushes, pushes, [&](std::size_t i) {
            return push_and_record(c, repo(*tls_a, "race/r" + std::to_string(i % repositories)),
                                   bytes, &outcomes);
        });
        co_return 0;
    });
    ASSERT_EQ(outcomes.size(), pushes);
    std::map<reg::push_outcome, std::size_t> counted;
    for (const auto& outcome : outcomes) {
        ASSERT_TRUE(outcome.has_value()) << outcome.error().message();
        ++counted[*outcome];
    }
    EXPECT_EQ(counted[reg::push_outcome::uploaded], 1u);
    EXPECT_EQ(counted[reg::push_outcome::mounted], repositories - 1);
    EXPECT_EQ(counted[reg::push_outcome::joined], pushes - repositories);
    auto log = tls_a->settled_access_log();
    ASSERT_TRUE(log.has_value());
    std::size_t upload_commits = 0;
    std::size_t mounts = 0;
    for (const auto& line : *log) {
        upload_commits += line.find("\"PUT /v2/race/r") != std::string::npos ? 1 : 0;
        mounts += line.find("\"POST /v2/race/r") != std::string::npos &&
                          line.find("mount=") != std::string::npos
                      ? 1
                      : 0;
    }
    EXPECT_EQ(upload_commits, 1u);
    EXPECT_EQ(mounts, repositories - 1);
}

}  // namespace
}  // namespace hoist
