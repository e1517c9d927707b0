// SPDX-License-Identifier: Apache-2.0
#include "net/registry/retry_policy.hpp"

#include <gtest/gtest.h>

#include <ctime>

namespace hoist::net::registry {
namespace {

using std::chrono::milliseconds;

std::string http_date(std::chrono::system_clock::time_point when) {
    std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return text;
}

TEST(RetryPolicy, RetryAfterInSeconds) {
    EXPECT_EQ(parse_retry_after("0"), milliseconds(0));
    EXPECT_EQ(parse_retry_after("7"), milliseconds(7000));
    EXPECT_EQ(parse_retry_after(" 2 "), milliseconds(2000));
    EXPECT_EQ(parse_retry_after("3600"), milliseconds(30'000));  // bounded
    EXPECT_EQ(parse_retry_after("\t5"), milliseconds(5000));
    EXPECT_EQ(parse_retry_after("9300000000000000"), milliseconds(30'000));         // no overflow
    EXPECT_EQ(parse_retry_after("99999999999999999999999"), milliseconds(30'000));  // > long
}

TEST(RetryPolicy, RetryAfterAsAnHttpDate) {
    auto in_ten =
        parse_retry_after(http_date(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    ASSERT_TRUE(in_ten.has_value());
    EXPECT_GE(*in_ten, milliseconds(8000));
    EXPECT_LE(*in_ten, milliseconds(10'000));
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), milliseconds(0));  // past
    EXPECT_EQ(
        parse_retry_after(http_date(std::chrono::system_clock::now() + std::chrono::hours(2))),
        milliseconds(30'000));
}

TEST(RetryPolicy, UnreadableRetryAfterIsIgnored) {
    for (const char* value : {"", "soon", "-1", "1.5", "Sun, 06 Nov 1994", "5 s"}) {
        EXPECT_FALSE(parse_retry_after(value).has_value()) << value;
    }
    // Ignored, the pause is the jittered one.
    auto delay = retry_delay(0, "soon");
    EXPECT_GE(delay, milliseconds(50));
    EXPECT_LE(delay, milliseconds(100));
}

TEST(RetryPolicy, JitteredExponentialPausesStayInTheirBounds) {
    for (int attempt = 0; attempt < 10; ++attempt) {
        auto ceiling = std::min<milliseconds>(milliseconds(100) * (1 << std::min(attempt, 6)),
                                              milliseconds(5000));
        for (int i = 0; i < 50; ++i) {
            auto delay = retry_delay(attempt, std::nullopt);
            EXPECT_GE(delay, ceiling / 2) << attempt;
            EXPECT_LE(delay, ceiling) << attempt;
        }
    }
    EXPECT_EQ(retry_delay(3, "4"), milliseconds(4000));
}

TEST(RetryPolicy, WhichStatusesAreAskedAgain) {
    EXPECT_TRUE(should_retry_status(429));
    EXPECT_TRUE(should_retry_status(500));
    EXPECT_TRUE(should_retry_status(503));
    EXPECT_FALSE(should_retry_status(404));
    EXPECT_FALSE(should_retry_status(401));
    EXPECT_FALSE(should_retry_status(200));
}

}  // namespace
}  // namespace hoist::net::registry
