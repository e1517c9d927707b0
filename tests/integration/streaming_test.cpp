// SPDX-License-Identifier: Apache-2.0
// Blob bodies stream through in bounded memory, in both directions and over both
// protocols; abandoning one transfer resets only its stream; referrers are found through
// the API or its tag fallback.
#include "crypto/sha256.hpp"
#include "engine/bounded.hpp"
#include "net/registry/media_types.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <map>
#include <random>

namespace hoist {
namespace {

namespace reg = net::registry;
using testkit::registry_instance;
using testkit::registry_options;
using testsupport::client_setup;
using testsupport::run_client;

net::deadline soon() {
    return net::deadline::from_now(std::chrono::seconds(120));
}

using testsupport::start_registry;

std::int64_t peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024;
}

// A blob generated on the fly, never held in memory as a whole.
class generated_blob final : public reg::blob_source {
public:
    generated_blob(std::uint64_t seed, std::int64_t size) : random_(seed), left_(size) {}
    asio::awaitable<net::result<std::string>> next(net::deadline) override {
        std::string piece(std::min<std::int64_t>(left_, 1 << 20), '\0');
        for (std::size_t i = 0; i < piece.size(); i += 8) {
            std::uint64_t word = random_();
            std::memcpy(piece.data() + i, &word, std::min<std::size_t>(8, piece.size() - i));
        }
        left_ -= static_cast<std::int64_t>(piece.size());
        co_return piece;
    }

private:
    std::mt19937_64 random_;
    std::int64_t left_;
};

std::string digest_of_generated(std::uint64_t seed, std::int64_t size) {
    std::mt19937_64 random(seed);
    crypto::sha256 hash;
    std::string piece;
    for (std::int64_t left = size; left > 0;) {
        piece.assign(std::min<std::int64_t>(left, 1 << 20), '\0');
        for (std::size_t i = 0; i < piece.size(); i += 8) {
            std::uint64_t word = random();
            std::memcpy(piece.data() + i, &word, std::min<std::size_t>(8, piece.size() - i));
        }
        hash.update(piece);
        left -= static_cast<std::int64_t>(piece.size());
    }
    return crypto::to_digest(hash.finish());
}

struct round_trip {
    net::result<reg::push_outcome> pushed = net::fail(net::errc::cancelled);
    net::result<std::int64_t> read_back = net::fail(net::errc::cancelled);
};

// lifetime: `client` belongs to the harness, which awaits the call.
asio::awaitable<round_trip> push_and_read(reg::registry_client& client, reg::repository_ref repo,
                                          std::string digest, std::int64_t size) {
    round_trip out;
    generated_blob source(7, size);
    out.pushed = co_await client.push_blob(repo, digest, size, source, soon());
    if (!out.pushed) {
        co_return out;
    }
    auto reader = co_await client.get_blob(repo, digest, size, true, soon());
    if (!reader) {
        out.read_back = reader.error();
        co_return out;
    }
    std::int64_t total = 0;
    for (;;) {
        auto piece = co_await (*reader)->next(soon());
        if (!piece) {
            out.read_back = piece.error();
            co_return out;
        }
        if (piece->empty()) {
            break;
        }
        total += static_cast<std::int64_t>(piece->size());
    }
    out.read_back = total;
    co_return out;
}

class Streaming : public ::testing::TestWithParam<bool> {};

// 256 MiB up and back down, verified by sha256 both ways, with the process never holding
// more than a few windows of it.
TEST_P(Streaming, LargeBlobRoundTripsInBoundedMemory) {
    bool over_http2 = GetParam();
    auto registry = start_registry();
    constexpr std::int64_t size = 256ll << 20;
    std::string digest = digest_of_generated(7, size);
    client_setup setup;
    setup.ca_files = {registry.ca_file().string()};
    // Everything over HTTP/2 streams, or bulk bodies over HTTP/1.1 connections.
    setup.client_options.bulk_threshold = over_http2 ? 0 : 1;
    [[maybe_unused]] std::int64_t rss_before = peak_rss_mib();
    auto got = run_client<round_trip>(setup, [&](reg::registry_client& c) {
        return push_and_read(c, {registry.host_port(), "stream/big"}, digest, size);
    });
    ASSERT_TRUE(got.pushed.has_value()) << got.pushed.error().message();
    ASSERT_TRUE(got.read_back.has_value()) << got.read_back.error().message();
    EXPECT_EQ(*got.read_back, size);
#if !defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer keeps freed memory in quarantine (256 MiB by default), so the
    // bound is only meaningful in the plain build; the sanitizer build checks the rest.
    EXPECT_LT(peak_rss_mib() - rss_before, 64) << "peak RSS grew with the blob";
#endif
}

INSTANTIATE_TEST_SUITE_P(Protocols, Streaming, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Http2" : "Http1"; });

TEST(StreamCancel, AbandonedDownloadResetsOnlyItsStream) {
    auto registry = start_registry();
    constexpr std::int64_t size = 64ll << 20;  // far more than one stream window
    std::string digest = digest_of_generated(9, size);
    client_setup setup;
    setup.ca_files = {registry.ca_file().string()};
    setup.client_options.bulk_threshold = 0;
    reg::repository_ref repo{registry.host_port(), "stream/cancel"};
    testsupport::run_stats stats;
    struct outcome {
        bool first_piece = false;
        std::size_t heads_ok = 0;
    };
    auto got = run_client<outcome>(
        setup,
        [&](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            generated_blob source(9, size);
            auto pushed = co_await c.push_blob(repo, digest, size, source, soon());
            EXPECT_TRUE(pushed.has_value());
            {
                auto reader = co_await c.get_blob(repo, digest, size, true, soon());
                if (reader) {
                    auto piece = co_await (*reader)->next(soon());
                    o.first_piece = piece.has_value() && !piece->empty();
                }
                // The reader goes away here with most of the blob unread.
            }
            for (int i = 0; i < 20; ++i) {
                auto head = co_await c.head_blob(repo, digest, soon());
                o.heads_ok += head.has_value() && head->has_value();
            }
            co_return o;
        },
        &stats);
    EXPECT_TRUE(got.first_piece);
    EXPECT_EQ(got.heads_ok, 20u);
    // One HTTP/2 connection served the upload, the abandoned download and the HEADs after.
    EXPECT_EQ(stats.http.connections_opened, 1u);
    EXPECT_EQ(stats.http.h2_connections_opened, 1u);
}

TEST(Referrers, FoundThroughTheFallbackTag) {
    // docker-registry 2.8 has no referrers API: the sha256-<hex> tag holds them.
    auto registry = start_registry();
    client_setup setup;
    setup.ca_files = {registry.ca_file().string()};
    reg::repository_ref repo{registry.host_port(), "refs/app"};
    auto subject = testkit::build_image({});
    std::string empty_config = "{}";
    std::string signature_manifest =
        std::string(
            R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)") +
        R"("artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",)" +
        R"("config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
        crypto::digest_of(empty_config) + R"(","size":2},"layers":[],)" +
        R"("subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
        subject.top.digest + R"(","size":)" + std::to_string(subject.top.body.size()) + "}}";
    std::string referrer_digest = crypto::digest_of(signature_manifest);
    std::string fallback_index =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
        referrer_digest + R"(","size":)" + std::to_string(signature_manifest.size()) +
        R"(,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}]})";
    struct outcome {
        net::result<std::vector<reg::descriptor>> all = net::fail(net::errc::cancelled);
        net::result<std::vector<reg::descriptor>> other_type = net::fail(net::errc::cancelled);
        net::result<std::vector<reg::descriptor>> none = net::fail(net::errc::cancelled);
    };
    auto got = run_client<outcome>(setup, [&](reg::registry_client& c) -> asio::awaitable<outcome> {
        outcome o;
        EXPECT_TRUE((co_await testkit::push_image(c, repo, "v1", subject, soon())).has_value());
        reg::memory_blob_source config(empty_config);
        EXPECT_TRUE((co_await c.push_blob(repo, crypto::digest_of(empty_config), 2, config, soon()))
                        .has_value());
        EXPECT_TRUE((co_await c.put_manifest(repo, referrer_digest, signature_manifest,
                                             std::string(reg::media_type::oci_manifest), soon()))
                        .has_value());
        std::string tag = "sha256-" + subject.top.digest.substr(7);
        EXPECT_TRUE((co_await c.put_manifest(repo, tag, fallback_index,
                                             std::string(reg::media_type::oci_index), soon()))
                        .has_value());
        o.all = co_await c.referrers(repo, subject.top.digest, "", soon());
        o.other_type = co_await c.referrers(repo, subject.top.digest, "text/plain", soon());
        o.none = co_await c.referrers(repo, referrer_digest, "", soon());
        co_return o;
    });
    ASSERT_TRUE(got.all.has_value()) << got.all.error().message();
    ASSERT_EQ(got.all->size(), 1u);
    EXPECT_EQ((*got.all)[0].digest, referrer_digest);
    EXPECT_EQ((*got.all)[0].artifact_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
    ASSERT_TRUE(got.other_type.has_value());
    EXPECT_TRUE(got.other_type->empty());
    ASSERT_TRUE(got.none.has_value());
    EXPECT_TRUE(got.none->empty());
}

