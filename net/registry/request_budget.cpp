// SPDX-License-Identifier: Apache-2.0
#include "net/registry/request_budget.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace hoist::net::registry {

using clock = std::chrono::steady_clock;

std::size_t host_accounting::total_requests() const {
    std::size_t n = 0;
    for (const auto& [method, statuses] : requests) {
        for (const auto& [status, count] : statuses) {
            n += count;
        }
    }
    return n;
}

host_accounting accounting::total() const {
    host_accounting sum;
    for (const auto& [name, host] : hosts) {
        for (const auto& [method, statuses] : host.requests) {
            for (const auto& [status, count] : statuses) {
                sum.requests[method][status] += count;
            }
        }
        sum.bytes_sent += host.bytes_sent;
        sum.bytes_received += host.bytes_received;
        sum.retries += host.retries;
        sum.rate_limited += host.rate_limited;
        sum.budget_wait += host.budget_wait;
        sum.window_halvings += host.window_halvings;
    }
    return sum;
}

struct request_budget::host_state {
    std::size_t inflight = 0;
    double window = 0;               ///< requests in flight allowed now (adaptive)
    clock::time_point next_token{};  ///< GCRA: when the next request may start
    clock::time_point last_halving{};
    wait_list waiters;
};

request_budget::request_budget(budget_limits limits) : limits_(limits) {}
request_budget::~request_budget() = default;

void request_budget::set_limits(budget_limits limits) {
    limits_ = limits;
    for (auto& [name, host] : hosts_) {
        host->window = static_cast<double>(limits_.host_inflight);
        host->next_token = {};
        host->waiters.notify_all();
    }
    total_waiters_.notify_all();
}

request_budget::host_state& request_budget::state_for(const std::string& host) {
    auto& state = hosts_[host];
    if (!state) {
        state = std::make_unique<host_state>();
        state->window = static_cast<double>(limits_.host_inflight);
    }
    return *state;
}

double request_budget::window(const std::string& host) const {
    auto found = hosts_.find(host);
    return found == hosts_.end() ? static_cast<double>(limits_.host_inflight)
                                 : found->second->window;
}

asio::awaitable<result<request_budget::permit>> request_budget::acquire(const std::string& host,
                                                                        deadline until,
                                                                        bool beside_held) {
    auto started = clock::now();
    host_state& state = state_for(host);
    while (!beside_held &&
           (state.inflight >= static_cast<std::size_t>(std::max(1.0, state.window)) ||
            inflight_ >= std::max<std::size_t>(limits_.inflight, 1))) {
        bool host_full = state.inflight >= static_cast<std::size_t>(std::max(1.0, state.window));
        wait_list& waiters = host_full ? state.waiters : total_waiters_;
        auto status = co_await waiters.wait(until);
        if (status != wait_status::notified) {
            co_return fail(errc::timeout, "waiting for the request budget of " + host);
        }
    }
    ++state.inflight;
    ++inflight_;
    permit granted;
    granted.budget_ = this;
    granted.host_ = host;

    if (limits_.rate > 0) {
        // The rate follows the adaptive window: a host that said 429 gets fewer per second.
        double share = state.window / std::max<double>(1.0, double(limits_.host_inflight));
        auto interval = std::chrono::duration_cast<clock::duration>(
            std::chrono::duration<double>(1.0 / (limits_.rate * std::max(share, 0.01))));
        auto now = clock::now();
        auto earliest = now - std::chrono::duration_cast<clock::duration>(interval * limits_.burst);
        auto start = std::max(state.next_token, earliest);
        state.next_token = start + interval;
        if (start > now) {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_at(std::min(start, until.when()));
            co_await timer.async_wait(use_nothrow);
        }
    }
    if (sink_ != nullptr) {
        sink_->host(host).budget_wait += clock::now() - started;
    }
    co_return granted;
}

void request_budget::release(const std::string& host, int status) {
    host_state& state = state_for(host);
    --state.inflight;
    --inflight_;
    double limit = static_cast<double>(std::max<std::size_t>(limits_.host_inflight, 1));
    if (status == 429) {
        auto now = clock::now();
        // One halving per burst of 429s: they answer requests sent before the first one.
        if (now - state.last_halving > std::chrono::milliseconds(500)) {
            state.window = std::max(1.0, state.window / 2);
            state.last_halving = now;
            if (sink_ != nullptr) {
                ++sink_->host(host).window_halvings;
            }
        }
    } else if (status > 0 && status < 500) {
        state.window = std::min(limit, state.window + 1.0 / std::max(1.0, state.window));
    }
    state.waiters.notify_all();
    total_waiters_.notify_all();
}

void request_budget::record(const std::string& host, const std::string& method, int status,
                            std::uint64_t sent, std::uint64_t received, int attempt) {
    if (sink_ == nullptr) {
        return;
    }
    auto& entry = sink_->host(host);
    ++entry.requests[method][status];
    entry.bytes_sent += sent;
    entry.bytes_received += received;
    if (attempt > 0) {
        ++entry.retries;
    }
    if (status == 429) {
        ++entry.rate_limited;
    }
}

void request_budget::record_bytes(const std::string& host, std::uint64_t sent,
                                  std::uint64_t received) {
    if (sink_ == nullptr) {
        return;
    }
    auto& entry = sink_->host(host);
    entry.bytes_sent += sent;
    entry.bytes_received += received;
}

request_budget::permit::permit(permit&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), host_(std::move(other.host_)) {}

request_budget::permit& request_budget::permit::operator=(permit&& other) noexcept {
    if (this != &other) {
        finish(0);
        budget_ = std::exchange(other.budget_, nullptr);
        host_ = std::move(other.host_);
    }
    return *this;
}

request_budget::permit::~permit() {
    finish(0);
}

void request_budget::permit::finish(int status) {
    if (budget_ != nullptr) {
        std::exchange(budget_, nullptr)->release(host_, status);
    }
}

}  // namespace hoist::net::registry
