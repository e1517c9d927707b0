// SPDX-License-Identifier: Apache-2.0
/// When a registry request is tried again, and after how long: shared by the session's
/// request loop, the blob download (which streams, so retries outside that loop) and the
/// engine's retry of a whole edge.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"

#include <chrono>
#include <optional>
#include <string_view>

namespace hoist::net::registry {

/// 429 and 5xx: answers that may change when asked again.
bool should_retry_status(int status);

/// What a Retry-After header asks for, in seconds or as an HTTP date (RFC 9110 §10.2.3),
/// at most 30 s; nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

/// The pause before retry `attempt` (0-based): what Retry-After asked for, else a random
/// delay between half and all of 100 ms × 2^attempt, at most 5 s.
std::chrono::milliseconds retry_delay(int attempt, std::optional<std::string_view> retry_after);

/// Waits `delay`, or until `until` when that comes first.
asio::awaitable<void> sleep_for(std::chrono::milliseconds delay, deadline until);

}  // namespace hoist::net::registry
