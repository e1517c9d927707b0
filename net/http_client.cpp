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
    for (auto& [key, pool] : pools_) {
        pool->close_all();
    }
}

origin_pool& http_client::pool_for(const origin& where) {
    std::string key = where.to_string() + (where.verify_tls ? "" : "#insecure");
    auto it = pools_.find(key);
    if (it == pools_.end()) {
        it =
            pools_.emplace(key, std::make_unique<origin_pool>(where, tls_, tasks_, options_.limits))
                .first;
    }
    return *it->second;
}

asio::awaitable<result<std::unique_ptr<http_exchange>>> http_client::start(origin where,
                                                                           request_head head,
                                                                           deadline until) {
    head.headers.push_back({"user-agent", options_.user_agent});
    co_return co_await pool_for(where).start(std::move(head), until);
}

asio::awaitable<result<http_response>> http_client::send(http_request request, deadline until,
                                                         std::size_t max_body) {
    std::string what =
        request.method + " " + request.target.where.to_string() + request.target.target;
    failure last;
    for (int attempt = 0; attempt < std::max(1, options_.replay_attempts); ++attempt) {
        if (attempt > 0) {
            ++replays_;
        }
        request_head head{request.method, request.target.target, request.headers,
                          request.body.size()};
        auto exchange = co_await start(request.target.where, std::move(head), until);
        if (!exchange) {
            co_return with_context(exchange.error(), what);
        }
        bool wrote = true;
        if (!request.body.empty()) {
            auto w = co_await (*exchange)->write_body(as_bytes(request.body), until);
            wrote = w.has_value();
            if (wrote) {
                wrote = (co_await (*exchange)->finish_body(until)).has_value();
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
            co_return with_context(std::move(last), what);
        }
        (void)wrote;  // a server may answer early without reading the body; its answer counts
        http_response response{head_result->status, std::move(head_result->headers), {}};
        if (head_result->content_length && *head_result->content_length > max_body) {
            co_return fail(errc::body_too_large,
                           what + ": response body of " +
                               std::to_string(*head_result->content_length) + " bytes over " +
                               std::to_string(max_body),
                           response.status);
        }
        auto body = co_await read_all(**exchange, until, max_body);
        if (!body) {
            co_return with_context(body.error(), what);
        }
        response.body = std::move(*body);
        co_return response;
    }
    co_return with_context(std::move(last), what);
}

asio::awaitable<void> http_client::shutdown() {
    for (auto& [key, pool] : pools_) {
        pool->drain_idle();
    }
    for (auto& [key, pool] : pools_) {
        pool->close_all();
    }
    co_await tasks_.join();
}

client_stats http_client::stats() const {
    client_stats out;
    for (const auto& [key, pool] : pools_) {
        out.connections_opened += pool->stats().connections_opened;
        out.h2_connections_opened += pool->stats().h2_connections_opened;
        out.requests += pool->stats().requests_started;
    }
    out.replays = replays_;
    return out;
}

}  // namespace hoist::net
