// SPDX-License-Identifier: Apache-2.0
// h2_session against an in-memory nghttp2 server session: bytes are shuttled between the
// two with no sockets, so flow control, resets and GOAWAY can be checked exactly.
#include "net/h2_session.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <functional>
#include <map>
#include <set>
#include <string>

namespace hoist::net {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A scripted HTTP/2 server. Each complete request is answered by `respond`, which
// returns the status and body; the body is served through a data provider so that the
// server honours the client's flow-control windows.
class test_server {
public:
    struct request {
        std::map<std::string, std::string> headers;
        std::string body;
        bool complete = false;
    };
    struct response_plan {
        int status = 200;
        std::string body;
        bool hold = false;  // do not answer now
    };

    explicit test_server(std::vector<nghttp2_settings_entry> settings = {},
                         bool auto_window_update = true) {
        nghttp2_session_callbacks* cb = nullptr;
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_on_header_callback(cb, &on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &on_data);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &on_frame);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, &on_close);
        nghttp2_option* option = nullptr;
        nghttp2_option_new(&option);
        nghttp2_option_set_no_auto_window_update(option, auto_window_update ? 0 : 1);
        nghttp2_session_server_new2(&session_, cb, this, option);
        nghttp2_option_del(option);
        nghttp2_session_callbacks_del(cb);
        nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    }
    ~test_server() { nghttp2_session_del(session_); }

    std::function<response_plan(std::int32_t, const request&)> respond = [](auto, auto&) {
        return response_plan{200, "ok"};
    };

    nghttp2_session* session() { return session_; }
    std::map<std::int32_t, request> requests;
    std::map<std::int32_t, std::uint32_t> closed;  // stream → error code
    std::map<std::int32_t, std::string> bodies_out;
    std::size_t bytes_received = 0;

    void answer(std::int32_t id, int status, std::string body) {
        bodies_out[id] = std::move(body);
        offsets_[id] = 0;
        std::string code = std::to_string(status);
        nghttp2_nv nv[] = {
            {(uint8_t*)":status", (uint8_t*)code.data(), 7, code.size(), NGHTTP2_NV_FLAG_NONE}};
        nghttp2_data_provider provider{};
        provider.read_callback = &read_body;
        nghttp2_submit_response(session_, id, nv, 1, &provider);
    }

private:
    static test_server& self(void* p) { return *static_cast<test_server*>(p); }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user) {
        self(user).requests[frame->hd.stream_id].headers[std::string((const char*)name, namelen)] =
            std::string((const char*)value, valuelen);
        return 0;
    }
    static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                       void* user) {
        self(user).requests[id].body.append((const char*)data, len);
        self(user).bytes_received += len;
        return 0;
    }
    static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        auto& s = self(user);
        bool request_frame = frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA;
        if (request_frame && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            auto& r = s.requests[frame->hd.stream_id];
            r.complete = true;
            auto plan = s.respond(frame->hd.stream_id, r);
            if (!plan.hold) {
                s.answer(frame->hd.stream_id, plan.status, plan.body);
            }
        }
        return 0;
    }
    static int on_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
        self(user).closed[id] = code;
        return 0;
    }
    static ssize_t read_body(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* user) {
        auto& s = self(user);
        auto& body = s.bodies_out[id];
        auto& offset = s.offsets_[id];
        size_t n = std::min(length, body.size() - offset);
        std::memcpy(buf, body.data() + offset, n);
        offset += n;
        if (offset == body.size()) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        }
        return static_cast<ssize_t>(n);
    }

    nghttp2_session* session_ = nullptr;
    std::map<std::int32_t, std::size_t> offsets_;
};

class recording_listener : public h2_session_listener {
public:
    void on_stream_activity(std::int32_t id) override { active.insert(id); }
    void on_session_activity() override { ++session_events; }
    std::set<std::int32_t> active;
    int session_events = 0;
};

// Moves bytes both ways until neither side has anything to say.
void pump(h2_session& client, test_server& server) {
    for (int round = 0; round < 10000; ++round) {
        std::string out;
        ASSERT_TRUE(client.produce(out, 1u << 20).has_value());
        bool progress = !out.empty();
        if (!out.empty()) {
            ASSERT_EQ(nghttp2_session_mem_recv(server.session(), bytes_of(out).data(), out.size()),
                      static_cast<ssize_t>(out.size()));
        }
        std::string back;
        for (;;) {
            const uint8_t* data = nullptr;
            ssize_t n = nghttp2_session_mem_send(server.session(), &data);
            ASSERT_GE(n, 0);
            if (n == 0) {
                break;
            }
            back.append((const char*)data, n);
        }
        if (!back.empty()) {
            progress = true;
            ASSERT_TRUE(client.feed(bytes_of(back)).has_value());
        }
        if (!progress) {
            return;
        }
    }
    FAIL() << "pump did not settle";
}

