// SPDX-License-Identifier: Apache-2.0
#include "tests/support/h2_test_server.hpp"

#include "crypto/x509_cert.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace hoist::testsupport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct impl_hooks;

namespace {

// One accepted connection's protocol state; the nghttp2 callbacks reach it as user_data.
struct connection_state {
    impl_hooks* hooks = nullptr;
    std::size_t number = 0;
    nghttp2_session* session = nullptr;
    std::map<std::int32_t, h2_request> incoming;
    std::map<std::int32_t, std::string> bodies;
    std::map<std::int32_t, std::size_t> offsets;
    std::size_t answered = 0;
    bool goaway_sent = false;
    bool frozen = false;
};

}  // namespace

struct impl_hooks {
    h2_test_server::handler respond;
    h2_server_options options;
    mutable std::mutex mutex;
    std::condition_variable reset_seen;
    std::vector<h2_request> received;
    std::vector<std::pair<std::int32_t, std::size_t>> resets;
};

struct h2_test_server::impl : impl_hooks {
    asio::io_context io;
    asio::ssl::context tls{asio::ssl::context::tls_server};
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::string ca_path;
    std::size_t accepted = 0;
    std::size_t handshakes_started = 0;

    static connection_state& state(void* user) { return *static_cast<connection_state*>(user); }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user) {
        auto& request = state(user).incoming[frame->hd.stream_id];
        std::string n(reinterpret_cast<const char*>(name), namelen);
        std::string v(reinterpret_cast<const char*>(value), valuelen);
        if (n == ":method") {
            request.method = v;
        } else if (n == ":path") {
            request.path = v;
        } else if (n[0] != ':') {
            request.headers.push_back({n, v});
        }
        return 0;
    }

    static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                       void* user) {
        state(user).incoming[id].body.append(reinterpret_cast<const char*>(data), len);
        return 0;
    }

    static ssize_t read_body(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* user) {
        auto& s = state(user);
        auto& body = s.bodies[id];
        auto& offset = s.offsets[id];
        size_t n = std::min(length, body.size() - offset);
        std::memcpy(buf, body.data() + offset, n);
        offset += n;
        if (offset == body.size()) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        }
        return static_cast<ssize_t>(n);
    }

    static int on_frame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
        auto& s = state(user);
        bool ends_request = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
        if (!ends_request || s.goaway_sent || s.frozen) {
            return 0;  // after our GOAWAY (or freeze), later streams are left unprocessed
        }
        auto id = frame->hd.stream_id;
        auto request = s.incoming[id];
        request.stream_id = id;
        request.connection = s.number;
        {
            std::lock_guard lock(s.hooks->mutex);
            s.hooks->received.push_back(request);
        }
        h2_response response = s.hooks->respond(request);
        if (response.reset) {
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
        } else if (!response.stall) {
            s.bodies[id] = std::move(response.body);
            s.offsets[id] = 0;
            std::vector<std::string> storage;
            storage.push_back(std::to_string(response.status));
            std::vector<nghttp2_nv> nv;
            auto add = [&](const std::string& n, const std::string& v) {
                nv.push_back({(uint8_t*)n.data(), (uint8_t*)v.data(), n.size(), v.size(),
                              NGHTTP2_NV_FLAG_NONE});
            };
            static const std::string status_name = ":status";
            add(status_name, storage[0]);
            for (const auto& h : response.headers) {
                add(h.name, h.value);
            }
            nghttp2_data_provider provider{};
            provider.read_callback = &read_body;
            nghttp2_submit_response(session, id, nv.data(), nv.size(), &provider);
        }
        ++s.answered;
        const auto& freeze_after = s.hooks->options.freeze_after;
        if (freeze_after && s.number == 1 && s.answered >= *freeze_after) {
            s.frozen = true;
        }
        const auto& goaway_after = s.hooks->options.goaway_after;
        if (goaway_after && s.number == 1 && s.answered == *goaway_after) {
            nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
            s.goaway_sent = true;
        }
        return 0;
    }

    static int on_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
        auto& s = state(user);
        if (code == NGHTTP2_CANCEL) {
            std::lock_guard lock(s.hooks->mutex);
            s.hooks->resets.emplace_back(id, s.number);
            s.hooks->reset_seen.notify_all();
        }
        return 0;
    }

    asio::awaitable<void> serve(tcp::socket socket, std::size_t number) {
        auto nothrow = asio::as_tuple(asio::use_awaitable);
        char first = 0;
        auto [peek_error, peeked] = co_await socket.async_receive(
            asio::buffer(&first, 1), tcp::socket::message_peek, nothrow);
        if (peek_error || peeked == 0) {
            co_return;
        }
        if (first != '\x16') {
            // What Go's net/http answers on a TLS port to a request in plain text.
            std::string refusal =
                "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
            co_await asio::async_write(socket, asio::buffer(refusal), nothrow);
            co_return;
        }
        bool drop = false;
        {
            std::lock_guard lock(mutex);
            drop = ++handshakes_started <= options.drop_handshakes;
        }
        if (drop) {
            std::vector<char> hello(4096);
            co_await socket.async_read_some(asio::buffer(hello), nothrow);
            co_return;
        }
        asio::ssl::stream<tcp::socket> stream(std::move(socket), tls);
        auto [handshake_error] =
            co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
        if (handshake_error) {
            co_return;
        }
        connection_state s;
        s.hooks = this;
        s.number = number;
        nghttp2_session_callbacks* callbacks = nullptr;
        nghttp2_session_callbacks_new(&callbacks);
        nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data);
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame);
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_close);
        nghttp2_session_server_new(&s.session, callbacks, &s);
        nghttp2_session_callbacks_del(callbacks);
        // Owned by the frame: a connection still hanging when the server stops is destroyed
        // with its frame, and the session with it.
        std::unique_ptr<nghttp2_session, decltype(&nghttp2_session_del)> owner(
            s.session, &nghttp2_session_del);
        nghttp2_settings_entry settings[] = {
            {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams}};
        nghttp2_submit_settings(s.session, NGHTTP2_FLAG_NONE, settings, 1);
        std::vector<std::uint8_t> buffer(1 << 16);
        for (;;) {
            std::string out;
            const uint8_t* data = nullptr;
            ssize_t n = 0;
            while ((n = nghttp2_session_mem_send(s.session, &data)) > 0) {
                out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
            }
            if (!out.empty()) {
                auto [write_error, written] =
                    co_await asio::async_write(stream, asio::buffer(out), nothrow);
                if (write_error) {
                    break;
                }
            }
            if (!nghttp2_session_want_read(s.session) && !nghttp2_session_want_write(s.session)) {
                break;
            }
            if (s.frozen) {
                // Hang on to the socket without a word until the server stops.
                asio::steady_timer forever(io, std::chrono::hours(24));
                co_await forever.async_wait(nothrow);
                break;
            }
            auto [read_error, got] = co_await stream.async_read_some(asio::buffer(buffer), nothrow);
            if (read_error || nghttp2_session_mem_recv(s.session, buffer.data(), got) < 0) {
                break;
            }
        }
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
            // Test-only server: connections live on this io_context, which the destructor
            // stops and joins, so nothing outlives the server.
            std::size_t number = 0;
            {
                std::lock_guard lock(mutex);
                number = ++accepted;
            }
            asio::co_spawn(io, serve(std::move(socket), number), asio::detached);
        }
    }
};

