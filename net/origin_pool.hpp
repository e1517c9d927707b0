// SPDX-License-Identifier: Apache-2.0
/// The connections to one origin. Requests go to an open connection with a free stream;
/// another connection is opened only when every one is full (HTTP/2: the peer's
/// SETTINGS_MAX_CONCURRENT_STREAMS; HTTP/1.1: one request each). A connection that gets
/// GOAWAY stops taking requests and is dropped when its streams are done.
#pragma once

#include "net/h2_connection.hpp"
#include "net/http_connection.hpp"
#include "net/origin.hpp"
#include "net/task_tracker.hpp"
#include "net/tls.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace hoist::net {

struct pool_limits {
    std::size_t max_h2_connections = 4;
    std::size_t max_h1_connections = 16;
    std::chrono::milliseconds connect_timeout{30'000};
    h2_limits h2;
};

struct pool_stats {
    std::size_t connections_opened = 0;
    std::size_t h2_connections_opened = 0;
    std::size_t requests_started = 0;
};

class origin_pool {
public:
    // lifetime: `tls` and `tasks` belong to the http_client that owns this pool.
    origin_pool(origin where, tls_client& tls, task_tracker& tasks, pool_limits limits);
    ~origin_pool();
    origin_pool(const origin_pool&) = delete;
    origin_pool& operator=(const origin_pool&) = delete;

    /// Starts a request on a connection with room for it, connecting if needed. Waits for
    /// room until `until`. Connection failures are returned to the request that tried.
    asio::awaitable<result<std::unique_ptr<http_exchange>>> start(request_head head,
                                                                  deadline until);
    /// Closes every connection.
    void close_all();
    /// Stops taking requests: HTTP/2 connections flush what they hold, send GOAWAY and
    /// end once their streams are done; idle HTTP/1.1 connections close.
    void drain_all();

    const origin& where() const { return where_; }
    const pool_stats& stats() const { return stats_; }
    std::size_t open_connections() const;

private:
    asio::awaitable<result<void>> connect(deadline until);
    void prune();

    origin where_;
    tls_client& tls_;
    task_tracker& tasks_;
    pool_limits limits_;
    std::vector<std::shared_ptr<http_connection>> connections_;
    std::size_t connecting_ = 0;
    bool known_h2_ = false;
    bool known_h1_ = false;
    // Shared with the connections' callbacks, which may outlive the pool by a little.
    std::shared_ptr<wait_list> room_ = std::make_shared<wait_list>();
    pool_stats stats_;
};

}  // namespace hoist::net
