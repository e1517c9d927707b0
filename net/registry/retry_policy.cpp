// SPDX-License-Identifier: Apache-2.0
#include "net/registry/retry_policy.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <random>
#include <string>

namespace hoist::net::registry {

namespace {

constexpr auto max_backoff = std::chrono::milliseconds(5'000);
constexpr auto max_retry_after = std::chrono::milliseconds(30'000);

}  // namespace

bool should_retry_status(int status) {
    return status == 429 || status >= 500;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    long seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (end == value.data() + value.size() && !value.empty() && value.front() != '-') {
        if (ec == std::errc::result_out_of_range ||
            (ec == std::errc() && seconds >= max_retry_after.count() / 1000)) {
            return max_retry_after;  // compared before converting: no overflow
        }
        if (ec == std::errc()) {
            return std::chrono::seconds(seconds);
        }
    }
    // IMF-fixdate, the one form senders must use: "Sun, 06 Nov 1994 08:49:37 GMT".
    std::tm when{};
    std::string text(value);
    const char* rest = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &when);
    if (rest == nullptr || *rest != '\0') {
        return std::nullopt;
    }
    auto wait =
        std::chrono::system_clock::from_time_t(::timegm(&when)) - std::chrono::system_clock::now();
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
    return std::clamp<std::chrono::milliseconds>(delay, std::chrono::milliseconds(0),
                                                 max_retry_after);
}

std::chrono::milliseconds retry_delay(int attempt, std::optional<std::string_view> retry_after) {
    if (retry_after) {
        if (auto asked = parse_retry_after(*retry_after)) {
            return *asked;
        }
    }
    thread_local std::minstd_rand random{std::random_device{}()};
    auto ceiling = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(100) * (1 << std::clamp(attempt, 0, 6)), max_backoff);
    std::uniform_int_distribution<long> pick(ceiling.count() / 2, ceiling.count());
    return std::chrono::milliseconds(pick(random));
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds delay, deadline until) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(deadline::earliest(until, deadline::from_now(delay)).when());
    co_await timer.async_wait(use_nothrow);
}

}  // namespace hoist::net::registry
