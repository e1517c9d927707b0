// SPDX-License-Identifier: Apache-2.0
// One download shared by several readers (engine/promote/blob_fanout), against a real
// registry: the window bounds what is kept, the slowest reader is let go once it has kept
// the others waiting too long, uploads on their way are waited for within the grace, and
// the window's memory is given back at the end.
#include "engine/promote/blob_fanout.hpp"
#include "crypto/sha256.hpp"
#include "engine/bounded.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <random>

namespace hoist {
namespace {

namespace reg = net::registry;
using engine::blob_fanout;
using testsupport::client_setup;
using testsupport::run_client;

net::deadline soon() {
    return net::deadline::from_now(std::chrono::seconds(60));
}

constexpr std::int64_t blob_size = 6 << 20;
constexpr std::uint64_t window = 1 << 20;
// blob_reader hands out pieces of at most this many bytes.
constexpr std::uint64_t largest_piece = 256 << 10;

std::string random_bytes(std::uint64_t seed, std::size_t size) {
    std::mt19937_64 random(seed);
    std::string bytes(size, '\0');
    for (auto& byte : bytes) {
        byte = static_cast<char>(random());
    }
    return bytes;
}

class BlobFanout : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        registry = new testkit::registry_instance(testsupport::start_registry());
        blob = new std::string(random_bytes(5, blob_size));
        digest = new std::string(crypto::digest_of(*blob));
        auto pushed =
            run_client<bool>(setup(), [](reg::registry_client& c) -> asio::awaitable<bool> {
                reg::memory_blob_source source(*blob);
                auto put = co_await c.push_blob(repo(), *digest, blob_size, source, soon());
                co_return put.has_value();
            });
        ASSERT_TRUE(pushed);
    }
    static void TearDownTestSuite() {
        delete registry;
        delete blob;
        delete digest;
    }
    static client_setup setup() {
        client_setup s;
        s.ca_files = {registry->ca_file().string()};
        return s;
    }
    static reg::repository_ref repo() { return {registry->host_port(), "fanout/blob"}; }

    /// A fan-out of the test blob and two readers joined to it from the start.
    struct two_readers {
        two_readers(reg::registry_client& client, engine::memory_budget& memory,
                    engine::fanout_limits limits, std::uint64_t* read)
            : fanout(std::make_shared<blob_fanout>(client, repo(), *digest, blob_size, limits,
                                                   memory, read)),
              first(fanout),
              second(fanout),
              a(first.join()),
              b(second.join()) {}
        std::shared_ptr<blob_fanout> fanout;
        blob_fanout::expectation first;
        blob_fanout::expectation second;
        std::unique_ptr<reg::blob_source> a;
        std::unique_ptr<reg::blob_source> b;
    };

    /// Everything `reader` hands out, the largest amount kept meanwhile in `kept`.
    static asio::awaitable<net::result<std::string>> read_all(reg::blob_source& reader,
                                                              const blob_fanout& fanout,
                                                              std::uint64_t& kept) {
        std::string bytes;
        for (;;) {
            auto piece = co_await reader.next(soon());
            if (!piece) {
                co_return piece.error();
            }
            kept = std::max(kept, fanout.buffered());
            if (piece->empty()) {
                co_return bytes;
            }
            bytes += *piece;
        }
    }

    static inline testkit::registry_instance* registry = nullptr;
    static inline std::string* blob = nullptr;
    static inline std::string* digest = nullptr;
};

// Reader B takes one piece and stops; reader A reads on. A fills the window, waits for B
// as long as `stall`, then B is let go (its next read fails, transiently) and A finishes:
// one download, never more than a window kept, the window's memory given back.
TEST_F(BlobFanout, TheSlowestReaderIsLetGoOnceItHeldTheOthersTooLong) {
    struct outcome {
        std::string a_bytes;
        std::string b_error;
        bool b_transient = false;
        std::uint64_t kept = 0;
        std::uint64_t read = 0;
        std::uint64_t memory_while = 0;
        std::uint64_t memory_after = 0;
    };
    auto got =
        run_client<outcome>(setup(), [](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            engine::memory_budget memory{0, 64 << 20};
            {
                two_readers shared(
                    c, memory,
                    {window, std::chrono::milliseconds(100), std::chrono::milliseconds(300)},
                    &o.read);
                auto& [fanout, first, second, a, b] = shared;
                EXPECT_TRUE(a && b);
                if (!a || !b) {
                    co_return o;
                }
                o.memory_while = memory.used;
                auto piece = co_await b->next(soon());
                EXPECT_TRUE(piece.has_value() && !piece->empty());
                auto all = co_await read_all(*a, *fanout, o.kept);
                EXPECT_TRUE(all.has_value()) << all.error().message();
                o.a_bytes = all ? *all : std::string();
                auto late = co_await b->next(soon());
                EXPECT_FALSE(late.has_value());
                if (!late) {
                    o.b_error = late.error().message();
                    o.b_transient = net::is_transient(late.error());
                }
            }
            o.memory_after = memory.used;
            co_return o;
        });
    EXPECT_TRUE(got.a_bytes == *blob) << got.a_bytes.size() << " bytes read";
    EXPECT_NE(got.b_error.find("kept the others"), std::string::npos) << got.b_error;
    EXPECT_TRUE(got.b_transient);
    EXPECT_EQ(got.read, static_cast<std::uint64_t>(blob_size));
    EXPECT_LE(got.kept, window + largest_piece);
    EXPECT_EQ(got.memory_while, window);
    EXPECT_EQ(got.memory_after, 0u);
}

