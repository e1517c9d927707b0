// SPDX-License-Identifier: Apache-2.0
// The HTTP/2 connection and pool over real TLS sockets on 127.0.0.1, against a scripted
// server: GOAWAY in the middle of a burst, a response that never comes, a reset stream.
#include "net/http_client.hpp"
#include "tests/support/h2_test_server.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace hoist::net {
namespace {

using testsupport::h2_request;
using testsupport::h2_response;
using testsupport::h2_server_options;
using testsupport::h2_test_server;
using testsupport::scripted_server;

struct outcome {
    std::string path;
    result<http_response> response = fail(errc::cancelled);
};

// lifetime: `client` and `into` belong to the test body, which runs the io_context
// until every request is done.
asio::awaitable<void> fetch(http_client& client, url target, deadline until, outcome* into) {
    http_request request{"GET", target, {}, {}};
    into->path = target.target;
    into->response = co_await client.send(request, until);
}

// Sends all `paths` at once, each with its own deadline, and waits for all answers.
std::vector<outcome> fetch_all(http_client_options options, const h2_test_server& server,
                               std::vector<std::pair<std::string, std::chrono::milliseconds>> paths,
                               client_stats* stats = nullptr) {
    asio::io_context io;
    options.tls.ca_files = {server.ca_file()};
    http_client client(io.get_executor(), options);
    std::vector<outcome> outcomes(paths.size());
    auto base = parse_url("https://" + server.host_port() + "/").value();
    std::size_t pending = paths.size();
    for (std::size_t i = 0; i < paths.size(); ++i) {
        url target = base;
        target.target = paths[i].first;
        asio::co_spawn(io, fetch(client, target, deadline::from_now(paths[i].second), &outcomes[i]),
                       [&](std::exception_ptr e) {
                           if (e) {
                               std::rethrow_exception(e);
                           }
                           if (--pending == 0) {
                               asio::co_spawn(io, client.shutdown(), asio::detached);
                           }
                       });
    }
    io.run();
    if (stats) {
        *stats = client.stats();
    }
    return outcomes;
}

h2_response echo_path(const h2_request& r) {
    return h2_response{200, {}, "body of " + r.path};
}

TEST(H2Connection, GoawayRetriesUnprocessedRequestsOnANewConnection) {
    h2_server_options options;
    options.goaway_after = 1;  // the first connection answers one request, then goes away
    h2_test_server server(echo_path, options);
    std::vector<std::pair<std::string, std::chrono::milliseconds>> paths;
    for (int i = 0; i < 6; ++i) {
        paths.emplace_back("/item/" + std::to_string(i), std::chrono::seconds(10));
    }
    client_stats stats;
    auto outcomes = fetch_all({}, server, paths, &stats);
    for (const auto& o : outcomes) {
        ASSERT_TRUE(o.response.has_value()) << o.path << ": " << o.response.error().message();
        EXPECT_EQ(o.response->body, "body of " + o.path);
    }
    EXPECT_EQ(server.connections_accepted(), 2u);
    EXPECT_EQ(stats.replays, 5u);  // all but the one the first connection processed
    // No request was processed twice: the server saw each path once.
    auto seen = server.requests();
    EXPECT_EQ(seen.size(), 6u);
}

TEST(H2Connection, HandshakeThePeerDropsIsALostConnectionNotARefusal) {
    h2_server_options options;
    options.drop_handshakes = 1;
    h2_test_server server(echo_path, options);
    auto first = fetch_all({}, server, {{"/a", std::chrono::seconds(10)}});
    ASSERT_FALSE(first[0].response.has_value());
    // Transient, so the registry layer retries it; a refusal by alert would not be.
    EXPECT_TRUE(first[0].response.error().is(errc::connection_closed))
        << first[0].response.error().message();
    EXPECT_TRUE(is_transient(first[0].response.error()));
    auto second = fetch_all({}, server, {{"/a", std::chrono::seconds(10)}});
    ASSERT_TRUE(second[0].response.has_value()) << second[0].response.error().message();
    EXPECT_EQ(second[0].response->body, "body of /a");
}

// All connections' coroutines run on one thread and so share BoringSSL's error queue. An
// error another connection left there while this one awaited (a plain-http peer's
// WRONG_VERSION_NUMBER) made SSL_get_error report this handshake, still waiting for the
// server, as failed with that error.
TEST(H2Connection, ErrorsOtherConnectionsLeaveOnTheThreadDoNotFailThisOne) {
    h2_test_server server(echo_path);
    asio::io_context io;
    http_client_options options;
    options.tls.ca_files = {server.ca_file()};
    http_client client(io.get_executor(), options);
    outcome got;
    bool done = false;
    // Another connection failing at every turn of the event loop.
    auto other_connection_failing = [&]() -> asio::awaitable<void> {
        while (!done) {
            OPENSSL_PUT_ERROR(SSL, SSL_R_WRONG_VERSION_NUMBER);
            co_await asio::post(io, asio::use_awaitable);
        }
        ERR_clear_error();
    };
    auto rethrow = [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    };
    asio::co_spawn(io, other_connection_failing(), rethrow);
    asio::co_spawn(io,
                   fetch(client, parse_url("https://" + server.host_port() + "/a").value(),
                         deadline::from_now(std::chrono::seconds(10)), &got),
                   [&](std::exception_ptr e) {
                       rethrow(e);
                       done = true;
                       asio::co_spawn(io, client.shutdown(), asio::detached);
                   });
    io.run();
    ASSERT_TRUE(got.response.has_value()) << got.response.error().message();
    EXPECT_EQ(got.response->body, "body of /a");
}

TEST(H2Connection, PlainTextAnswerToTheHandshakeIsARefusal) {
    // A plain-http server answers a ClientHello with an HTTP error: that is no TLS peer,
    // and trying again will not make it one.
    scripted_server plain(
        [](const testsupport::scripted_request&) { return testsupport::reply(400); });
    asio::io_context io;
    http_client client(io.get_executor(), {});
    outcome got;
    asio::co_spawn(io,
                   fetch(client, parse_url("https://" + plain.host_port() + "/v2/").value(),
                         deadline::from_now(std::chrono::seconds(10)), &got),
                   [&](std::exception_ptr e) {
                       if (e) {
                           std::rethrow_exception(e);
                       }
                       asio::co_spawn(io, client.shutdown(), asio::detached);
                   });
    io.run();
    ASSERT_FALSE(got.response.has_value());
    EXPECT_TRUE(got.response.error().is(errc::tls_handshake_failed))
        << got.response.error().message();
}

TEST(H2Connection, StalledResponseTimesOutAloneAndItsStreamIsReset) {
    h2_test_server server([](const h2_request& r) {
        return r.path == "/slow" ? h2_response{200, {}, "", true} : echo_path(r);
    });
    client_stats stats;
    auto outcomes = fetch_all({}, server,
                              {{"/slow", std::chrono::milliseconds(300)},
                               {"/a", std::chrono::seconds(10)},
                               {"/b", std::chrono::seconds(10)}},
                              &stats);
    ASSERT_FALSE(outcomes[0].response.has_value());
    EXPECT_TRUE(outcomes[0].response.error().is(errc::timeout))
        << outcomes[0].response.error().message();
    EXPECT_TRUE(outcomes[1].response.has_value());
    EXPECT_TRUE(outcomes[2].response.has_value());
    EXPECT_EQ(server.connections_accepted(), 1u);
    ASSERT_TRUE(server.wait_for_resets(1, std::chrono::seconds(5)));
    ASSERT_EQ(server.resets_received().size(), 1u);
    EXPECT_EQ(server.resets_received()[0].first, server.requests()[0].stream_id);
}

TEST(H2Connection, ResetStreamFailsOnlyThatRequest) {
    h2_test_server server([](const h2_request& r) {
        return r.path == "/broken" ? h2_response{0, {}, "", false, true} : echo_path(r);
    });
    auto outcomes = fetch_all(
        {}, server, {{"/broken", std::chrono::seconds(10)}, {"/fine", std::chrono::seconds(10)}});
    ASSERT_FALSE(outcomes[0].response.has_value());
    EXPECT_TRUE(outcomes[0].response.error().is(errc::stream_reset))
        << outcomes[0].response.error().message();
    ASSERT_TRUE(outcomes[1].response.has_value());
    EXPECT_EQ(outcomes[1].response->body, "body of /fine");
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(H2Connection, StreamLimitOfThePeerIsRespected) {
    h2_server_options options;
    options.max_concurrent_streams = 2;
    h2_test_server server(echo_path, options);
    std::vector<std::pair<std::string, std::chrono::milliseconds>> paths;
    for (int i = 0; i < 9; ++i) {
        paths.emplace_back("/n/" + std::to_string(i), std::chrono::seconds(10));
    }
    http_client_options client_options;
    client_options.limits.max_h2_connections = 2;
    auto outcomes = fetch_all(client_options, server, paths);
    for (const auto& o : outcomes) {
        EXPECT_TRUE(o.response.has_value()) << o.path;
    }
    // Nine requests, two streams a connection, two connections at most: the pool opened
    // the second connection and queued the rest rather than breaking the peer's limit.
    EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(H2Connection, PeerThatHangsIsDeclaredDeadWithinTheStallTimeout) {
    h2_server_options options;
    options.freeze_after = 1;  // the first connection answers once, then goes silent
    h2_test_server server(echo_path, options);
    http_client_options client_options;
    client_options.limits.h2.stall_timeout = std::chrono::milliseconds(400);
    // One request answered, then one into the silence: its own deadline is far away, but
    // the unanswered PING gives the connection away well before.
    auto outcomes =
        fetch_all(client_options, server,
                  {{"/first", std::chrono::seconds(30)}, {"/second", std::chrono::seconds(30)}});
    int answered = outcomes[0].response.has_value() + outcomes[1].response.has_value();
    EXPECT_EQ(answered, 1);
    for (const auto& o : outcomes) {
        if (!o.response) {
            EXPECT_TRUE(o.response.error().is(errc::timeout)) << o.response.error().message();
            // The watchdog's verdict, not the request's own (distant) deadline.
            EXPECT_NE(o.response.error().message().find("stalled"), std::string::npos)
                << o.response.error().message();
        }
    }
}

}  // namespace
}  // namespace hoist::net
