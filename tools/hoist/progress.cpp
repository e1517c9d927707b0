// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/progress.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace hoist::tools {

progress_display::progress_display(asio::any_io_executor executor, const net::http_client* http,
                                   const net::registry::request_budget* budget,
                                   const engine::promote_progress* promote,
                                   const engine::work_progress* work, bool terminal,
                                   std::chrono::milliseconds line_interval)
    : wake_(std::move(executor)),
      http_(http),
      budget_(budget),
      promote_(promote),
      work_(work),
      terminal_(terminal),
      line_interval_(line_interval) {}

namespace {

std::string bar_of(std::size_t done, std::size_t total) {
    constexpr std::size_t width = 24;
    std::size_t filled = total == 0 ? 0 : std::min(width, width * done / total);
    return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
}

}  // namespace

void progress_display::set_phase(std::string name) {
    clear_line();
    phase_ = std::move(name);
    phase_started_ = std::chrono::steady_clock::now();
    requests_at_phase_start_ = http_->stats().requests;
}

asio::awaitable<void> progress_display::run() {
    // A terminal's bar is cheap to redraw: at least 4 times a second, more often if asked.
    auto interval =
        terminal_ ? std::min(std::chrono::milliseconds(250), line_interval_) : line_interval_;
    while (!stopped_) {
        co_await wake_.wait(net::deadline::from_now(interval));
        if (stopped_) {
            break;
        }
        draw();
    }
    clear_line();
}

void progress_display::stop() {
    stopped_ = true;
    wake_.notify();
}

void progress_display::clear_line() {
    if (terminal_ && drawn_) {
        std::cout << "\r\033[K" << std::flush;
        drawn_ = false;
    }
}

void progress_display::draw() {
    if (phase_.empty()) {
        return;
    }
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - phase_started_;
    auto requests = http_->stats().requests - requests_at_phase_start_;
    double per_second = elapsed.count() > 0 ? double(requests) / elapsed.count() : 0;
    std::size_t retries = 0;
    std::size_t rate_limited = 0;
    if (const auto* sink = budget_->accounting_sink()) {
        auto total = sink->total();
        retries = total.retries;
        rate_limited = total.rate_limited;
    }
    char line[256];
    std::string bar;
    if (phase_ == "promote" && promote_->edges_total != 0) {
        bar = bar_of(promote_->edges_done, promote_->edges_total);
        std::snprintf(
            line, sizeof line, "%zu/%zu edges%s, %.1f MiB, %.0f req/s, %zu 429s, %zu retries",
            promote_->edges_done, promote_->edges_total,
            promote_->edges_failed != 0 ? " (some failed)" : "",
            double(promote_->bytes_uploaded) / (1 << 20), per_second, rate_limited, retries);
    } else if (work_->total != 0) {
        bar = bar_of(work_->done, work_->total);
        std::snprintf(line, sizeof line,
                      "%zu/%zu %s, %zu requests, %.0f req/s, %zu 429s, %zu retries", work_->done,
                      work_->total, work_->unit.c_str(), requests, per_second, rate_limited,
                      retries);
    } else {
        std::snprintf(line, sizeof line, "%zu requests, %.0f req/s, %zu 429s, %zu retries",
                      requests, per_second, rate_limited, retries);
    }
    std::string text = "[" + phase_ + "] " + bar + line;
    if (terminal_) {
        std::cout << "\r\033[K" << text << std::flush;
        drawn_ = true;
    } else {
        std::cout << text << '\n' << std::flush;
    }
}

}  // namespace hoist::tools