// Two readers both get every byte from one download. An upload announced but not joined
// holds the first pieces only for the grace: after it, the readers go on, and the
// latecomer is told to read on its own.
TEST_F(BlobFanout, ReadersShareOneDownloadAndLatecomersReadOnTheirOwn) {
    struct outcome {
        std::string a_bytes;
        std::string b_bytes;
        bool late_joined = true;
        std::uint64_t read = 0;
        std::uint64_t kept = 0;
        std::uint64_t memory_after = 0;
    };
    auto got =
        run_client<outcome>(setup(), [](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            engine::memory_budget memory{0, 64 << 20};
            {
                two_readers shared(
                    c, memory, {window, std::chrono::milliseconds(200), std::chrono::seconds(30)},
                    &o.read);
                auto& [fanout, first, second, a, b] = shared;
                blob_fanout::expectation third(fanout);
                EXPECT_TRUE(a && b);
                if (!a || !b) {
                    co_return o;
                }
                // A and B read in turn. `third` never comes: the window fills with the first
                // pieces kept for it, the grace runs out, and from then on only A and B count.
                std::vector<std::pair<reg::blob_source*, std::string*>> readers{
                    {a.get(), &o.a_bytes}, {b.get(), &o.b_bytes}};
                std::size_t done = 0;
                while (done < readers.size()) {
                    done = 0;
                    for (auto& [reader, bytes] : readers) {
                        if (reader == nullptr) {
                            ++done;
                            continue;
                        }
                        auto piece = co_await reader->next(soon());
                        o.kept = std::max(o.kept, fanout->buffered());
                        if (!piece || piece->empty()) {
                            EXPECT_TRUE(piece.has_value()) << piece.error().message();
                            reader = nullptr;
                            continue;
                        }
                        *bytes += *piece;
                    }
                }
                o.late_joined = third.join() != nullptr;
            }
            o.memory_after = memory.used;
            co_return o;
        });
    EXPECT_TRUE(got.a_bytes == *blob) << got.a_bytes.size();
    EXPECT_TRUE(got.b_bytes == *blob) << got.b_bytes.size();
    EXPECT_FALSE(got.late_joined);
    EXPECT_EQ(got.read, static_cast<std::uint64_t>(blob_size));
    EXPECT_LE(got.kept, window + largest_piece);
    EXPECT_EQ(got.memory_after, 0u);
}

// An upload announced before the download starts and joining 300 ms later, while the
// first reader waits on a full window: within the grace the first pieces are kept for
// it, so it gets every byte from the same download, read once.
TEST_F(BlobFanout, AnUploadJoiningWithinTheGraceGetsEveryByteOfTheSharedDownload) {
    struct outcome {
        std::string a_bytes;
        std::string b_bytes;
        bool b_joined = false;
        std::uint64_t kept_at_join = 0;
        std::uint64_t kept = 0;
        std::uint64_t read = 0;
        std::uint64_t memory_after = 0;
    };
    auto got =
        run_client<outcome>(setup(), [](reg::registry_client& c) -> asio::awaitable<outcome> {
            outcome o;
            engine::memory_budget memory{0, 64 << 20};
            {
                auto fanout = std::make_shared<blob_fanout>(
                    c, repo(), *digest, blob_size,
                    engine::fanout_limits{window, std::chrono::seconds(5),
                                          std::chrono::seconds(30)},
                    memory, &o.read);
                blob_fanout::expectation first(fanout);
                blob_fanout::expectation second(fanout);
                auto a = first.join();
                EXPECT_TRUE(a);
                if (!a) {
                    co_return o;
                }
                co_await engine::for_each_bounded(
                    2, 2, [&](std::size_t i) -> asio::awaitable<void> {
                        if (i == 0) {
                            auto all = co_await read_all(*a, *fanout, o.kept);
                            EXPECT_TRUE(all.has_value()) << all.error().message();
                            o.a_bytes = all ? *all : std::string();
                            co_return;
                        }
                        asio::steady_timer pause(co_await asio::this_coro::executor,
                                                 std::chrono::milliseconds(300));
                        co_await pause.async_wait(asio::use_awaitable);
                        o.kept_at_join = fanout->buffered();
                        auto b = second.join();
                        o.b_joined = b != nullptr;
                        if (!b) {
                            co_return;
                        }
                        auto all = co_await read_all(*b, *fanout, o.kept);
                        EXPECT_TRUE(all.has_value()) << all.error().message();
                        o.b_bytes = all ? *all : std::string();
                    });
            }
            o.memory_after = memory.used;
            co_return o;
        });
    EXPECT_TRUE(got.b_joined);
    // A had filled the window and was waiting for B when B came.
    EXPECT_GE(got.kept_at_join, window);
    EXPECT_TRUE(got.a_bytes == *blob) << got.a_bytes.size() << " bytes read";
    EXPECT_TRUE(got.b_bytes == *blob) << got.b_bytes.size() << " bytes read";
    EXPECT_EQ(got.read, static_cast<std::uint64_t>(blob_size));
    EXPECT_LE(got.kept, window + largest_piece);
    EXPECT_EQ(got.memory_after, 0u);
}

}  // namespace
}  // namespace hoist
