// SPDX-License-Identifier: Apache-2.0
/// One download of a source blob feeding the uploads into several destination registries
/// at once (the k8s.io case: one staging image, 22 regional registries), for blobs too
/// large to hold whole in memory.
///
/// Pieces are kept until every upload reading them has taken them. The download stays at
/// most `window` bytes ahead of the slowest upload, so memory is bounded whatever the
/// blob size, and it runs at the pace of that slowest upload. An upload that gives up
/// (its registry failed) stops holding the others back, and so does one that has kept the
/// others waiting for `stall` (it fails, transiently: its edge is run again and reads on
/// its own). That also breaks any circle of uploads waiting for each other's connections.
///
/// The uploads do not start at once: each first looks for the blob and opens an upload
/// session. So each announces itself early (an `expectation`), and the download keeps its
/// first pieces until every announced upload has joined or withdrawn, or `join_grace` has
/// passed. An upload that comes after the first pieces are gone reads the source on its
/// own. A retry after the shared download failed gets a new one.
///
/// The window is taken from a memory budget shared with the promoter's blob cache when the
/// first upload joins, and given back when the download is over, or failed, and nobody
/// reads any more; without room in the budget, uploads read on their own.
///
/// Each upload still hashes what it sends and checks it before it commits, as every upload
/// does.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/registry/registry_client.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace hoist::engine {

/// Bytes held for blobs in memory, against a limit.
struct memory_budget {
    std::uint64_t used = 0;
    std::uint64_t limit = 0;
};

struct fanout_limits {
    /// How far the download may run ahead of its slowest reader.
    std::uint64_t window = 8u << 20;
    /// How long a full window keeps its first pieces for uploads still on their way
    /// (looking for the blob, opening their session).
    std::chrono::milliseconds join_grace{2000};
    /// How long the slowest reader may hold a full window before it is let go (it fails
    /// transiently and its edge reads on its own), so no registry holds the others.
    std::chrono::milliseconds stall{10'000};
};

class blob_fanout : public std::enable_shared_from_this<blob_fanout> {
public:
    /// `bytes_read` (if set) counts what the download reads.
    // lifetime: `client`, `memory` and `bytes_read` outlive the fan-out and its readers.
    blob_fanout(net::registry::registry_client& client, net::registry::repository_ref source,
                std::string digest, std::int64_t size, fanout_limits limits, memory_budget& memory,
                std::uint64_t* bytes_read);
    ~blob_fanout();
    blob_fanout(const blob_fanout&) = delete;
    blob_fanout& operator=(const blob_fanout&) = delete;

    /// An upload that may come to read the blob. The download keeps its first pieces for
    /// it until it joins or goes (or the grace runs out).
    class expectation {
    public:
        explicit expectation(std::shared_ptr<blob_fanout> owner);
        ~expectation();
        expectation(const expectation&) = delete;
        expectation& operator=(const expectation&) = delete;
        /// A reader from the first byte, or null when it is too late for that (the first
        /// pieces are gone, the download failed or was given up) or memory is short: then
        /// read on your own.
        std::unique_ptr<net::registry::blob_source> join();

    private:
        void withdraw();
        std::shared_ptr<blob_fanout> owner_;
        bool counted_ = false;
    };

    /// The download failed, or every reader gave up: a retry needs a new fan-out.
    bool failed() const { return error_.has_value(); }
    /// Bytes read and kept for readers that have not taken them yet.
    std::uint64_t buffered() const { return buffered_; }

private:
    class reader;
    struct reader_state {
        std::size_t position = 0;  ///< the index of the next piece to hand out
        bool evicted = false;      ///< it held the others back too long
    };

    asio::awaitable<net::result<std::string>> next_for(reader_state& state, net::deadline until);
    /// Reads one more piece from the source into the window.
    asio::awaitable<net::result<void>> fetch(net::deadline until);
    /// Whether a reader joining now could still be handed the first piece.
    bool open() const { return first_piece_ == 0 && !closed_ && !error_ && !released_; }
    void leave(reader_state* state);
    /// The index of the oldest piece some reader has not taken yet.
    std::size_t slowest_position() const;
    /// Drops the pieces every reader has taken; false when none could go.
    bool trim();
    /// Lets the readers that have not taken the oldest piece go, failing their next read.
    void evict_slowest();
    /// Gives the window back once nobody reads or will join, ending a download begun.
    void release_if_done();
    /// Drops every piece and returns the window to the budget (once); nobody joins after.
    void give_back();
    bool holds_request() const { return download_->holds_request(); }

    std::string digest_;
    fanout_limits limits_;
    memory_budget& memory_;
    std::unique_ptr<net::registry::deferred_blob_download> download_;
    std::deque<std::string> pieces_;
    std::size_t first_piece_ = 0;  ///< the index of pieces_.front() in the blob
    std::uint64_t buffered_ = 0;   ///< bytes in pieces_
    std::set<reader_state*> readers_;
    std::size_t expected_ = 0;                ///< announced uploads not joined or gone
    std::optional<net::deadline> grace_end_;  ///< set once the window filled up
    bool closed_ = false;                     ///< no reader joins any more
    bool reserved_ = false;                   ///< the window is counted in `memory_`
    bool released_ = false;                   ///< done: the window is given back
    bool fetching_ = false;
    bool ended_ = false;
    std::optional<net::failure> error_;
    net::wait_list changed_;
};

}  // namespace hoist::engine
