// SPDX-License-Identifier: Apache-2.0
/// Signatures for many coroutines at once: requests queue up while a worker thread signs,
/// the worker takes everything queued in one batch, and each caller resumes on its own
/// executor. The I/O threads never spend time in ECDSA, and thousands of requests cost
/// one cross-thread hand-off per batch instead of one per signature.
#pragma once

#include "crypto/ec_key.hpp"
#include "crypto/error.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace hoist::crypto {

struct batch_signer_stats {
    std::size_t signatures = 0;
    std::size_t batches = 0;
    std::size_t largest_batch = 0;
};

class batch_signer {
public:
    using completion_signature = void(boost::system::error_code, std::string);

    /// `threads` workers (ECDSA P-256 signs in tens of microseconds, so one is usually
    /// enough); at most `max_batch` signatures per batch so one batch never starves others.
    explicit batch_signer(ec_private_key key, std::size_t threads = 1, std::size_t max_batch = 512);
    /// Waits for the workers; every queued request is completed first.
    ~batch_signer();
    batch_signer(const batch_signer&) = delete;
    batch_signer& operator=(const batch_signer&) = delete;

    /// DER ECDSA signature over SHA-256(`message`). Completes on the executor associated
    /// with the token (for `use_awaitable`: the awaiting coroutine's).
    template <class Token>
    auto async_sign(std::string message, Token&& token) {
        return boost::asio::async_initiate<Token, completion_signature>(
            [this](auto handler, std::string text) {
                auto executor = boost::asio::get_associated_executor(handler);
                enqueue(
                    std::move(text), boost::asio::any_io_executor(executor),
                    boost::asio::any_completion_handler<completion_signature>(std::move(handler)));
            },
            token, std::move(message));
    }

    const ec_public_key& public_key() const { return public_key_; }
    batch_signer_stats stats() const;

private:
    struct request {
        // Move-only, explicitly: any_completion_handler's converting constructor would
        // otherwise make a copy look possible, and a growing vector would wrap handlers
        // inside themselves.
        request(std::string text, boost::asio::any_io_executor executor,
                boost::asio::any_completion_handler<completion_signature> completion)
            : message(std::move(text)), work(std::move(executor)), handler(std::move(completion)) {}
        request(request&&) noexcept = default;
        // No assignment: Boost 1.81's any_completion_handler would wrap itself there too.
        request& operator=(request&&) = delete;
        request(const request&) = delete;
        request& operator=(const request&) = delete;

        std::string message;
        /// The caller's executor, tracking outstanding work so its event loop waits for us.
        boost::asio::any_io_executor work;
        boost::asio::any_completion_handler<completion_signature> handler;
    };
    void enqueue(std::string message, boost::asio::any_io_executor executor,
                 boost::asio::any_completion_handler<completion_signature> handler);
    void drain();

    ec_private_key key_;
    ec_public_key public_key_;
    std::size_t max_batch_;
    mutable std::mutex mutex_;
    std::deque<request> queue_;
    bool draining_ = false;
    batch_signer_stats stats_;
    boost::asio::thread_pool pool_;
};

}  // namespace hoist::crypto