TEST(Referrers, TheApiIsUsedWhereItExists) {
    std::string digest = "sha256:" + std::string(64, 'a');
    std::string index =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
        std::string(64, 'b') + R"(","size":10,"artifactType":"application/example"}]})";
    testsupport::scripted_server server([&](const testsupport::scripted_request& r) {
        if (r.target == "/v2/") {
            return testsupport::reply(200, {}, "{}");
        }
        if (r.target == "/v2/app/referrers/" + digest) {
            return testsupport::reply(
                200, {{"Content-Type", "application/vnd.oci.image.index.v1+json"}}, index);
        }
        return testsupport::reply(404, {}, "");
    });
    auto got =
        run_client<net::result<std::vector<reg::descriptor>>>({}, [&](reg::registry_client& c) {
            return c.referrers({server.host_port(), "app"}, digest, "", soon());
        });
    ASSERT_TRUE(got.has_value()) << got.error().message();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].artifact_type, "application/example");
    for (const auto& r : server.requests()) {
        EXPECT_EQ(r.target.find("sha256-"), std::string::npos) << "fallback used: " << r.target;
    }
}

asio::awaitable<void> list_referrers(reg::registry_client& client, reg::repository_ref repo,
                                     std::string digest, std::size_t* listed_empty) {
    auto listed = co_await client.referrers(repo, digest, "", soon());
    EXPECT_TRUE(listed.has_value()) << listed.error().message();
    if (listed && listed->empty()) {
        ++*listed_empty;
    }
}

