// SPDX-License-Identifier: Apache-2.0
#include "engine/bounded.hpp"

#include "net/wakeup.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>

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

// lifetime: both pointers belong to for_each_bounded_checked's frame, which awaits every
// worker.
asio::awaitable<void> run_noting_failure(
    const std::function<asio::awaitable<net::result<void>>(std::size_t)>* work, std::size_t index,
    std::optional<net::failure>* first_failure) {
    auto done = co_await (*work)(index);
    if (!done && !*first_failure) {
        *first_failure = done.error();
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

asio::awaitable<net::result<void>> for_each_bounded_checked(
    std::size_t count, std::size_t width,
    std::function<asio::awaitable<net::result<void>>(std::size_t)> work) {
    std::optional<net::failure> first_failure;
    co_await for_each_bounded(count, width, [&work, &first_failure](std::size_t i) {
        return run_noting_failure(&work, i, &first_failure);
    });
    if (first_failure) {
        co_return *first_failure;
    }
    co_return net::result<void>{};
}

}  // namespace hoist::engine
