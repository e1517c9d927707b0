// SPDX-License-Identifier: Apache-2.0
/// The HTTP client of hoist: one origin pool per origin, requests with deadlines, whole
/// in-memory exchanges for small bodies and streaming exchanges for blobs.
/// Executor: one io_context thread; not thread-safe.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/http_connection.hpp"
#include "net/origin.hpp"
#include "net/origin_pool.hpp"
#include "net/task_tracker.hpp"
#include "net/tls.hpp"

#include <memory>
#include <string>
#include <vector>

namespace hoist::net {

struct http_client_options {
    tls_options tls;
    pool_limits limits;
    std::string user_agent = "hoist/0.1";
    /// Attempts for a request that was refused before processing (GOAWAY, REFUSED_STREAM)
    /// or lost with its connection before any response; those are safe to repeat.
    int replay_attempts = 3;
};

/// A request whose body is in memory.
struct http_request {
    std::string method = "GET";
    url target;
    header_list headers;
    std::string body;
};

/// A response with its body read into memory.
struct http_response {
    int status = 0;
    header_list headers;
    std::string body;

    std::optional<std::string_view> header(std::string_view name) const {
        return find_header(headers, name);
    }
};

struct client_stats {
    std::size_t connections_opened = 0;
    std::size_t h2_connections_opened = 0;
    std::size_t requests = 0;
    std::size_t replays = 0;
};

class http_client {
public:
    http_client(asio::any_io_executor executor, http_client_options options);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// Sends a request with an in-memory body and reads the response body into memory,
    /// failing with body_too_large beyond `max_body` bytes. Requests refused before
    /// processing are replayed on another stream or connection.
    // lifetime: `request` must outlive the call (the caller awaits it).
    asio::awaitable<result<http_response>> send(const http_request& request, deadline until,
                                                std::size_t max_body = 16u << 20);

    /// Starts a streaming exchange; the caller writes the body (if `head.content_length`
    /// is not 0) and reads the response through the returned exchange.
    asio::awaitable<result<std::unique_ptr<http_exchange>>> start(const origin& where,
                                                                  request_head head,
                                                                  deadline until);

    /// Closes idle connections and waits until every connection loop has ended.
    /// Call before destroying the client with its io_context still running.
    asio::awaitable<void> shutdown();

    client_stats stats() const;
    const http_client_options& options() const { return options_; }
    asio::any_io_executor executor() const { return executor_; }

private:
    origin_pool& pool_for(const origin& where);

    asio::any_io_executor executor_;
    http_client_options options_;
    tls_client tls_;
    task_tracker tasks_;
    std::vector<std::unique_ptr<origin_pool>> pools_;
    std::size_t replays_ = 0;
};

/// Reads the rest of a response body into memory, up to `max_body` bytes.
asio::awaitable<result<std::string>> read_all(http_exchange& exchange, deadline until,
                                              std::size_t max_body);

}  // namespace hoist::net
