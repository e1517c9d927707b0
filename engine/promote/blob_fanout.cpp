// SPDX-License-Identifier: Apache-2.0
#include "engine/promote/blob_fanout.hpp"

#include <algorithm>

namespace hoist::engine {

namespace reg = net::registry;

class blob_fanout::reader final : public reg::blob_source {
public:
    explicit reader(std::shared_ptr<blob_fanout> owner) : owner_(std::move(owner)) {
        owner_->readers_.insert(&state_);
    }
    ~reader() override { abandon(); }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;

    asio::awaitable<net::result<std::string>> next(net::deadline until) override {
        if (left_) {
            co_return net::fail(net::errc::cancelled, "blob " + owner_->digest_ + ": given up");
        }
        auto piece = co_await owner_->next_for(state_, until);
        if (!piece || piece->empty()) {
            abandon();  // done with the blob, or it failed: hold nobody back
        }
        co_return piece;
    }
    bool holds_request() const override { return !left_ && owner_->holds_request(); }
    void abandon() override {
        if (!left_) {
            left_ = true;
            owner_->leave(&state_);
        }
    }

private:
    std::shared_ptr<blob_fanout> owner_;
    reader_state state_;
    bool left_ = false;
};

blob_fanout::expectation::expectation(std::shared_ptr<blob_fanout> owner)
    : owner_(std::move(owner)) {
    // Too late to keep the first pieces for it: it will read on its own.
    if (owner_->open()) {
        counted_ = true;
        ++owner_->expected_;
    }
}

blob_fanout::expectation::~expectation() {
    withdraw();
}

void blob_fanout::expectation::withdraw() {
    if (counted_) {
        counted_ = false;
        --owner_->expected_;
        owner_->release_if_done();
        owner_->changed_.notify_all();
    }
}

std::unique_ptr<reg::blob_source> blob_fanout::expectation::join() {
    std::unique_ptr<reg::blob_source> joined;
    auto& owner = *owner_;
    if (owner.open() && !owner.reserved_ &&
        owner.memory_.used + owner.limits_.window <= owner.memory_.limit) {
        owner.memory_.used += owner.limits_.window;
        owner.reserved_ = true;
    }
    if (owner.open() && owner.reserved_) {
        joined = std::make_unique<reader>(owner_);
    }
    withdraw();
    return joined;
}

blob_fanout::blob_fanout(reg::registry_client& client, reg::repository_ref source,
                         std::string digest, std::int64_t size, fanout_limits limits,
                         memory_budget& memory, std::uint64_t* bytes_read)
    : digest_(digest),
      limits_(limits),
      memory_(memory),
      download_(std::make_unique<reg::deferred_blob_download>(
          client, std::move(source), std::move(digest), size, bytes_read)) {
    limits_.window = std::max<std::uint64_t>(limits_.window, 1);
}

blob_fanout::~blob_fanout() {
    give_back();
}

asio::awaitable<net::result<std::string>> blob_fanout::next_for(reader_state& state,
                                                                net::deadline until) {
    for (;;) {
        if (state.evicted) {
            co_return net::fail(net::errc::timeout, "blob " + digest_ +
                                                        ": this upload kept the others sharing its "
                                                        "download waiting too long");
        }
        if (error_) {
            co_return *error_;
        }
        if (state.position < first_piece_ + pieces_.size()) {
            // A copy: the others still need the piece.
            std::string piece = pieces_[state.position - first_piece_];
            ++state.position;
            changed_.notify_all();  // the reader fetching may have waited for this one
            co_return piece;
        }
        if (ended_) {
            co_return std::string();
        }
        bool keep_for_joiners = expected_ > 0 && !closed_;
        bool room = buffered_ < limits_.window ||
                    (!keep_for_joiners && trim() && buffered_ < limits_.window);
        if (!fetching_ && room) {
            if (auto fetched = co_await fetch(until); !fetched) {
                co_return fetched.error();
            }
            continue;
        }
        // Another reader is fetching (its download has a stall bound of its own), or the
        // window is full: kept for an upload on its way, or held by the slowest reader.
        enum class bound { caller, grace, stall } why = bound::caller;
        auto wait_until = until;
        if (!fetching_) {
            if (keep_for_joiners && !grace_end_) {
                grace_end_ = net::deadline::from_now(limits_.join_grace);
            }
            auto limit = keep_for_joiners ? *grace_end_ : net::deadline::from_now(limits_.stall);
            if (limit.when() < until.when()) {
                wait_until = limit;
                why = keep_for_joiners ? bound::grace : bound::stall;
            }
        }
        auto status = co_await changed_.wait(wait_until);
        if (status == net::wait_status::notified) {
            continue;
        }
        if (status == net::wait_status::expired && why == bound::grace) {
            closed_ = true;  // the late ones read on their own
            continue;
        }
        if (status == net::wait_status::expired && why == bound::stall) {
            evict_slowest();
            continue;
        }
        co_return net::fail(net::errc::timeout,
                            "blob " + digest_ + ": the uploads sharing its download stalled");
    }
}

asio::awaitable<net::result<void>> blob_fanout::fetch(net::deadline until) {
    fetching_ = true;
    auto piece = co_await download_->next(until);
    fetching_ = false;
    if (!piece) {
        error_ = piece.error();
        download_->abandon();
        give_back();  // every reader fails now: the pieces and the window go at once

    } else if (piece->empty()) {
        ended_ = true;
    } else {
        buffered_ += piece->size();
        pieces_.push_back(std::move(*piece));
    }
    changed_.notify_all();
    if (!piece) {
        co_return piece.error();
    }
    co_return net::result<void>{};
}

std::size_t blob_fanout::slowest_position() const {
    std::size_t slowest = first_piece_ + pieces_.size();
    for (const reader_state* state : readers_) {
        slowest = std::min(slowest, state->position);
    }
    return slowest;
}

bool blob_fanout::trim() {
    std::size_t slowest = slowest_position();
    bool trimmed = false;
    while (first_piece_ < slowest && !pieces_.empty()) {
        buffered_ -= pieces_.front().size();
        pieces_.pop_front();
        ++first_piece_;
        trimmed = true;
    }
    return trimmed;
}

void blob_fanout::evict_slowest() {
    std::size_t slowest = slowest_position();
    for (auto it = readers_.begin(); it != readers_.end();) {
        if ((*it)->position == slowest) {
            (*it)->evicted = true;
            it = readers_.erase(it);
        } else {
            ++it;
        }
    }
    changed_.notify_all();
}

void blob_fanout::leave(reader_state* state) {
    readers_.erase(state);
    release_if_done();
    changed_.notify_all();
}

void blob_fanout::release_if_done() {
    if (!readers_.empty() || expected_ != 0 || released_ || !reserved_) {
        return;
    }
    if (!ended_ && !error_) {
        // A download begun that nobody reads on: end it, its place in the budget is needed.
        download_->abandon();
        error_ = net::fail(net::errc::cancelled, "blob " + digest_ + ": every upload gave up");
    }
    give_back();
}

void blob_fanout::give_back() {
    pieces_.clear();
    buffered_ = 0;
    if (reserved_ && !released_) {
        memory_.used -= limits_.window;
    }
    released_ = true;
}

}  // namespace hoist::engine
