// SPDX-License-Identifier: Apache-2.0
/// An HTTP/2 connection: one transport, one h2_session, exactly one reader and one writer
/// coroutine. Requests park on per-stream wakeups; cancelling or abandoning one request
/// resets only its stream.
#pragma once

#include "net/h2_session.hpp"
#include "net/http_connection.hpp"
#include "net/task_tracker.hpp"
#include "net/transport.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace hoist::net {

struct h2_limits {
    h2_settings session;
    /// Streams opened at most at once on one connection, whatever the peer allows.
    std::uint32_t max_streams = 256;
    /// Request body bytes queued per stream before `write_body` waits.
    std::size_t body_queue_bytes = 256u << 10;
    /// Most response body bytes handed out by one `read_body`.
    std::size_t body_piece_bytes = 256u << 10;
    /// A connection whose write has not finished, or which has streams open but has
    /// received nothing (not even the answer to a PING sent halfway) for this long, is
    /// dead: its requests fail and the pool stops using it.
    std::chrono::milliseconds stall_timeout{60'000};
};

class h2_connection final : public http_connection,
                            public std::enable_shared_from_this<h2_connection>,
                            private h2_session_listener {
public:
    /// `on_capacity` is called whenever streams free up or the connection ends.
    h2_connection(std::unique_ptr<transport> transport, h2_limits limits,
                  std::function<void()> on_capacity);
    ~h2_connection() override;

    /// Starts the reader and writer loops under `tasks`.
    void run(task_tracker& tasks);
    /// Waits for the peer's SETTINGS, so that its stream limit is known before the pool
    /// hands out streams (before them nghttp2 assumes 100).
    asio::awaitable<result<void>> wait_ready(deadline until);

    bool has_capacity() const override;
    bool is_open() const override;
    bool is_h2() const override { return true; }
    std::size_t active_requests() const override { return session_.open_streams(); }
    result<std::unique_ptr<http_exchange>> start(request_head head) override;
    void close() override;
    void drain() override;

private:
    friend class h2_exchange;

    asio::awaitable<void> read_loop(std::shared_ptr<h2_connection> self);
    asio::awaitable<void> write_loop(std::shared_ptr<h2_connection> self);
    asio::awaitable<void> watchdog(std::shared_ptr<h2_connection> self);
    void on_stream_activity(std::int32_t stream_id) override;
    void on_session_activity() override;
    void die(failure why);
    // Wakes the writer only when nghttp2 has frames to send: after most reads it has none.
    void kick_writer() {
        if (session_.wants_write()) {
            writer_wakeup_.notify();
        }
    }

    std::unique_ptr<transport> transport_;
    h2_limits limits_;
    std::string authority_;  ///< :authority of every request, computed once
    h2_session session_;
    std::function<void()> on_capacity_;
    wakeup writer_wakeup_;
    wait_list activity_;
    std::unordered_map<std::int32_t, wakeup*> stream_wakeups_;
    std::optional<failure> dead_;
    std::vector<std::uint8_t> read_buffer_;
    std::string write_buffer_;
    using clock = std::chrono::steady_clock;
    clock::time_point last_read_ = clock::now();
    std::optional<clock::time_point> write_started_;
    bool ping_outstanding_ = false;
    wakeup watchdog_wakeup_;
};

}  // namespace hoist::net
