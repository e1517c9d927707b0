// SPDX-License-Identifier: Apache-2.0
// The first contact with a loopback registry, where hoist may fall back to plain http: a
// TLS registry that drops a handshake must not be taken for a plain-http one because of
// the 400 its TLS port answers to plain text.
#include "net/registry/registry_client.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/h2_test_server.hpp"

#include <gtest/gtest.h>

namespace hoist {
namespace {

namespace reg = net::registry;
using testsupport::client_setup;
using testsupport::h2_request;
using testsupport::h2_response;
using testsupport::h2_server_options;
using testsupport::h2_test_server;
using testsupport::run_client;

h2_response open_registry(const h2_request& r) {
    if (r.path == "/v2/") {
        return h2_response{200, {{"docker-distribution-api-version", "registry/2.0"}}, "{}"};
    }
    return h2_response{404, {}, {}};
}

net::result<net::origin> ping(const h2_test_server& server, int attempts) {
    client_setup setup;
    setup.ca_files = {server.ca_file()};
    setup.session_options.attempts = attempts;
    return run_client<net::result<net::origin>>(setup, [&](reg::registry_client& c) {
        return c.ping(server.host_port(), net::deadline::from_now(std::chrono::seconds(20)));
    });
}

TEST(SchemeProbe, ADroppedHandshakeIsRetriedOverTls) {
    h2_server_options options;
    options.drop_handshakes = 1;
    h2_test_server server(open_registry, options);
    auto found = ping(server, 3);
    ASSERT_TRUE(found.has_value()) << found.error().message();
    EXPECT_TRUE(found->is_tls()) << found->to_string();
    // The dropped handshake, the plain-http probe its failure allows on loopback, and the
    // TLS retry that the probe's 400 calls for.
    EXPECT_EQ(server.connections_accepted(), 3u);
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].path, "/v2/");
}

TEST(SchemeProbe, HandshakesDroppedEveryTimeAreReportedAsTheTlsFailure) {
    h2_server_options options;
    options.drop_handshakes = 1000;
    h2_test_server server(open_registry, options);
    auto found = ping(server, 2);
    ASSERT_FALSE(found.has_value());
    std::string message = found.error().message();
    EXPECT_NE(message.find("does speak TLS"), std::string::npos) << message;
    EXPECT_EQ(message.find("does not serve the /v2/ API"), std::string::npos) << message;
    // Plain http is probed once; afterwards the scheme is settled.
    EXPECT_EQ(server.connections_accepted(), 3u);
}

}  // namespace
}  // namespace hoist