TEST(H2Session, GetReceivesHeadAndBody) {
    recording_listener events;
    h2_session client(events);
    test_server server;
    server.respond = [](auto, auto&) { return test_server::response_plan{200, "hello"}; };
    auto id =
        client.submit_request("GET", "https", "r.example", "/v2/", {{"accept", "*/*"}}, false);
    ASSERT_TRUE(id.has_value());
    pump(client, server);
    EXPECT_EQ(server.requests[*id].headers[":path"], "/v2/");
    EXPECT_EQ(server.requests[*id].headers[":authority"], "r.example");
    EXPECT_EQ(server.requests[*id].headers["accept"], "*/*");
    const auto* s = client.stream(*id);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->head_complete);
    EXPECT_EQ(s->status, 200);
    EXPECT_TRUE(s->remote_ended);
    EXPECT_EQ(client.take_body(*id), "hello");
    EXPECT_TRUE(events.active.count(*id));
    client.forget(*id);
    EXPECT_EQ(client.stream(*id), nullptr);
}

TEST(H2Session, ManyConcurrentStreamsEachGetTheirOwnResponse) {
    recording_listener events;
    h2_session client(events);
    test_server server;
    server.respond = [](std::int32_t id, const test_server::request& r) {
        return test_server::response_plan{200, r.headers.at(":path") + "#" + std::to_string(id)};
    };
    std::map<std::int32_t, std::string> paths;
    for (int i = 0; i < 80; ++i) {
        std::string path = "/v2/repo" + std::to_string(i) + "/manifests/latest";
        auto id = client.submit_request("GET", "https", "r", path, {}, false);
        ASSERT_TRUE(id.has_value());
        paths[*id] = path;
    }
    pump(client, server);
    for (auto& [id, path] : paths) {
        EXPECT_EQ(client.take_body(id), path + "#" + std::to_string(id));
    }
}

TEST(H2Session, UploadIsFramedAsThePeerWindowAllows) {
    recording_listener events;
    h2_session client(events);
    // The server grants 64 KiB per stream and never more until it reads: the client must
    // keep the rest queued, not push past the window.
    test_server server({{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65535}}, false);
    auto id = client.submit_request("PUT", "https", "r", "/upload", {}, true);
    ASSERT_TRUE(id.has_value());
    std::string body(1u << 20, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>(i % 251);
    }
    client.write_body(*id, bytes_of(body));
    client.end_body(*id);
    pump(client, server);
    EXPECT_LE(server.bytes_received, 65535u);
    EXPECT_GT(client.stream(*id)->pending_out_size(), 0u);
    // Now the server consumes what it got, repeatedly, until the whole body is through.
    for (int i = 0; i < 100 && !server.requests[*id].complete; ++i) {
        nghttp2_session_consume(server.session(), *id, server.bytes_received);
        server.bytes_received = 0;
        pump(client, server);
    }
    EXPECT_TRUE(server.requests[*id].complete);
    EXPECT_EQ(server.requests[*id].body, body);
}

TEST(H2Session, DownloadStopsAtTheWindowUntilTheConsumerTakesBytes) {
    recording_listener events;
    h2_settings settings;
    settings.stream_window = 256u << 10;
    settings.connection_window = 1u << 20;
    h2_session client(events, settings);
    test_server server;
    std::string big(4u << 20, 'b');
    server.respond = [&](auto, auto&) { return test_server::response_plan{200, big}; };
    auto id = client.submit_request("GET", "https", "r", "/blob", {}, false);
    ASSERT_TRUE(id.has_value());
    pump(client, server);
    // Nothing taken yet: the buffered bytes are bounded by the stream window.
    EXPECT_LE(client.stream(*id)->body_size(), settings.stream_window);
    std::string received;
    for (int i = 0; i < 1000 && !client.stream(*id)->remote_ended; ++i) {
        received += client.take_body(*id);
        pump(client, server);
        EXPECT_LE(client.stream(*id)->body_size(), settings.stream_window);
    }
    received += client.take_body(*id);
    EXPECT_EQ(received, big);
}

TEST(H2Session, ResetAffectsOnlyThatStream) {
    recording_listener events;
    h2_session client(events);
    test_server server;
    server.respond = [](auto, auto&) { return test_server::response_plan{200, "", true}; };
    auto a = client.submit_request("GET", "https", "r", "/a", {}, false);
    auto b = client.submit_request("GET", "https", "r", "/b", {}, false);
    pump(client, server);
    client.reset(*a, NGHTTP2_CANCEL);
    server.answer(*b, 200, "b-body");
    pump(client, server);
    EXPECT_EQ(server.closed[*a], static_cast<std::uint32_t>(NGHTTP2_CANCEL));
    EXPECT_TRUE(client.stream(*a)->closed);
    EXPECT_EQ(client.stream(*b)->status, 200);
    EXPECT_EQ(client.take_body(*b), "b-body");
    EXPECT_FALSE(client.draining());
}

