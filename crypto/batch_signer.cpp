// SPDX-License-Identifier: Apache-2.0
#include "crypto/batch_signer.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace hoist::crypto {

batch_signer::batch_signer(ec_private_key key, std::size_t threads, std::size_t max_batch)
    : key_(std::move(key)),
      public_key_(key_.public_key()),
      max_batch_(std::max<std::size_t>(1, max_batch)),
      pool_(std::max<std::size_t>(1, threads)) {}

batch_signer::~batch_signer() {
    pool_.join();
}

batch_signer_stats batch_signer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void batch_signer::enqueue(std::string message, boost::asio::any_io_executor executor,
                           boost::asio::any_completion_handler<completion_signature> handler) {
    bool start = false;
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(
            request{std::move(message),
                    boost::asio::prefer(executor, boost::asio::execution::outstanding_work.tracked),
                    std::move(handler)});
        if (!draining_) {
            draining_ = true;
            start = true;
        }
    }
    if (start) {
        boost::asio::post(pool_, [this] { drain(); });
    }
}

void batch_signer::drain() {
    for (;;) {
        std::vector<request> batch;
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty()) {
                draining_ = false;
                return;
            }
            std::size_t take = std::min(queue_.size(), max_batch_);
            batch.reserve(take);
            for (std::size_t i = 0; i < take; ++i) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            ++stats_.batches;
            stats_.signatures += batch.size();
            stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
        }
        for (auto& item : batch) {
            auto signature = key_.sign_der(item.message);
            boost::system::error_code error;
            std::string bytes;
            if (signature) {
                bytes = std::move(*signature);
            } else {
                error = signature.error();
            }
            auto executor = item.work;
            boost::asio::post(executor,
                              [handler = std::move(item.handler), error, bytes = std::move(bytes),
                               work = std::move(item.work)]() mutable {
                                  std::move(handler)(error, std::move(bytes));
                              });
        }
    }
}

}  // namespace hoist::crypto
