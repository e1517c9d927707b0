// SPDX-License-Identifier: Apache-2.0
/// Live progress of a promotion: on a terminal a bar redrawn a few times a second (the
/// running phase's work done/total — Promote's edges, with bytes; the images Provenance
/// and Validate checked; the digests Sign and Attest finished — requests/s, 429s,
/// retries); otherwise a log line every few seconds.
#pragma once

#include "engine/pipeline/pipeline.hpp"
#include "engine/promote/promote.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/registry/request_budget.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <string>

namespace hoist::tools {

class progress_display {
public:
    // lifetime: every pointer outlives the display (all belong to the command's frame).
    progress_display(asio::any_io_executor executor, const net::http_client* http,
                     const net::registry::request_budget* budget,
                     const engine::promote_progress* promote, const engine::work_progress* work,
                     bool terminal, std::chrono::milliseconds line_interval);

    /// The phase now running ("" between phases).
    void set_phase(std::string name);
    /// Draws until `stop` is called; run it on a task_tracker.
    asio::awaitable<void> run();
    void stop();

private:
    void draw();
    void clear_line();

    net::wakeup wake_;
    const net::http_client* http_;
    const net::registry::request_budget* budget_;
    const engine::promote_progress* promote_;
    const engine::work_progress* work_;
    bool terminal_;
    /// Between lines when not on a terminal; between redraws on one, when under 250 ms.
    std::chrono::milliseconds line_interval_;
    bool stopped_ = false;
    bool drawn_ = false;
    std::string phase_;
    std::chrono::steady_clock::time_point phase_started_;
    std::size_t requests_at_phase_start_ = 0;
};

}  // namespace hoist::tools
