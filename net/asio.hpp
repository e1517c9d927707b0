// SPDX-License-Identifier: Apache-2.0
/// The Asio vocabulary of hoist: one namespace alias and the completion token that turns
/// Asio errors into values. Every coroutine in net/ and engine/ awaits with `use_nothrow`.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hoist {
namespace asio = boost::asio;
}  // namespace hoist

namespace hoist::net {

/// Await an Asio operation and receive `(error_code, values...)` instead of an exception.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace hoist::net
