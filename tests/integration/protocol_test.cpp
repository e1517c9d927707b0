// SPDX-License-Identifier: Apache-2.0
// Protocol corners: chunked HTTP/1.1 bodies both ways, tag pagination, Docker v2 media
// types, mounts the registry declines, and where TLS trust comes from (certs.d and
// SSL_CERT_FILE).
#include "crypto/sha256.hpp"
#include "engine/image_copy.hpp"
#include "net/registry/media_types.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>

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
using testsupport::scripted_server;

net::deadline soon() {
    return net::deadline::from_now(std::chrono::seconds(30));
}

using testsupport::start_registry;

TEST(Http1, ChunkedResponseBodiesAreDecoded) {
    std::string manifest = testkit::build_image({}).top.body;
    scripted_server server([&](const scripted_request& r) {
        if (r.target == "/v2/") {
            return reply(200, {}, "{}");
        }
        auto chunked =
            reply(200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, manifest);
        chunked.chunked = true;
        return chunked;
    });
    auto got = run_client<net::result<reg::fetched_manifest>>({}, [&](reg::registry_client& c) {
        return c.get_manifest({server.host_port(), "chunky"}, "v1", soon());
    });
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(got->body, manifest);
    EXPECT_EQ(got->digest, crypto::digest_of(manifest));
}

// lifetime: `client` is the harness's; the call is awaited.
asio::awaitable<net::result<int>> stream_upload(net::http_client& client, net::url target,
                                                std::string body) {
    net::request_head head{"PATCH", target.target, {}, std::nullopt};  // length unknown
    auto exchange = co_await client.start(target.where, std::move(head), soon());
    if (!exchange) {
        co_return exchange.error();
    }
    for (std::size_t at = 0; at < body.size(); at += 777) {
        std::string piece = body.substr(at, 777);
        auto written = co_await (*exchange)->write_body(
            std::span(reinterpret_cast<const std::uint8_t*>(piece.data()), piece.size()), soon());
        if (!written) {
            co_return written.error();
        }
    }
    if (auto finished = co_await (*exchange)->finish_body(soon()); !finished) {
        co_return finished.error();
    }
    auto head_result = co_await (*exchange)->read_head(soon());
    if (!head_result) {
        co_return head_result.error();
    }
    co_return head_result->status;
}

TEST(Http1, BodiesOfUnknownLengthGoChunked) {
    scripted_server server([](const scripted_request&) { return reply(202, {}, ""); });
    std::string body(10000, 'q');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>('a' + i % 26);
    }
    boost::asio::io_context io;
    net::http_client client(io.get_executor(), {});
    net::result<int> status = net::fail(net::errc::cancelled);
    auto target = net::parse_url("http://" + server.host_port() + "/upload").value();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            status = co_await stream_upload(client, target, body);
            co_await client.shutdown();
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    io.run();
    ASSERT_TRUE(status.has_value()) << status.error().message();
    EXPECT_EQ(*status, 202);
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].body, body);
    auto te = net::find_header(requests[0].headers, "transfer-encoding");
    EXPECT_EQ(te.value_or(""), "chunked");
}

