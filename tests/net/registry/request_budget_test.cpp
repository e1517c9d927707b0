// SPDX-License-Identifier: Apache-2.0
// The request budget: in-flight limits per host and overall, the rate, the adaptive
// window that halves on 429 and grows back, and the accounting.
#include "net/registry/request_budget.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <optional>
#include <vector>

namespace hoist::net::registry {
namespace {

using namespace std::chrono_literals;

// Completion of the test coroutines: a failure inside one fails the test run.
void rethrow(std::exception_ptr error) {
    if (error) {
        std::rethrow_exception(error);
    }
}

struct holder {
    request_budget* budget;
    std::string host;
    std::vector<request_budget::permit>* held;
    int* granted;
    bool beside_held = false;
};

asio::awaitable<void> take(holder h) {
    auto permit = co_await h.budget->acquire(h.host, deadline::from_now(5s), h.beside_held);
    if (permit) {
        ++*h.granted;
        h.held->push_back(std::move(*permit));
    }
}

asio::awaitable<void> release_later(std::vector<request_budget::permit>* held, int count,
                                    int status) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(20ms);
    co_await timer.async_wait(use_nothrow);
    for (int i = 0; i < count && !held->empty(); ++i) {
        held->front().finish(status);
        held->erase(held->begin());
    }
}

TEST(RequestBudget, HostInflightBoundsConcurrentPermits) {
    asio::io_context io;
    budget_limits limits;
    limits.host_inflight = 3;
    limits.rate = 0;
    request_budget budget(limits);
    std::vector<request_budget::permit> held;
    int granted = 0;
    for (int i = 0; i < 5; ++i) {
        asio::co_spawn(io, take({&budget, "r.example", &held, &granted}), rethrow);
    }
    io.restart();
    io.run_for(50ms);
    EXPECT_EQ(granted, 3);
    asio::co_spawn(io, release_later(&held, 2, 200), rethrow);
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(granted, 5);
    // Another host has its own window.
    asio::co_spawn(io, take({&budget, "other.example", &held, &granted}), rethrow);
    io.restart();
    io.run_for(50ms);
    EXPECT_EQ(granted, 6);
    held.clear();
}

TEST(RequestBudget, TotalInflightBoundsAllHosts) {
    asio::io_context io;
    budget_limits limits;
    limits.inflight = 2;
    limits.host_inflight = 10;
    limits.rate = 0;
    request_budget budget(limits);
    std::vector<request_budget::permit> held;
    int granted = 0;
    for (const char* host : {"a", "b", "c"}) {
        asio::co_spawn(io, take({&budget, host, &held, &granted}), rethrow);
    }
    io.restart();
    io.run_for(50ms);
    EXPECT_EQ(granted, 2);
    asio::co_spawn(io, release_later(&held, 1, 200), rethrow);
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(granted, 3);
    held.clear();
}

TEST(RequestBudget, TheSecondHalfOfATransferIsGrantedBesideTheFirst) {
    // One place in all: a download holds it; the upload it feeds gets a place beside it,
    // where an ordinary request waits for the place to come free.
    asio::io_context io;
    budget_limits limits;
    limits.inflight = 1;
    limits.host_inflight = 1;
    limits.rate = 0;
    request_budget budget(limits);
    std::vector<request_budget::permit> held;
    int granted = 0;
    asio::co_spawn(io, take({&budget, "r", &held, &granted}), rethrow);
    io.restart();
    io.run_for(20ms);
    ASSERT_EQ(granted, 1);
    asio::co_spawn(io, take({&budget, "r", &held, &granted}), rethrow);
    io.restart();
    io.run_for(50ms);
    EXPECT_EQ(granted, 1);  // queued
    asio::co_spawn(io, take({&budget, "r", &held, &granted, true}), rethrow);
    io.restart();
    io.run_for(50ms);
    EXPECT_EQ(granted, 2);
    held.clear();  // both places come free: the queued request goes
    io.restart();
    io.run_for(50ms);
    EXPECT_EQ(granted, 3);
    held.clear();
}

TEST(RequestBudget, A429HalvesTheWindowOnceAndSuccessesGrowItBack) {
    asio::io_context io;
    budget_limits limits;
    limits.host_inflight = 16;
    limits.rate = 0;
    request_budget budget(limits);
    accounting sink;
    budget.set_accounting(&sink);
    std::vector<request_budget::permit> held;
    int granted = 0;
    for (int i = 0; i < 4; ++i) {
        asio::co_spawn(io, take({&budget, "r", &held, &granted}), rethrow);
    }
    io.restart();
    io.run_for(20ms);
    ASSERT_EQ(held.size(), 4u);
    // A burst of 429s answering requests sent together halves the window once.
    for (int i = 0; i < 3; ++i) {
        held[i].finish(429);
    }
    EXPECT_DOUBLE_EQ(budget.window("r"), 8.0);
    EXPECT_EQ(sink.host("r").window_halvings, 1u);
    held[3].finish(200);
    EXPECT_GT(budget.window("r"), 8.0);
    // Additive growth: about one request per window of successes, never above the limit.
    for (int i = 0; i < 1000; ++i) {
        asio::co_spawn(io, take({&budget, "r", &held, &granted}), rethrow);
        io.restart();
        io.run_for(1ms);
        held.back().finish(200);
    }
    EXPECT_DOUBLE_EQ(budget.window("r"), 16.0);
    held.clear();
}

TEST(RequestBudget, RateSpacesRequestsAfterTheBurst) {
    asio::io_context io;
    budget_limits limits;
    limits.rate = 100;  // one every 10 ms
    limits.burst = 2;
    request_budget budget(limits);
    std::vector<request_budget::permit> held;
    int granted = 0;
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 12; ++i) {
        asio::co_spawn(io, take({&budget, "r", &held, &granted}), rethrow);
    }
    io.restart();
    io.run();
    auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(granted, 12);
    // 2 at once, then 10 at 10 ms intervals: about 100 ms.
    EXPECT_GE(elapsed, 80ms);
    EXPECT_LT(elapsed, 2s);
    held.clear();
}

TEST(RequestBudget, AccountingCountsByMethodAndStatus) {
    request_budget budget;
    accounting sink;
    budget.set_accounting(&sink);
    budget.record("r", "GET", 200, 0, 100, 0);
    budget.record("r", "GET", 200, 0, 50, 0);
    budget.record("r", "PUT", 429, 10, 0, 0);
    budget.record("r", "PUT", 201, 10, 0, 1);
    budget.record("s", "HEAD", 0, 0, 0, 2);
    budget.record_bytes("r", 0, 1000);
    const auto& r = sink.host("r");
    EXPECT_EQ(r.requests.at("GET").at(200), 2u);
    EXPECT_EQ(r.requests.at("PUT").at(429), 1u);
    EXPECT_EQ(r.rate_limited, 1u);
    EXPECT_EQ(r.retries, 1u);
    EXPECT_EQ(r.bytes_received, 1150u);
    EXPECT_EQ(r.bytes_sent, 20u);
    auto total = sink.total();
    EXPECT_EQ(total.total_requests(), 5u);
    EXPECT_EQ(total.retries, 2u);
    budget.set_accounting(nullptr);
    budget.record("r", "GET", 200, 0, 0, 0);  // not counted anywhere
    EXPECT_EQ(sink.total().total_requests(), 5u);
}

}  // namespace
}  // namespace hoist::net::registry
