// SPDX-License-Identifier: Apache-2.0
/// A point in time by which an operation must finish. Deadlines compose: a request made
/// on behalf of a phase gets min(own timeout, what is left of the phase).
#pragma once

#include <algorithm>
#include <chrono>

namespace hoist::net {

class deadline {
public:
    using clock = std::chrono::steady_clock;

    /// A deadline that never passes.
    constexpr deadline() = default;

    static deadline at(clock::time_point when) { return deadline(when); }
    static deadline from_now(clock::duration d) {
        auto now = clock::now();
        // Saturate instead of overflowing for "practically forever" durations.
        if (d >= clock::time_point::max() - now) {
            return deadline();
        }
        return deadline(now + d);
    }
    static deadline earliest(deadline a, deadline b) {
        return deadline(std::min(a.when_, b.when_));
    }

    bool is_reachable() const { return when_ != clock::time_point::max(); }
    bool expired() const { return is_reachable() && clock::now() >= when_; }
    clock::duration remaining() const {
        if (!is_reachable()) {
            return clock::duration::max();
        }
        return std::max(clock::duration::zero(), when_ - clock::now());
    }
    clock::time_point when() const { return when_; }

    /// The earlier of this deadline and `timeout` from now: the per-attempt deadline.
    deadline within(clock::duration timeout) const { return earliest(*this, from_now(timeout)); }

private:
    explicit constexpr deadline(clock::time_point when) : when_(when) {}
    clock::time_point when_ = clock::time_point::max();
};

}  // namespace hoist::net
