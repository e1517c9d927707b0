// SPDX-License-Identifier: Apache-2.0
// for_each_bounded_checked: a failing item neither stops the others nor gets lost.
#include "engine/bounded.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <vector>

namespace hoist::engine {
namespace {

struct observed {
    std::vector<bool> ran;
    std::size_t running = 0;
    std::size_t most_running = 0;
};

// Item `i` yields once (so several are in flight), then fails when `i` is in `failing`.
asio::awaitable<net::result<void>> item(observed* seen, std::vector<std::size_t> failing,
                                        std::size_t i) {
    seen->most_running = std::max(seen->most_running, ++seen->running);
    auto executor = co_await asio::this_coro::executor;
    co_await asio::post(executor, asio::use_awaitable);
    --seen->running;
    seen->ran[i] = true;
    if (std::find(failing.begin(), failing.end(), i) != failing.end()) {
        co_return net::fail(net::errc::bad_response, "item " + std::to_string(i));
    }
    co_return net::result<void>{};
}

net::result<void> run(observed& seen, std::size_t count, std::size_t width,
                      std::vector<std::size_t> failing) {
    seen.ran.assign(count, false);
    asio::io_context io;
    auto done = asio::co_spawn(
        io,
        for_each_bounded_checked(
            count, width, [&seen, failing](std::size_t i) { return item(&seen, failing, i); }),
        asio::use_future);
    io.run();
    return done.get();
}

TEST(ForEachBoundedChecked, EveryItemRunsAndTheFirstFailureIsReturned) {
    observed seen;
    auto result = run(seen, 6, 2, {2, 4});
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().detail, "item 2");
    EXPECT_EQ(seen.ran, std::vector<bool>(6, true));
    EXPECT_EQ(seen.most_running, 2u);
}

TEST(ForEachBoundedChecked, SucceedsWhenNothingFails) {
    observed seen;
    EXPECT_TRUE(run(seen, 3, 8, {}).has_value());
    EXPECT_EQ(seen.ran, std::vector<bool>(3, true));
    EXPECT_TRUE(run(seen, 0, 4, {}).has_value());
}

}  // namespace
}  // namespace hoist::engine
