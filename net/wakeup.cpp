// SPDX-License-Identifier: Apache-2.0
#include "net/wakeup.hpp"

#include <algorithm>

namespace hoist::net {

asio::awaitable<wait_status> wakeup::wait(deadline until) {
    timer_.expires_at(until.when());
    auto [ec] = co_await timer_.async_wait(use_nothrow);
    if (!ec) {
        co_return wait_status::expired;
    }
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
        co_return wait_status::cancelled;
    }
    co_return wait_status::notified;
}

asio::awaitable<wait_status> wait_list::wait(deadline until) {
    wakeup self(co_await asio::this_coro::executor);
    waiters_.push_back(&self);
    auto status = co_await self.wait(until);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
    co_return status;
}

void wait_list::notify_all() {
    for (auto* w : waiters_) {
        w->notify();
    }
}

}  // namespace hoist::net
