// SPDX-License-Identifier: Apache-2.0
/// One download of a source blob feeding the uploads into several destination registries
/// at once (the k8s.io case: one staging image, 22 regional registries), for blobs too
/// large to hold whole in memory.
///
/// Pieces are kept until every upload reading them has taken them. The download stays at
/// most `window` bytes ahead of the slowest upload, so memory is bounded whatever the
/// blob size, and it runs at the pace of that slowest upload. An upload that gives up
/// (its registry failed) stops holding the others back.
///
/// The uploads do not start at once: each first looks for the blob and opens an upload
/// session. So each announces itself early (an `expectation`), and the download keeps its
/// first pieces until every announced upload has joined or withdrawn, or `join_grace` has
/// passed. An upload that comes later, or a retry after a failure, reads the source on its
/// own.
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

class blob_fanout : public std::enable_shared_from_this<blob_fanout> {
public:
    /// `bytes_read` (if set) counts what the download reads.
    // lifetime: `client` and `bytes_read` outlive the fan-out and its readers.
    blob_fanout(net::registry::registry_client& client, net::registry::repository_ref source,
                std::string digest, std::int64_t size, std::uint64_t window,
                std::chrono::milliseconds join_grace, std::uint64_t* bytes_read);

    /// An upload that may come to read the blob. The download keeps its first pieces for
    /// it until it joins or goes (or the grace runs out).
    class expectation {
    public:
        explicit expectation(std::shared_ptr<blob_fanout> owner);
        ~expectation();
        expectation(const expectation&) = delete;
        expectation& operator=(const expectation&) = delete;
        /// A reader from the first byte, or null when it is too late for that (the first
        /// pieces are gone, the download failed or was given up): then read on your own.
        std::unique_ptr<net::registry::blob_source> join();

    private:
        void withdraw();
        std::shared_ptr<blob_fanout> owner_;
        bool counted_ = false;
    };

    /// The download failed, or every reader gave up: a retry needs a new fan-out.
    bool failed() const { return error_.has_value(); }

private:
    class reader;

    asio::awaitable<net::result<std::string>> next_for(std::size_t& position, net::deadline until);
    /// Reads one more piece from the source into the window.
    asio::awaitable<net::result<void>> fetch(net::deadline until);
    /// Whether the first pieces may still be handed to a reader joining now.
    bool open() const { return first_piece_ == 0 && !closed_ && !error_; }
    void leave(std::size_t* position);
    /// Ends a download begun that nobody reads or will join any more.
    void give_up_if_unread();
    /// Drops the pieces every reader has taken; false when none could go.
    bool trim();
    bool holds_request() const { return download_->holds_request(); }

    std::string digest_;
    std::uint64_t window_;
    std::chrono::milliseconds join_grace_;
    std::unique_ptr<net::registry::deferred_blob_download> download_;
    std::deque<std::string> pieces_;
    std::size_t first_piece_ = 0;             ///< the index of pieces_.front() in the blob
    std::uint64_t buffered_ = 0;              ///< bytes in pieces_
    std::set<std::size_t*> readers_;          ///< where each reader is, by piece index
    std::size_t expected_ = 0;                ///< announced uploads that have not joined or gone
    std::optional<net::deadline> grace_end_;  ///< set once the window filled up
    bool closed_ = false;                     ///< no reader joins any more
    bool fetching_ = false;
    bool ended_ = false;
    std::optional<net::failure> error_;
    net::wait_list changed_;
};

}  // namespace hoist::engine
