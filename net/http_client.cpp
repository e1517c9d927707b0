// SPDX-License-Identifier: Apache-2.0
#include "net/http_client.hpp"

namespace hoist::net {

namespace {

bool is_idempotent(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

// lifetime: `exchange` is owned by the caller's frame for the whole call.
asio::awaitable<result<std::string>> read_all(http_exchange& exchange, deadline until,
                                              std::size_t max_body) {
    std::string body;
    for (;;) {
        auto chunk = co_await exchange.read_body(until);
        if (!chunk) {
            co_return chunk.error();
        }
        if (chunk->empty()) {
            co_return body;
        }
        if (body.size() + chunk->size() > max_body) {
            co_return fail(errc::body_too_large,
                           "response body over " + std::to_string(max_body) + " bytes");
        }
        if (body.empty()) {
            body = std::move(*chunk);
        } else {
            body += *chunk;
        }
    }
}

http_client::http_client(asio::any_io_executor executor, http_client_options options)
    : executor_(executor), options_(std::move(options)), tls_(options_.tls), tasks_(executor) {}

http_client::~http_client() {
    for (auto& pool : pools_) {
        pool->close_all();
    }
}

origin_pool& http_client::pool_for(const origin& where) {
    // A handful of origins per run: a linear scan beats building a key per request.
    for (auto& pool : pools_) {
        if (pool->where() == where) {
            return *pool;
        }
    }
    pools_.push_back(std::make_unique<origin_pool>(where, tls_, tasks_, options_.limits));
    return *pools_.back();
}

// Not a coroutine itself: one frame less on the path of every request.
asio::awaitable<result<std::unique_ptr<http_exchange>>> http_client::start(const origin& where,
                                                                           request_head head,
                                                                           deadline until) {
    head.headers.push_back({"user-agent", options_.user_agent});
    return pool_for(where).start(std::move(head), until);
}

// lifetime: `request` is owned by the caller, who awaits the whole call.
asio::awaitable<result<http_response>> http_client::send(const http_request& request,
                                                         deadline until, std::size_t max_body) {
    // Built only on failure: this is the path of every registry request.
    auto what = [&] {
        return request.method + " " + request.target.where.to_string() + request.target.target;
    };
    failure last;
    for (int attempt = 0; attempt < std::max(1, options_.replay_attempts); ++attempt) {
        if (attempt > 0) {
            ++replays_;
        }
        request_head head{request.method, request.target.target, request.headers,
                          request.body.size()};
        auto exchange = co_await start(request.target.where, std::move(head), until);
        if (!exchange) {
            co_return with_context(exchange.error(), what());
        }
        if (!request.body.empty()) {
            // A server may answer before reading the whole body (a 401, say): its answer
            // is what counts, so a failed write is judged by the response below.
            auto written = co_await (*exchange)->write_body(as_bytes(request.body), until);
            if (written) {
                (void)co_await (*exchange)->finish_body(until);
            }
        }
        auto head_result = co_await (*exchange)->read_head(until);
        if (!head_result) {
            last = head_result.error();
            bool replayable = last.is(errc::refused_stream) ||
                              (is_idempotent(request.method) &&
                               (last.is(errc::connection_closed) || last.is(errc::stream_reset)));
            if (replayable && !until.expired()) {
                continue;
            }
            co_return with_context(std::move(last), what());
        }
        http_response response{head_result->status, std::move(head_result->headers), {}};
        // A HEAD response's Content-Length is the size of what a GET would return.
        bool has_body = request.method != "HEAD";
        if (has_body && head_result->content_length && *head_result->content_length > max_body) {
            co_return fail(errc::body_too_large,
                           what() + ": response body of " +
                               std::to_string(*head_result->content_length) + " bytes over " +
                               std::to_string(max_body),
                           response.status);
        }
        if (has_body && head_result->content_length != 0u) {
            auto body = co_await read_all(**exchange, until, max_body);
            if (!body) {
                co_return with_context(body.error(), what());
            }
            response.body = std::move(*body);
        } else {
            // Nothing to read, but the end of the stream must still be seen for HTTP/1.1
            // to reuse the connection.
            auto end = co_await (*exchange)->read_body(until);
            if (!end) {
                co_return with_context(end.error(), what());
            }
        }
        co_return response;
    }
    co_return with_context(std::move(last), what());
}

asio::awaitable<void> http_client::shutdown() {
    // Gracefully first: HTTP/2 connections send what they still hold (resets of abandoned
    // streams among it) and GOAWAY, and end by themselves; then whatever remains is closed.
    for (auto& pool : pools_) {
        pool->drain_all();
    }
    co_await tasks_.join(deadline::from_now(std::chrono::seconds(2)));
    for (auto& pool : pools_) {
        pool->close_all();
    }
    co_await tasks_.join(deadline());
}

client_stats http_client::stats() const {
    client_stats out;
    for (const auto& pool : pools_) {
        out.connections_opened += pool->stats().connections_opened;
        out.h2_connections_opened += pool->stats().h2_connections_opened;
        out.requests += pool->stats().requests_started;
    }
    out.replays = replays_;
    return out;
}

}  // namespace hoist::net
