// SPDX-License-Identifier: Apache-2.0
#include "crypto/batch_signer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace hoist::crypto {
namespace {

namespace asio = boost::asio;

TEST(BatchSigner, EveryCallerGetsAVerifyingSignatureOfItsOwnMessage) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    batch_signer signer(*key);
    asio::io_context io;
    constexpr int callers = 600;
    std::vector<std::string> signatures(callers);
    std::vector<std::thread::id> resumed_on(callers);
    int failures = 0;
    for (int i = 0; i < callers; ++i) {
        asio::co_spawn(
            io,
            [&, i]() -> asio::awaitable<void> {
                auto [error, signature] = co_await signer.async_sign(
                    "message " + std::to_string(i), asio::as_tuple(asio::use_awaitable));
                if (error) {
                    ++failures;
                }
                signatures[i] = std::move(signature);
                resumed_on[i] = std::this_thread::get_id();
            },
            asio::detached);
    }
    io.run();  // returns only once every caller has resumed: pending signatures hold work
    EXPECT_EQ(failures, 0);
    for (int i = 0; i < callers; ++i) {
        EXPECT_TRUE(key->public_key().verify_der("message " + std::to_string(i), signatures[i]))
            << i;
        EXPECT_FALSE(
            key->public_key().verify_der("message " + std::to_string(i + 1), signatures[i]))
            << i;
        EXPECT_EQ(resumed_on[i], std::this_thread::get_id()) << "resumed off the io thread";
    }
    auto stats = signer.stats();
    EXPECT_EQ(stats.signatures, static_cast<std::size_t>(callers));
    // All requests are queued before the io thread yields, so the worker takes them in
    // batches rather than one by one.
    EXPECT_GT(stats.largest_batch, 1u);
    EXPECT_LT(stats.batches, stats.signatures);
}

TEST(BatchSigner, BatchesAreBoundedInSize) {
    auto key = ec_private_key::generate();
    ASSERT_TRUE(key);
    batch_signer signer(*key, 1, 8);
    asio::io_context io;
    int done = 0;
    for (int i = 0; i < 100; ++i) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto [error, signature] =
                    co_await signer.async_sign("m", asio::as_tuple(asio::use_awaitable));
                EXPECT_FALSE(error);
                EXPECT_TRUE(signer.public_key().verify_der("m", signature));
                ++done;
            },
            asio::detached);
    }
    io.run();
    EXPECT_EQ(done, 100);
    auto stats = signer.stats();
    EXPECT_LE(stats.largest_batch, 8u);
    EXPECT_GE(stats.batches, 100u / 8);
}

}  // namespace
}  // namespace hoist::crypto
