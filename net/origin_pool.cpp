// SPDX-License-Identifier: Apache-2.0
#include "net/origin_pool.hpp"

#include "net/h1_connection.hpp"

#include <algorithm>

namespace hoist::net {

origin_pool::origin_pool(origin where, tls_client& tls, task_tracker& tasks, pool_limits limits)
    : where_(std::move(where)), tls_(tls), tasks_(tasks), limits_(limits) {}

origin_pool::~origin_pool() {
    close_all();
}

void origin_pool::prune() {
    std::erase_if(connections_, [](const auto& c) { return !c->is_open(); });
}

std::size_t origin_pool::open_connections() const {
    return std::count_if(connections_.begin(), connections_.end(),
                         [](const auto& c) { return c->is_open(); });
}

asio::awaitable<result<std::unique_ptr<http_exchange>>> origin_pool::start(request_head head,
                                                                           deadline until) {
    for (;;) {
        prune();
        // Prefer the busiest connection that still has room: idle ones can then be closed.
        http_connection* best = nullptr;
        for (auto& c : connections_) {
            if (c->has_capacity() &&
                (best == nullptr || c->active_requests() > best->active_requests())) {
                best = c.get();
            }
        }
        if (best != nullptr) {
            ++stats_.requests_started;
            co_return best->start(std::move(head));
        }
        std::size_t limit = known_h2_   ? limits_.max_h2_connections
                            : known_h1_ ? limits_.max_h1_connections
                                        : 1;  // until the first connection tells the protocol
        bool may_connect =
            connections_.size() + connecting_ < limit && (known_h1_ || connecting_ == 0);
        if (may_connect) {
            if (auto r = co_await connect(until); !r) {
                co_return r.error();
            }
            continue;
        }
        auto status = co_await room_->wait(until);
        if (status == wait_status::expired) {
            co_return fail(errc::timeout, "waiting for a connection to " + where_.to_string());
        }
        if (status == wait_status::cancelled) {
            co_return fail(errc::cancelled, "waiting for a connection to " + where_.to_string());
        }
    }
}

asio::awaitable<result<void>> origin_pool::connect(deadline until) {
    ++connecting_;
    auto conn = co_await transport::connect(
        where_, tls_, deadline::earliest(until, deadline::from_now(limits_.connect_timeout)));
    --connecting_;
    room_->notify_all();
    if (!conn) {
        co_return conn.error();
    }
    ++stats_.connections_opened;
    auto notify = [room = room_] { room->notify_all(); };
    if ((*conn)->negotiated_h2()) {
        known_h2_ = true;
        ++stats_.h2_connections_opened;
        auto h2 = std::make_shared<h2_connection>(std::move(*conn), limits_.h2, notify);
        h2->run(tasks_);
        ++connecting_;
        auto ready = co_await h2->wait_ready(
            deadline::earliest(until, deadline::from_now(limits_.connect_timeout)));
        --connecting_;
        room_->notify_all();
        if (!ready) {
            h2->close();
            co_return ready.error();
        }
        connections_.push_back(std::move(h2));
    } else {
        known_h1_ = true;
        connections_.push_back(std::make_shared<h1_connection>(std::move(*conn), notify));
    }
    co_return result<void>{};
}

void origin_pool::close_all() {
    for (auto& c : connections_) {
        c->close();
    }
    connections_.clear();
    room_->notify_all();
}

void origin_pool::drain_all() {
    for (auto& c : connections_) {
        c->drain();
    }
    prune();
}

}  // namespace hoist::net
