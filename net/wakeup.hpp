// SPDX-License-Identifier: Apache-2.0
/// Parking a coroutine until something happens or its deadline passes. Single-threaded
/// use only (one io_context): a waiter checks its condition, then waits, with no
/// suspension in between, so a notification can never be lost.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"

#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace hoist::net {

enum class wait_status {
    notified,  ///< `notify` was called: re-check the condition
    expired,   ///< the deadline passed
    cancelled  ///< the awaiting coroutine was cancelled
};

/// One waiting coroutine at a time.
class wakeup {
public:
    explicit wakeup(asio::any_io_executor executor) : timer_(std::move(executor)) {}

    asio::awaitable<wait_status> wait(deadline until);
    void notify() { timer_.cancel(); }

    /// The bare timer wait behind `wait`, for hot paths that interpret it themselves
    /// (no coroutine frame): no error means the deadline passed.
    auto async_wait(deadline until) {
        timer_.expires_at(until.when());
        return timer_.async_wait(use_nothrow);
    }

private:
    asio::steady_timer timer_;
};

/// Any number of waiting coroutines, all woken by `notify_all`.
class wait_list {
public:
    asio::awaitable<wait_status> wait(deadline until);
    void notify_all();
    std::size_t waiting() const { return waiters_.size(); }

private:
    std::vector<wakeup*> waiters_;
};

}  // namespace hoist::net
