// SPDX-License-Identifier: Apache-2.0
/// Runs an operation against a deadline: whichever finishes first wins, the loser is
/// cancelled. The one place where a timeout is applied around a whole operation.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <string>

namespace hoist::net {

/// `op` raced against `until`. Returns errc::timeout (with `what` as detail) when the
/// deadline passes first; the operation then sees terminal cancellation.
template <class T>
asio::awaitable<result<T>> with_deadline(asio::awaitable<result<T>> op, deadline until,
                                         std::string what) {
    if (!until.is_reachable()) {
        co_return co_await std::move(op);
    }
    if (until.expired()) {
        co_return fail(errc::timeout, std::move(what));
    }
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, until.when());
    auto [order, op_exception, op_result, timer_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(executor, std::move(op), asio::deferred),
            timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 0) {
        if (op_exception) {
            std::rethrow_exception(op_exception);  // a bug inside the operation
        }
        co_return std::move(op_result);
    }
    co_return fail(errc::timeout, std::move(what));
}

}  // namespace hoist::net
