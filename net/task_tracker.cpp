// SPDX-License-Identifier: Apache-2.0
#include "net/task_tracker.hpp"

#include <exception>

namespace hoist::net {

// Tasks still running here are only legal while their io_context is being torn down:
// their frames are destroyed with it and never touch the tracker again.
task_tracker::~task_tracker() = default;

void task_tracker::spawn(asio::awaitable<void> task) {
    ++running_;
    asio::co_spawn(executor_, std::move(task), [this](std::exception_ptr error) {
        --running_;
        idle_.notify_all();
        if (error) {
            std::rethrow_exception(error);
        }
    });
}

asio::awaitable<void> task_tracker::join(deadline until) {
    while (running_ != 0) {
        auto status = co_await idle_.wait(until);
        if (status != wait_status::notified) {
            co_return;
        }
    }
}

}  // namespace hoist::net
