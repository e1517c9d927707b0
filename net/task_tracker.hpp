// SPDX-License-Identifier: Apache-2.0
/// Owns background coroutines (connection reader and writer loops) so that none is
/// detached: the owner can wait until every one of them has finished.
#pragma once

#include "net/asio.hpp"
#include "net/wakeup.hpp"

#include <cstddef>

namespace hoist::net {

class task_tracker {
public:
    explicit task_tracker(asio::any_io_executor executor) : executor_(std::move(executor)) {}
    ~task_tracker();
    task_tracker(const task_tracker&) = delete;
    task_tracker& operator=(const task_tracker&) = delete;

    /// Runs `task` on the tracker's executor. An exception escaping it is a bug and
    /// propagates out of io_context::run().
    void spawn(asio::awaitable<void> task);
    /// Waits until every spawned task has finished, or `until`.
    asio::awaitable<void> join(deadline until);
    std::size_t running() const { return running_; }

private:
    asio::any_io_executor executor_;
    std::size_t running_ = 0;
    wait_list idle_;
};

}  // namespace hoist::net