// Attestations of many images start at once; a registry without the API is asked whether
// it has one once, not once per attestation started before the first 404 came back.
TEST(Referrers, ConcurrentFirstCallsAskForTheApiOnce) {
    testsupport::scripted_server server([&](const testsupport::scripted_request& r) {
        if (r.target == "/v2/") {
            return testsupport::reply(200, {}, "{}");
        }
        return testsupport::reply(404, {}, "");  // no API, no referrers tags
    });
    constexpr std::size_t calls = 5;
    std::size_t listed_empty = 0;
    const reg::repository_ref app{server.host_port(), "app"};
    run_client<int>({}, [&](reg::registry_client& c) -> asio::awaitable<int> {
        co_await engine::for_each_bounded(calls, calls, [&](std::size_t i) {
            return list_referrers(c, app, "sha256:" + std::string(64, static_cast<char>('a' + i)),
                                  &listed_empty);
        });
        co_return 0;
    });
    EXPECT_EQ(listed_empty, calls);
    std::size_t api_requests = 0;
    std::size_t tag_requests = 0;
    for (const auto& r : server.requests()) {
        api_requests += r.target.starts_with("/v2/app/referrers/") ? 1 : 0;
        tag_requests += r.target.starts_with("/v2/app/manifests/sha256-") ? 1 : 0;
    }
    EXPECT_EQ(api_requests, 1u);
    EXPECT_EQ(tag_requests, calls);
}

// Attest knows from Plan's tag listing that no referrers tag exists yet: the calls that
// waited for the API probe do not read the tag either.
TEST(Referrers, ATagKnownAbsentIsNotRead) {
    testsupport::scripted_server server([&](const testsupport::scripted_request& r) {
        if (r.target == "/v2/") {
            return testsupport::reply(200, {}, "{}");
        }
        return testsupport::reply(404, {}, "");
    });
    constexpr std::size_t calls = 5;
    std::size_t listed_empty = 0;
    const reg::repository_ref app{server.host_port(), "app"};
    run_client<int>({}, [&](reg::registry_client& c) -> asio::awaitable<int> {
        co_await engine::for_each_bounded(
            calls, calls, [&](std::size_t i) -> asio::awaitable<void> {
                auto listed = co_await c.referrers(
                    app, "sha256:" + std::string(64, static_cast<char>('a' + i)), "", soon(), true);
                EXPECT_TRUE(listed.has_value()) << listed.error().message();
                listed_empty += listed && listed->empty() ? 1 : 0;
            });
        co_return 0;
    });
    EXPECT_EQ(listed_empty, calls);
    std::size_t api_requests = 0;
    for (const auto& r : server.requests()) {
        api_requests += r.target.starts_with("/v2/app/referrers/") ? 1 : 0;
        EXPECT_FALSE(r.target.starts_with("/v2/app/manifests/sha256-")) << r.target;
    }
    EXPECT_EQ(api_requests, 1u);
}

