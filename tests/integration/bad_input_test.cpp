// SPDX-License-Identifier: Apache-2.0
// What goes wrong out there, each with a clear error naming the registry and reference,
// and nothing written: unreachable registries, untrusted certificates, corrupted and
// truncated blobs, oversized manifests, malformed challenges, endless pagination, and
// redirects that must not carry credentials. The real registry where it can misbehave
// (corrupted storage), a scripted server where it cannot.
#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "engine/image_copy.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <fstream>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::registry_instance;
using testkit::registry_options;
using testsupport::client_setup;
using testsupport::reply;
using testsupport::run_client;
using testsupport::scripted_request;
using testsupport::scripted_response;
using testsupport::scripted_server;

net::deadline soon() {
    return net::deadline::from_now(std::chrono::seconds(30));
}

using testsupport::start_registry;

// Where the filesystem driver of docker-registry keeps a blob's bytes.
fs::path blob_file(const registry_instance& r, const std::string& digest) {
    std::string hex = digest.substr(7);
    return r.storage_dir() / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
}

std::string header_or_empty(const scripted_request& r, std::string_view name) {
    auto value = net::find_header(r.headers, name);
    return value ? std::string(*value) : std::string();
}

class BadInput : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        source = new registry_instance(start_registry(registry_options::kind::tls));
        destination = new registry_instance(start_registry(registry_options::kind::tls));
    }
    static void TearDownTestSuite() {
        delete source;
        delete destination;
    }
    static client_setup trusted() {
        client_setup setup;
        setup.ca_files = {source->ca_file().string(), destination->ca_file().string()};
        return setup;
    }

    // Pushes an image, damages one of its layers in the registry's storage with `damage`,
    // copies it, and checks that the copy fails with `expected` and writes nothing.
    void expect_damaged_copy_refused(const std::string& name, std::size_t layer_size,
                                     std::function<void(const fs::path&)> damage,
                                     net::errc expected, client_setup setup) {
        testkit::image_spec spec;
        spec.layer_size = layer_size;
        spec.layers = 1;
        spec.seed = std::hash<std::string>{}(name);
        auto image = testkit::build_image(spec);
        reg::image_ref from{{source->host_port(), name}, "v", ""};
        reg::image_ref to{{destination->host_port(), name}, "v", ""};
        auto pushed = run_client<net::result<std::string>>(setup, [&](reg::registry_client& c) {
            return testkit::push_image(c, from.repo, "v", image, soon());
        });
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
        const testkit::built_blob* layer = nullptr;
        for (const auto& blob : image.blobs) {
            if (blob.bytes.size() == layer_size) {
                layer = &blob;
            }
        }
        ASSERT_NE(layer, nullptr);
        damage(blob_file(*source, layer->digest));

        auto copied = run_client<net::result<engine::copy_report>>(
            setup,
            [&](reg::registry_client& c) { return engine::copy_image(c, from, to, {}, soon()); });
        ASSERT_FALSE(copied.has_value());
        EXPECT_TRUE(copied.error().is(expected)) << copied.error().message();
        EXPECT_NE(copied.error().message().find(layer->digest), std::string::npos)
            << copied.error().message();

        struct state {
            net::result<std::optional<std::int64_t>> blob = net::fail(net::errc::cancelled);
            net::result<std::optional<reg::manifest_info>> tag = net::fail(net::errc::cancelled);
        };
        auto after =
            run_client<state>(setup, [&](reg::registry_client& c) -> asio::awaitable<state> {
                state s;
                s.blob = co_await c.head_blob(to.repo, layer->digest, soon());
                s.tag = co_await c.head_manifest(to.repo, "v", soon());
                co_return s;
            });
        ASSERT_TRUE(after.blob.has_value());
        EXPECT_FALSE(after.blob->has_value()) << "the damaged blob reached the destination";
        ASSERT_TRUE(after.tag.has_value());
        EXPECT_FALSE(after.tag->has_value()) << "a tag was written over a missing blob";
    }

    static inline registry_instance* source = nullptr;
    static inline registry_instance* destination = nullptr;
};

