// SPDX-License-Identifier: Apache-2.0
#include "net/deadline.hpp"

#include <gtest/gtest.h>

namespace hoist::net {
namespace {

using namespace std::chrono_literals;

TEST(Deadline, DefaultNeverExpires) {
    deadline d;
    EXPECT_FALSE(d.is_reachable());
    EXPECT_FALSE(d.expired());
    EXPECT_EQ(d.remaining(), deadline::clock::duration::max());
}

TEST(Deadline, EarliestWins) {
    auto soon = deadline::from_now(1s);
    auto later = deadline::from_now(1h);
    EXPECT_EQ(deadline::earliest(soon, later).when(), soon.when());
    EXPECT_EQ(deadline::earliest(deadline(), later).when(), later.when());
    EXPECT_EQ(later.within(1s).when() <= soon.when() + 100ms, true);
}

TEST(Deadline, PastDeadlineIsExpiredWithNothingRemaining) {
    auto past = deadline::at(deadline::clock::now() - 1s);
    EXPECT_TRUE(past.expired());
    EXPECT_EQ(past.remaining(), deadline::clock::duration::zero());
}

TEST(Deadline, HugeDurationsSaturate) {
    auto d = deadline::from_now(deadline::clock::duration::max());
    EXPECT_FALSE(d.is_reachable());
}

}  // namespace
}  // namespace hoist::net
