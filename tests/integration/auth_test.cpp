// SPDX-License-Identifier: Apache-2.0
// Authentication against real docker-registry instances: htpasswd basic auth and the
// bearer-token flow with our token server, credentials read from an auth file.
#include "crypto/encoding.hpp"
#include "engine/image_copy.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"
#include "tools/testkit/token_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::registry_instance;
using testkit::registry_options;
using testsupport::client_setup;
using testsupport::run_client;

net::deadline soon() {
    return net::deadline::from_now(std::chrono::seconds(60));
}

using testsupport::start_registry;

// Writes a docker config.json holding `user:password` for the registry.
std::string write_auth_file(const registry_instance& r, const std::string& user,
                            const std::string& password) {
    fs::path path =
        r.root_dir() / ("auth-" + user + "-" + std::to_string(password.size()) + ".json");
    std::ofstream(path) << "{\"auths\": {\"" << r.host_port() << "\": {\"auth\": \""
                        << crypto::base64_encode(user + ":" + password) << "\"}}}";
    return path.string();
}

client_setup setup_for(const registry_instance& r, std::string auth_file) {
    client_setup setup;
    setup.ca_files = {r.ca_file().string()};
    if (!auth_file.empty()) {
        setup.auth_files = {std::move(auth_file)};
    }
    return setup;
}

asio::awaitable<net::result<std::string>> push_and_read_back(reg::registry_client& client,
                                                             reg::repository_ref repo,
                                                             testkit::built_image image) {
    auto pushed = co_await testkit::push_image(client, repo, "t", image, soon());
    if (!pushed) {
        co_return pushed.error();
    }
    auto fetched = co_await client.get_manifest(repo, "t", soon());
    if (!fetched) {
        co_return fetched.error();
    }
    co_return fetched->body;
}

TEST(BasicAuth, RightCredentialsFromAnAuthFileWork) {
    registry_options options;
    options.mode = registry_options::kind::basic_auth;
    auto registry = start_registry(options);
    auto image = testkit::build_image({});
    auto setup =
        setup_for(registry, write_auth_file(registry, registry.username(), registry.password()));
    auto body = run_client<net::result<std::string>>(setup, [&](reg::registry_client& c) {
        return push_and_read_back(c, {registry.host_port(), "auth/basic"}, image);
    });
    ASSERT_TRUE(body.has_value()) << body.error().message();
    EXPECT_EQ(*body, image.top.body);
}

TEST(BasicAuth, WrongOrMissingCredentialsAreRefusedClearly) {
    registry_options options;
    options.mode = registry_options::kind::basic_auth;
    auto registry = start_registry(options);
    auto image = testkit::build_image({});
    for (std::string auth_file :
         {write_auth_file(registry, registry.username(), "wrong"), std::string()}) {
        auto body = run_client<net::result<std::string>>(
            setup_for(registry, auth_file), [&](reg::registry_client& c) {
                return push_and_read_back(c, {registry.host_port(), "auth/refused"}, image);
            });
        ASSERT_FALSE(body.has_value());
        EXPECT_TRUE(body.error().is(net::errc::unauthorized)) << body.error().message();
        EXPECT_NE(body.error().message().find(registry.host_port()), std::string::npos)
            << body.error().message();
        // The password never shows up in what the user sees.
        EXPECT_EQ(body.error().message().find(registry.password()), std::string::npos);
    }
}

TEST(TokenAuth, TokensAreFetchedOncePerScopeAndReused) {
    registry_options options;
    options.mode = registry_options::kind::token_auth;
    auto registry = start_registry(options);
    testkit::image_spec spec;
    spec.platforms = {"linux/amd64", "linux/arm64"};
    spec.layers = 4;
    auto image = testkit::build_image(spec);
    testsupport::run_stats stats;
    auto setup =
        setup_for(registry, write_auth_file(registry, registry.username(), registry.password()));
    auto body = run_client<net::result<std::string>>(
        setup,
        [&](reg::registry_client& c) {
            return push_and_read_back(c, {registry.host_port(), "auth/token"}, image);
        },
        &stats);
    ASSERT_TRUE(body.has_value()) << body.error().message();
    EXPECT_EQ(*body, image.top.body);
    // Dozens of requests, two scopes (pull; pull,push): two tokens.
    EXPECT_GT(stats.http.requests, 20u);
    EXPECT_EQ(stats.session.token_fetches, 2u);
    EXPECT_EQ(registry.token_issuer()->tokens_issued(), 2u);

    // Copy within the registry: the mount needs a token for two repositories at once.
    auto copied = run_client<net::result<engine::copy_report>>(setup, [&](reg::registry_client& c) {
        return engine::copy_image(c, {{registry.host_port(), "auth/token"}, "t", ""},
                                  {{registry.host_port(), "auth/token-copy"}, "t", ""},
                                  engine::copy_options{true}, soon());
    });
    ASSERT_TRUE(copied.has_value()) << copied.error().message();
    EXPECT_EQ(copied->blobs_mounted, image.blobs.size());
}