void flip_bytes_in_place(const fs::path& file) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("CORRUPTED", 9);
}

TEST_F(BadInput, BlobNotMatchingItsDigestIsNotCopied) {
    expect_damaged_copy_refused("bad/corrupt-small", 4096, flip_bytes_in_place,
                                net::errc::digest_mismatch, trusted());
}

TEST_F(BadInput, LargeBlobNotMatchingItsDigestIsNotCommitted) {
    auto setup = trusted();
    setup.client_options.monolithic_upload_limit = 256u << 10;
    setup.client_options.upload_chunk_size = 512u << 10;
    expect_damaged_copy_refused("bad/corrupt-large", 2u << 20, flip_bytes_in_place,
                                net::errc::digest_mismatch, setup);
}

TEST_F(BadInput, BlobShorterThanItsDescriptorIsNotCopied) {
    expect_damaged_copy_refused(
        "bad/short", 4096, [](const fs::path& file) { fs::resize_file(file, 1000); },
        net::errc::size_mismatch, trusted());
}

TEST_F(BadInput, UnreachableRegistryIsNamed) {
    std::uint16_t port = 0;
    {
        // A port nobody listens on: bound, then released.
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    std::string registry = "127.0.0.1:" + std::to_string(port);
    auto result = run_client<net::result<std::optional<reg::manifest_info>>>(
        trusted(), [&](reg::registry_client& c) {
            return c.head_manifest({registry, "some/image"}, "v1", soon());
        });
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is(net::errc::connect_failed)) << result.error().message();
    EXPECT_NE(result.error().message().find(registry), std::string::npos);
    EXPECT_NE(result.error().message().find("some/image:v1"), std::string::npos);
}

TEST_F(BadInput, UntrustedCertificateIsRefused) {
    client_setup no_ca;
    auto result = run_client<net::result<std::optional<reg::manifest_info>>>(
        no_ca, [&](reg::registry_client& c) {
            return c.head_manifest({source->host_port(), "any"}, "v", soon());
        });
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is(net::errc::tls_verify_failed)) << result.error().message();
    EXPECT_NE(result.error().message().find(source->host_port()), std::string::npos);

    // Named insecure, the same registry is reachable without verification.
    client_setup insecure;
    insecure.insecure_registries = {source->host_port()};
    auto allowed = run_client<net::result<std::optional<reg::manifest_info>>>(
        insecure, [&](reg::registry_client& c) {
            return c.head_manifest({source->host_port(), "any"}, "v", soon());
        });
    EXPECT_TRUE(allowed.has_value()) << allowed.error().message();
}

TEST_F(BadInput, MalformedChallengeIsReported) {
    scripted_server server([](const scripted_request&) {
        return reply(401, {{"WWW-Authenticate", "Bearer realm=\"https://auth"}}, "");
    });
    auto result = run_client<net::result<std::optional<reg::manifest_info>>>(
        {}, [&](reg::registry_client& c) {
            return c.head_manifest({server.host_port(), "x/y"}, "v", soon());
        });
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is(net::errc::bad_auth_challenge)) << result.error().message();
    EXPECT_NE(result.error().message().find(server.host_port()), std::string::npos);
}

TEST_F(BadInput, ManifestOverFourMebibytesIsRefused) {
    std::string huge = "{\"schemaVersion\":2,\"pad\":\"" + std::string(5u << 20, 'x') + "\"}";
    scripted_server server([&](const scripted_request& r) {
        if (r.target == "/v2/") {
            return reply(200, {}, "{}");
        }
        return reply(200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, huge);
    });
    auto result = run_client<net::result<reg::fetched_manifest>>({}, [&](reg::registry_client& c) {
        return c.get_manifest({server.host_port(), "big/manifest"}, "v", soon());
    });
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is(net::errc::manifest_too_large)) << result.error().message();
    EXPECT_NE(result.error().message().find("big/manifest:v"), std::string::npos);
}