// Sign in the bundle format writes the referrers tag, then Attest lists it: the client
// answers from what it wrote instead of reading the tag back.
TEST(Referrers, TheTagThisClientWroteIsNotReadBack) {
    const std::string subject = "sha256:" + std::string(64, 'c');
    const std::string tag_target = "/v2/app/manifests/sha256-" + std::string(64, 'c');
    std::map<std::string, std::string> stored;  // target → body of the PUTs
    testsupport::scripted_server server([&](const testsupport::scripted_request& r) {
        if (r.target == "/v2/") {
            return testsupport::reply(200, {}, "{}");
        }
        if (r.method == "PUT") {
            stored[r.target] = r.body;
            return testsupport::reply(201, {}, "");
        }
        if (r.method == "GET" && stored.contains(r.target)) {
            return testsupport::reply(
                200, {{"Content-Type", std::string(reg::media_type::oci_index)}}, stored[r.target]);
        }
        return testsupport::reply(404, {}, "");
    });
    const reg::repository_ref app{server.host_port(), "app"};
    auto referrer = [&](const std::string& layer_type) {
        return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
               R"("config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
               crypto::digest_of("{}") + R"(","size":2},"layers":[{"mediaType":")" + layer_type +
               R"(","digest":")" + crypto::digest_of(layer_type) + R"(","size":1}],)" +
               R"("subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json",)" +
               R"("digest":")" + subject + R"(","size":3}})";
    };
    auto entry = [](const std::string& type) {
        reg::descriptor d;
        d.artifact_type = type;
        d.annotations["purpose"] = type;
        return d;
    };
    struct outcome {
        std::size_t before = 99, after_one = 99, after_two = 99, of_second_type = 99;
        std::size_t tag_reads_after_writing = 99;
        std::vector<reg::descriptor> listed;
    };
    auto got = run_client<outcome>({}, [&](reg::registry_client& c) -> asio::awaitable<outcome> {
        outcome o;
        auto count = [&](const net::result<std::vector<reg::descriptor>>& listed) {
            EXPECT_TRUE(listed.has_value()) << listed.error().message();
            return listed ? listed->size() : std::size_t{99};
        };
        o.before = count(co_await c.referrers(app, subject, "", soon()));
        auto first = co_await c.attach_referrer(app, referrer("application/one"), subject,
                                                entry("application/one"), soon());
        EXPECT_TRUE(first.has_value()) << first.error().message();
        std::size_t reads_before = 0;
        for (const auto& r : server.requests()) {
            reads_before += r.method == "GET" && r.target == tag_target ? 1 : 0;
        }
        auto listed = co_await c.referrers(app, subject, "", soon());
        o.after_one = count(listed);
        auto second = co_await c.attach_referrer(app, referrer("application/two"), subject,
                                                 entry("application/two"), soon(), *listed);
        EXPECT_TRUE(second.has_value()) << second.error().message();
        auto both = co_await c.referrers(app, subject, "", soon());
        o.after_two = count(both);
        o.of_second_type = count(co_await c.referrers(app, subject, "application/two", soon()));
        std::size_t reads = 0;
        for (const auto& r : server.requests()) {
            reads += r.method == "GET" && r.target == tag_target ? 1 : 0;
        }
        o.tag_reads_after_writing = reads - reads_before;
        if (both) {
            o.listed = *both;
        }
        co_return o;
    });
    EXPECT_EQ(got.before, 0u);
    EXPECT_EQ(got.after_one, 1u);
    EXPECT_EQ(got.after_two, 2u);
    EXPECT_EQ(got.of_second_type, 1u);
    EXPECT_EQ(got.tag_reads_after_writing, 0u);
    // What the client remembered is what the registry holds, read by a client of its own.
    auto read_back = run_client<net::result<std::vector<reg::descriptor>>>(
        {}, [&](reg::registry_client& c) { return c.referrers(app, subject, "", soon()); });
    ASSERT_TRUE(read_back.has_value()) << read_back.error().message();
    EXPECT_EQ(*read_back, got.listed);
}

}  // namespace
}  // namespace hoist