TEST(TokenAuth, RejectedTokenIsRefreshedOnce) {
    auto allow = std::make_shared<std::atomic<bool>>(false);
    registry_options options;
    options.mode = registry_options::kind::token_auth;
    options.token_options.grant = [allow](std::string_view, const testkit::resource_scope& s) {
        return allow->load() ? s.actions : std::vector<std::string>{};
    };
    auto registry = start_registry(options);
    auto image = testkit::build_image({});
    auto setup =
        setup_for(registry, write_auth_file(registry, registry.username(), registry.password()));
    reg::repository_ref repo{registry.host_port(), "auth/refresh"};
    struct outcome {
        net::result<std::string> denied = net::fail(net::errc::cancelled);
        net::result<std::string> granted = net::fail(net::errc::cancelled);
    };
    testsupport::run_stats stats;
    auto got = run_client<outcome>(
        setup,
        [&](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            // The token grants nothing: one refresh, then a clear refusal.
            o.denied = co_await push_and_read_back(c, repo, image);
            // Now the token server grants access; the cached useless token gets a 401
            // and is replaced without the caller noticing.
            allow->store(true);
            o.granted = co_await push_and_read_back(c, repo, image);
            co_return o;
        },
        &stats);
    ASSERT_FALSE(got.denied.has_value());
    EXPECT_TRUE(got.denied.error().is(net::errc::unauthorized)) << got.denied.error().message();
    ASSERT_TRUE(got.granted.has_value()) << got.granted.error().message();
    EXPECT_EQ(*got.granted, image.top.body);
    EXPECT_GE(stats.session.auth_retries, 2u);
}

// A registry served over TLS that sends for tokens over plain http to another machine
// would have the password cross the network in the clear: hoist does not go, unless that
// host is named insecure.
TEST(TokenAuth, APlainHttpRealmElsewhereIsNotSentCredentials) {
    registry_options options;
    options.mode = registry_options::kind::token_auth;
    options.token_realm = "http://realm.hoist-test.invalid/token";
    auto registry = start_registry(options);
    auto auth_file = write_auth_file(registry, registry.username(), registry.password());
    auto read_tags = [&](client_setup setup) {
        return run_client<net::result<reg::tag_listing>>(setup, [&](reg::registry_client& c) {
            return c.list_tags({registry.host_port(), "auth/realm"}, soon());
        });
    };
    auto refused = read_tags(setup_for(registry, auth_file));
    ASSERT_FALSE(refused.has_value());
    EXPECT_TRUE(refused.error().is(net::errc::insecure_refused)) << refused.error().message();
    EXPECT_NE(refused.error().message().find("http://realm.hoist-test.invalid"), std::string::npos)
        << refused.error().message();

    // Named insecure, the realm is asked (and, as it does not exist, cannot be reached).
    auto named = setup_for(registry, auth_file);
    named.insecure_registries = {"realm.hoist-test.invalid"};
    auto followed = read_tags(named);
    ASSERT_FALSE(followed.has_value());
    EXPECT_FALSE(followed.error().is(net::errc::insecure_refused)) << followed.error().message();
}

TEST(TokenAuth, WrongPasswordIsRefusedByTheTokenService) {
    registry_options options;
    options.mode = registry_options::kind::token_auth;
    auto registry = start_registry(options);
    auto setup = setup_for(registry, write_auth_file(registry, registry.username(), "nope"));
    auto body = run_client<net::result<std::string>>(setup, [&](reg::registry_client& c) {
        return push_and_read_back(c, {registry.host_port(), "auth/wrong"},
                                  testkit::build_image({}));
    });
    ASSERT_FALSE(body.has_value());
    EXPECT_TRUE(body.error().is(net::errc::unauthorized)) << body.error().message();
    EXPECT_NE(body.error().message().find("credentials refused"), std::string::npos)
        << body.error().message();
}

}  // namespace
}  // namespace hoist