TEST(Pagination, TagsFollowLinkAcrossPages) {
    scripted_server server([](const scripted_request& r) {
        if (r.target == "/v2/") {
            return reply(200, {}, "{}");
        }
        if (r.target == "/v2/paged/tags/list?n=1000") {
            return reply(200, {{"Link", "</v2/paged/tags/list?n=1000&last=b>; rel=\"next\""}},
                         R"({"name":"paged","tags":["a","b"]})");
        }
        if (r.target == "/v2/paged/tags/list?n=1000&last=b") {
            return reply(200, {{"Link", "<http://ignored.invalid/x>; rel=\"prev\""}},
                         R"({"name":"paged","tags":["c"]})");
        }
        return reply(404, {}, "");
    });
    auto got = run_client<net::result<reg::tag_listing>>({}, [&](reg::registry_client& c) {
        return c.list_tags({server.host_port(), "paged"}, soon());
    });
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(got->tags, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(got->pages, 2u);
}

class RealRegistry : public ::testing::Test {
protected:
    static void SetUpTestSuite() { registry = new registry_instance(start_registry()); }
    static void TearDownTestSuite() { delete registry; }
    static client_setup trusted() {
        client_setup setup;
        setup.ca_files = {registry->ca_file().string()};
        return setup;
    }
    static inline registry_instance* registry = nullptr;
};

TEST_F(RealRegistry, DockerManifestListCopiesWithItsDigests) {
    testkit::image_spec spec;
    spec.oci = false;
    spec.platforms = {"linux/amd64", "linux/arm/v7"};
    spec.seed = 41;
    auto image = testkit::build_image(spec);
    reg::image_ref source{{registry->host_port(), "proto/docker-src"}, "d", ""};
    reg::image_ref destination{{registry->host_port(), "proto/docker-dst"}, "d", ""};
    struct outcome {
        net::result<engine::copy_report> copied = net::fail(net::errc::cancelled);
        net::result<reg::fetched_manifest> index = net::fail(net::errc::cancelled);
        net::result<reg::fetched_manifest> child = net::fail(net::errc::cancelled);
    };
    auto got =
        run_client<outcome>(trusted(), [&](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            auto pushed = co_await testkit::push_image(c, source.repo, "d", image, soon());
            EXPECT_TRUE(pushed.has_value());
            engine::copy_options all;
            all.all = true;
            o.copied = co_await engine::copy_image(c, source, destination, all, soon());
            o.index = co_await c.get_manifest(destination.repo, "d", soon());
            o.child = co_await c.get_manifest(destination.repo, image.manifests[1].digest, soon());
            co_return o;
        });
    ASSERT_TRUE(got.copied.has_value()) << got.copied.error().message();
    ASSERT_TRUE(got.index.has_value());
    EXPECT_EQ(got.index->media_type, reg::media_type::docker_manifest_list);
    EXPECT_EQ(got.index->body, image.top.body);
    ASSERT_TRUE(got.child.has_value());
    EXPECT_EQ(got.child->media_type, reg::media_type::docker_manifest);
    EXPECT_EQ(got.child->body, image.manifests[1].body);
}

TEST_F(RealRegistry, DeclinedMountFallsBackToUpload) {
    std::string blob = "a layer the named source repository does not have";
    std::string digest = crypto::digest_of(blob);
    auto pushed = run_client<net::result<reg::push_outcome>>(
        trusted(), [&](reg::registry_client& c) -> asio::awaitable<net::result<reg::push_outcome>> {
            reg::memory_blob_source source(blob);
            reg::repository_ref to{registry->host_port(), "proto/mount-target"};
            std::optional<std::string> from = "proto/has-nothing";
            co_return co_await c.push_blob(to, digest, static_cast<std::int64_t>(blob.size()),
                                           source, soon(), from);
        });
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    EXPECT_EQ(*pushed, reg::push_outcome::uploaded);
}

TEST_F(RealRegistry, TrustFromCertsDirectory) {
    // docker and podman read certs.d/<host:port>/*.crt: no --ca-file needed then.
    fs::path certs_dir = registry->root_dir() / "certs.d";
    fs::create_directories(certs_dir / registry->host_port());
    fs::copy_file(registry->ca_file(), certs_dir / registry->host_port() / "ca.crt",
                  fs::copy_options::overwrite_existing);
    client_setup setup;
    setup.certs_dirs = {certs_dir.string()};
    auto got = run_client<net::result<net::origin>>(
        setup, [&](reg::registry_client& c) { return c.ping(registry->host_port(), soon()); });
    EXPECT_TRUE(got.has_value()) << got.error().message();
}

TEST_F(RealRegistry, TrustFromSslCertFile) {
    ::setenv("SSL_CERT_FILE", registry->ca_file().c_str(), 1);
    auto got = run_client<net::result<net::origin>>(
        {}, [&](reg::registry_client& c) { return c.ping(registry->host_port(), soon()); });
    ::unsetenv("SSL_CERT_FILE");
    EXPECT_TRUE(got.has_value()) << got.error().message();
}

}  // namespace
}  // namespace hoist
