// SPDX-License-Identifier: Apache-2.0
/// Bounded fan-out: a fixed number of worker coroutines drain a range of work items, so
/// a thousand items never mean a thousand coroutines in flight.
#pragma once

#include "net/asio.hpp"
#include "net/error.hpp"

#include <cstddef>
#include <functional>

namespace hoist::engine {

/// Runs `work(i)` for every i in [0, count) with at most `width` running at once, and
/// returns when all have finished. `work` reports its own failures (it returns nothing);
/// an exception escaping it is a bug and is rethrown here after the others finish.
asio::awaitable<void> for_each_bounded(std::size_t count, std::size_t width,
                                       std::function<asio::awaitable<void>(std::size_t)> work);

/// The same for work that can fail: every item still runs (one failure says nothing of
/// the others, and what they do is idempotent), and the first failure is returned.
asio::awaitable<net::result<void>> for_each_bounded_checked(
    std::size_t count, std::size_t width,
    std::function<asio::awaitable<net::result<void>>(std::size_t)> work);

}  // namespace hoist::engine