TEST_F(BadInput, TruncatedBodyIsDetected) {
    std::string blob(100000, 'b');
    std::string digest = crypto::digest_of(blob);
    scripted_server server([&](const scripted_request& r) {
        if (r.target == "/v2/") {
            return reply(200, {}, "{}");
        }
        auto cut = reply(200, {}, blob);
        cut.cut_after = 40000;
        return cut;
    });
    auto result = run_client<net::result<std::string>>(
        {}, [&](reg::registry_client& c) -> asio::awaitable<net::result<std::string>> {
            reg::repository_ref repo{server.host_port(), "t/blob"};
            auto reader = co_await c.get_blob(repo, digest, 100000, true, soon());
            if (!reader) {
                co_return reader.error();
            }
            std::string all;
            for (;;) {
                auto chunk = co_await (*reader)->next(soon());
                if (!chunk) {
                    co_return chunk.error();
                }
                if (chunk->empty()) {
                    co_return all;
                }
                all += *chunk;
            }
        });
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is(net::errc::truncated_body)) << result.error().message();
    EXPECT_NE(result.error().message().find(digest), std::string::npos);
}

TEST_F(BadInput, EndlessPaginationIsBounded) {
    scripted_server server([](const scripted_request& r) {
        if (r.target == "/v2/") {
            return reply(200, {}, "{}");
        }
        return reply(200, {{"Link", "</v2/_catalog?last=a&n=1>; rel=\"next\""}},
                     "{\"repositories\":[\"a\"]}");
    });
    auto result = run_client<net::result<std::vector<std::string>>>(
        {}, [&](reg::registry_client& c) { return c.catalog(server.host_port(), soon()); });
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is(net::errc::pagination_loop)) << result.error().message();
    EXPECT_LE(server.requests().size(), 4u);
}

TEST_F(BadInput, RedirectToAnotherHostCarriesNoCredentials) {
    std::string blob = "layer bytes served by a CDN";
    std::string digest = crypto::digest_of(blob);
    scripted_server cdn([&](const scripted_request&) { return reply(200, {}, blob); });
    std::string expected_auth = "Basic " + crypto::base64_encode("alice:s3cret");
    scripted_server registry([&](const scripted_request& r) {
        if (header_or_empty(r, "authorization") != expected_auth) {
            return reply(401, {{"WWW-Authenticate", "Basic realm=\"test\""}}, "");
        }
        if (r.target == "/v2/") {
            return reply(200, {}, "{}");
        }
        return reply(307, {{"Location", "http://" + cdn.host_port() + "/blobs/x?signature=1"}}, "");
    });
    fs::path auth_file =
        fs::temp_directory_path() / ("hoist-redirect-" + std::to_string(registry.port()) + ".json");
    std::ofstream(auth_file) << "{\"auths\":{\"" << registry.host_port() << "\":{\"auth\":\""
                             << crypto::base64_encode("alice:s3cret") << "\"}}}";
    client_setup setup;
    setup.auth_files = {auth_file.string()};
    auto result = run_client<net::result<std::string>>(
        setup, [&](reg::registry_client& c) -> asio::awaitable<net::result<std::string>> {
            reg::repository_ref repo{registry.host_port(), "r/blob"};
            auto reader = co_await c.get_blob(repo, digest, static_cast<std::int64_t>(blob.size()),
                                              true, soon());
            if (!reader) {
                co_return reader.error();
            }
            auto chunk = co_await (*reader)->next(soon());
            if (!chunk) {
                co_return chunk.error();
            }
            auto end = co_await (*reader)->next(soon());
            if (!end) {
                co_return end.error();
            }
            co_return *chunk;
        });
    fs::remove(auth_file);
    ASSERT_TRUE(result.has_value()) << result.error().message();
    EXPECT_EQ(*result, blob);
    ASSERT_EQ(cdn.requests().size(), 1u);
    EXPECT_EQ(header_or_empty(cdn.requests()[0], "authorization"), "");
    EXPECT_EQ(cdn.requests()[0].target, "/blobs/x?signature=1");
    // The registry itself did get the credentials.
    bool registry_saw_credentials = false;
    for (const auto& r : registry.requests()) {
        registry_saw_credentials |= header_or_empty(r, "authorization") == expected_auth;
    }
    EXPECT_TRUE(registry_saw_credentials);
}

}  // namespace
}  // namespace hoist
