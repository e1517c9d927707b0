// SPDX-License-Identifier: Apache-2.0
#include "tests/support/scripted_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

namespace hoist::testsupport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct scripted_server::impl {
    handler respond;
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::thread thread;
    mutable std::mutex mutex;
    std::vector<scripted_request> received;

    asio::awaitable<void> serve(tcp::socket socket) {
        auto as_nothrow = asio::as_tuple(asio::use_awaitable);
        std::string buffer(4096, '\0');
        auto [first_error, first] =
            co_await socket.async_read_some(asio::buffer(buffer), as_nothrow);
        if (first_error) {
            co_return;
        }
        buffer.resize(first);
        if (!buffer.empty() && buffer.front() == '\x16') {
            // A TLS ClientHello: answer like a plain-HTTP server does, so clients fall back.
            std::string refusal = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
            co_await asio::async_write(socket, asio::buffer(refusal), as_nothrow);
            co_return;
        }
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer),
                                                           "\r\n\r\n", as_nothrow);
            if (ec) {
                co_return;
            }
            scripted_request request;
            std::istringstream head(buffer.substr(0, n));
            buffer.erase(0, n);
            std::string line;
            std::getline(head, line);
            std::istringstream request_line(line);
            request_line >> request.method >> request.target;
            std::size_t length = 0;
            while (std::getline(head, line) && line != "\r") {
                auto colon = line.find(':');
                if (colon == std::string::npos) {
                    continue;
                }
                std::string name = line.substr(0, colon);
                std::transform(name.begin(), name.end(), name.begin(), ::tolower);
                std::string value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) {
                    value.pop_back();
                }
                if (name == "content-length") {
                    length = std::stoul(value);
                }
                request.headers.push_back({name, value});
            }
            bool chunked_request = false;
            for (const auto& h : request.headers) {
                chunked_request |= h.name == "transfer-encoding" && h.value == "chunked";
            }
            if (chunked_request) {
                // Chunks until the zero-size one; no trailers from our client.
                for (;;) {
                    auto [size_error, line_end] = co_await asio::async_read_until(
                        socket, asio::dynamic_buffer(buffer), "\r\n", as_nothrow);
                    if (size_error) {
                        co_return;
                    }
                    std::size_t size = std::stoul(buffer.substr(0, line_end), nullptr, 16);
                    buffer.erase(0, line_end);
                    if (buffer.size() < size + 2) {
                        auto [read_error, got] = co_await asio::async_read(
                            socket, asio::dynamic_buffer(buffer),
                            asio::transfer_exactly(size + 2 - buffer.size()), as_nothrow);
                        if (read_error) {
                            co_return;
                        }
                    }
                    request.body += buffer.substr(0, size);
                    buffer.erase(0, size + 2);
                    if (size == 0) {
                        break;
                    }
                }
            } else {
                if (buffer.size() < length) {
                    auto [read_error, got] = co_await asio::async_read(
                        socket, asio::dynamic_buffer(buffer),
                        asio::transfer_exactly(length - buffer.size()), as_nothrow);
                    if (read_error) {
                        co_return;
                    }
                }
                request.body = buffer.substr(0, length);
                buffer.erase(0, length);
            }
            scripted_response response = respond(request);
            {
                std::lock_guard lock(mutex);
                received.push_back(request);
            }
            std::string out = "HTTP/1.1 " + std::to_string(response.status) + " Scripted\r\n";
            for (const auto& h : response.headers) {
                out += h.name + ": " + h.value + "\r\n";
            }
            if (response.chunked) {
                out += "Transfer-Encoding: chunked\r\n\r\n";
                for (std::size_t at = 0; at < response.body.size(); at += 1000) {
                    std::string piece = response.body.substr(at, 1000);
                    char size[16];
                    std::snprintf(size, sizeof(size), "%zx", piece.size());
                    out += std::string(size) + ";ext=1\r\n" + piece + "\r\n";
                }
                out += "0\r\nX-Trailer: t\r\n\r\n";
            } else {
                out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
                if (request.method != "HEAD") {
                    out += response.cut_after ? response.body.substr(0, *response.cut_after)
                                              : response.body;
                }
            }
            auto [write_error, written] =
                co_await asio::async_write(socket, asio::buffer(out), as_nothrow);
            if (write_error || response.cut_after) {
                co_return;  // closing here is the point of cut_after
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
            asio::co_spawn(io, serve(std::move(socket)), asio::detached);
        }
    }
};

scripted_server::scripted_server(handler respond) : impl_(std::make_unique<impl>()) {
    impl_->respond = std::move(respond);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

scripted_server::~scripted_server() {
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t scripted_server::port() const {
    return impl_->acceptor.local_endpoint().port();
}

std::string scripted_server::host_port() const {
    return "127.0.0.1:" + std::to_string(port());
}

std::vector<scripted_request> scripted_server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

}  // namespace hoist::testsupport
