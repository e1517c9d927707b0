// SPDX-License-Identifier: Apache-2.0
#include "engine/bounded.hpp"

#include "net/wakeup.hpp"

#include <algorithm>
#include <exception>
#include <memory>

namespace hoist::engine {

namespace {

struct shared_state {
    std::size_t next = 0;
    std::size_t count = 0;
    std::size_t running = 0;
    std::exception_ptr error;
    net::wait_list finished;
    std::function<asio::awaitable<void>(std::size_t)> work;
};

asio::awaitable<void> worker(std::shared_ptr<shared_state> state) {
    while (state->next < state->count && !state->error) {
        std::size_t index = state->next++;
        co_await state->work(index);
    }
}

}  // namespace

asio::awaitable<void> for_each_bounded(std::size_t count, std::size_t width,
                                       std::function<asio::awaitable<void>(std::size_t)> work) {
    auto state = std::make_shared<shared_state>();
    state->count = count;
    state->work = std::move(work);
    auto executor = co_await asio::this_coro::executor;
    std::size_t workers = std::min(count, std::max<std::size_t>(width, 1));
    for (std::size_t i = 0; i < workers; ++i) {
        ++state->running;
        asio::co_spawn(executor, worker(state), [state](std::exception_ptr error) {
            if (error && !state->error) {
                state->error = error;
            }
            --state->running;
            state->finished.notify_all();
        });
    }
    while (state->running > 0) {
        co_await state->finished.wait(net::deadline());
    }
    if (state->error) {
        std::rethrow_exception(state->error);
    }
}

}  // namespace hoist::engine