TEST(H2Session, GoawayRefusesStreamsTheServerDidNotProcess) {
    recording_listener events;
    h2_session client(events);
    test_server server;
    server.respond = [](auto, auto&) { return test_server::response_plan{200, "", true}; };
    auto first = client.submit_request("GET", "https", "r", "/1", {}, false);
    pump(client, server);
    auto second = client.submit_request("GET", "https", "r", "/2", {}, false);
    auto third = client.submit_request("GET", "https", "r", "/3", {}, false);
    // The GOAWAY names `first` as the last stream processed, before the others arrive.
    nghttp2_submit_goaway(server.session(), NGHTTP2_FLAG_NONE, *first, NGHTTP2_NO_ERROR, nullptr,
                          0);
    server.answer(*first, 200, "done");
    pump(client, server);
    EXPECT_TRUE(client.goaway_received());
    EXPECT_EQ(client.goaway_last_stream_id(), *first);
    EXPECT_TRUE(client.draining());
    EXPECT_EQ(client.take_body(*first), "done");
    for (auto id : {*second, *third}) {
        ASSERT_NE(client.stream(id), nullptr);
        EXPECT_TRUE(client.stream(id)->closed);
        EXPECT_EQ(client.stream(id)->close_code,
                  static_cast<std::uint32_t>(NGHTTP2_REFUSED_STREAM));
    }
    EXPECT_FALSE(client.submit_request("GET", "https", "r", "/4", {}, false).has_value());
}

TEST(H2Session, ReportsThePeerStreamLimit) {
    recording_listener events;
    h2_session client(events);
    test_server server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 7}});
    auto id = client.submit_request("GET", "https", "r", "/", {}, false);
    pump(client, server);
    EXPECT_EQ(client.peer_max_concurrent_streams(), 7u);
    EXPECT_GT(events.session_events, 0);
    client.forget(*id);
}

TEST(H2Session, InterimResponseIsSkipped) {
    recording_listener events;
    h2_session client(events);
    test_server server;
    server.respond = [](auto, auto&) { return test_server::response_plan{200, "", true}; };
    auto id = client.submit_request("GET", "https", "r", "/", {}, false);
    pump(client, server);
    nghttp2_nv interim[] = {{(uint8_t*)":status", (uint8_t*)"103", 7, 3, NGHTTP2_NV_FLAG_NONE},
                            {(uint8_t*)"link", (uint8_t*)"</x>", 4, 4, NGHTTP2_NV_FLAG_NONE}};
    nghttp2_submit_headers(server.session(), NGHTTP2_FLAG_NONE, *id, nullptr, interim, 2, nullptr);
    pump(client, server);
    EXPECT_FALSE(client.stream(*id)->head_complete);
    server.answer(*id, 404, "nope");
    pump(client, server);
    EXPECT_TRUE(client.stream(*id)->head_complete);
    EXPECT_EQ(client.stream(*id)->status, 404);
    EXPECT_TRUE(client.stream(*id)->headers.empty());
}

TEST(H2Session, GarbageFromThePeerIsAProtocolError) {
    recording_listener events;
    h2_session client(events);
    std::string out;
    ASSERT_TRUE(client.produce(out, 1u << 16).has_value());
    std::string garbage = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    (void)client.feed(bytes_of(garbage));
    // nghttp2 answers a connection error with GOAWAY; once that is out, the session ends.
    std::string goaway;
    ASSERT_TRUE(client.produce(goaway, 1u << 16).has_value());
    EXPECT_FALSE(goaway.empty());
    EXPECT_FALSE(client.wants_read());
    EXPECT_FALSE(client.wants_write());
    EXPECT_TRUE(client.end_reason().is(errc::protocol_error));
}

TEST(H2Session, ForgettingAnUnreadStreamGivesItsWindowBack) {
    recording_listener events;
    h2_settings settings;
    settings.stream_window = 64u << 10;
    settings.connection_window = 128u << 10;
    h2_session client(events, settings);
    test_server server;
    std::string big(100u << 10, 'x');
    server.respond = [&](auto, auto&) { return test_server::response_plan{200, big}; };
    // Abandon one large response unread, twice over the connection window: if forgetting
    // did not return the window, the second and third responses could never complete.
    for (int i = 0; i < 3; ++i) {
        auto id = client.submit_request("GET", "https", "r", "/blob", {}, false);
        pump(client, server);
        client.forget(*id);
        pump(client, server);
    }
    auto id = client.submit_request("GET", "https", "r", "/blob", {}, false);
    std::string received;
    for (int i = 0; i < 100 && !(client.stream(*id) && client.stream(*id)->remote_ended); ++i) {
        pump(client, server);
        received += client.take_body(*id);
    }
    received += client.take_body(*id);
    EXPECT_EQ(received.size(), big.size());
}

}  // namespace
}  // namespace hoist::net
