// SPDX-License-Identifier: Apache-2.0
#include "engine/promote/blob_fanout.hpp"

#include <algorithm>

namespace hoist::engine {

namespace reg = net::registry;

class blob_fanout::reader final : public reg::blob_source {
public:
    explicit reader(std::shared_ptr<blob_fanout> owner) : owner_(std::move(owner)) {
        owner_->readers_.insert(&position_);
    }
    ~reader() override { abandon(); }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;

    asio::awaitable<net::result<std::string>> next(net::deadline until) override {
        if (left_) {
            co_return net::fail(net::errc::cancelled, "blob " + owner_->digest_ + ": given up");
        }
        auto piece = co_await owner_->next_for(position_, until);
        if (!piece || piece->empty()) {
            abandon();  // done with the blob, or it failed: hold nobody back
        }
        co_return piece;
    }
    bool holds_request() const override { return !left_ && owner_->holds_request(); }
    void abandon() override {
        if (!left_) {
            left_ = true;
            owner_->leave(&position_);
        }
    }

private:
    std::shared_ptr<blob_fanout> owner_;
    std::size_t position_ = 0;  ///< the index of the next piece to hand out
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
        owner_->give_up_if_unread();
        owner_->changed_.notify_all();
    }
}

std::unique_ptr<reg::blob_source> blob_fanout::expectation::join() {
    std::unique_ptr<reg::blob_source> joined;
    if (owner_->open()) {
        joined = std::make_unique<reader>(owner_);
    }
    withdraw();
    return joined;
}

blob_fanout::blob_fanout(reg::registry_client& client, reg::repository_ref source,
                         std::string digest, std::int64_t size, std::uint64_t window,
                         std::chrono::milliseconds join_grace, std::uint64_t* bytes_read)
    : digest_(digest),
      window_(std::max<std::uint64_t>(window, 1)),
      join_grace_(join_grace),
      download_(std::make_unique<reg::deferred_blob_download>(
          client, std::move(source), std::move(digest), size, bytes_read)) {}

asio::awaitable<net::result<std::string>> blob_fanout::next_for(std::size_t& position,
                                                                net::deadline until) {
    for (;;) {
        if (position < first_piece_ + pieces_.size()) {
            // A copy: the others still need the piece.
            std::string piece = pieces_[position - first_piece_];
            ++position;
            changed_.notify_all();  // the reader fetching may have waited for this one
            co_return piece;
        }
        if (error_) {
            co_return *error_;
        }
        if (ended_) {
            co_return std::string();
        }
        bool keep_for_joiners = expected_ > 0 && !closed_;
        if (!fetching_ && (buffered_ < window_ || (!keep_for_joiners && trim()))) {
            if (auto fetched = co_await fetch(until); !fetched) {
                co_return fetched.error();
            }
            continue;
        }
        // Another reader is fetching, the slowest has not taken the oldest piece yet, or an
        // upload still on its way may want the first pieces.
        auto wait_until = until;
        if (!fetching_ && keep_for_joiners) {
            if (!grace_end_) {
                grace_end_ = net::deadline::from_now(join_grace_);
            }
            if (grace_end_->when() < until.when()) {
                wait_until = *grace_end_;
            }
        }
        auto status = co_await changed_.wait(wait_until);
        if (status == net::wait_status::notified) {
            continue;
        }
        if (grace_end_ && grace_end_->expired()) {
            closed_ = true;  // the late ones read on their own
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

bool blob_fanout::trim() {
    std::size_t slowest = first_piece_ + pieces_.size();
    for (const std::size_t* position : readers_) {
        slowest = std::min(slowest, *position);
    }
    bool trimmed = false;
    while (first_piece_ < slowest && !pieces_.empty()) {
        buffered_ -= pieces_.front().size();
        pieces_.pop_front();
        ++first_piece_;
        trimmed = true;
    }
    return trimmed;
}

void blob_fanout::leave(std::size_t* position) {
    readers_.erase(position);
    give_up_if_unread();
    changed_.notify_all();
}

void blob_fanout::give_up_if_unread() {
    if (readers_.empty() && expected_ == 0 && first_piece_ + pieces_.size() > 0 && !ended_ &&
        !error_) {
        // Nobody reads on: end the download, whose place in the budget others need.
        download_->abandon();
        error_ = net::fail(net::errc::cancelled, "blob " + digest_ + ": every upload gave up");
    }
}

}  // namespace hoist::engine