h2_test_server::h2_test_server(handler respond, h2_server_options options)
    : impl_(std::make_unique<impl>()) {
    impl_->respond = std::move(respond);
    impl_->options = options;
    auto identity = crypto::make_self_signed_cert("hoist h2 test server", {"127.0.0.1"},
                                                  {"localhost"}, std::chrono::hours(2));
    if (!identity) {
        throw std::runtime_error("cannot make a test certificate");
    }
    impl_->tls.use_certificate_chain(asio::buffer(identity->certificate_pem));
    impl_->tls.use_private_key(asio::buffer(identity->private_key_pem), asio::ssl::context::pem);
    SSL_CTX_set_alpn_select_cb(
        impl_->tls.native_handle(),
        [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
           unsigned inlen, void*) -> int {
            auto** chosen = const_cast<unsigned char**>(out);
            return nghttp2_select_next_protocol(chosen, outlen, in, inlen) == 1
                       ? SSL_TLSEXT_ERR_OK
                       : SSL_TLSEXT_ERR_NOACK;
        },
        nullptr);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    impl_->ca_path =
        (std::filesystem::temp_directory_path() /
         ("hoist-h2-test-" + std::to_string(impl_->acceptor.local_endpoint().port()) + ".pem"))
            .string();
    std::ofstream(impl_->ca_path) << identity->certificate_pem;
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

h2_test_server::~h2_test_server() {
    impl_->io.stop();
    impl_->thread.join();
    std::filesystem::remove(impl_->ca_path);
}

std::string h2_test_server::host_port() const {
    return "127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

std::string h2_test_server::ca_file() const {
    return impl_->ca_path;
}

std::size_t h2_test_server::connections_accepted() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->accepted;
}

std::vector<h2_request> h2_test_server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

std::vector<std::pair<std::int32_t, std::size_t>> h2_test_server::resets_received() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->resets;
}

}  // namespace hoist::testsupport

namespace hoist::testsupport {

bool h2_test_server::wait_for_resets(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->reset_seen.wait_for(lock, timeout, [&] { return impl_->resets.size() >= count; });
}

}  // namespace hoist::testsupport
