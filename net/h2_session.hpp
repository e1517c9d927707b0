// SPDX-License-Identifier: Apache-2.0
/// The HTTP/2 client protocol engine without I/O: bytes in with `feed`, bytes out with
/// `produce`. It wraps one nghttp2 client session and keeps, per stream, the response
/// head, the received body not yet taken, and the request body not yet framed.
/// No Asio type appears here, so it can be driven by a test with plain buffers.
#pragma once

#include "net/error.hpp"
#include "net/http_types.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

struct nghttp2_session;

namespace hoist::net {

struct h2_settings {
    /// Receive window per stream. Large, because a blob download should never wait for
    /// WINDOW_UPDATE round trips; memory stays bounded because the window only reopens
    /// as the consumer takes bytes.
    std::uint32_t stream_window = 4u << 20;
    /// Receive window of the whole connection: the bound on bytes buffered for all streams.
    std::uint32_t connection_window = 16u << 20;
    /// Largest frame the peer may send us (SETTINGS_MAX_FRAME_SIZE), and the most DATA we
    /// put in one frame when the peer allows it: big frames cost both sides less CPU.
    std::uint32_t max_frame_size = 256u << 10;
    /// Largest response header block accepted.
    std::uint32_t max_header_list_size = 64u << 10;
};

/// Stream events reach the owner through this interface, from inside `feed`.
class h2_session_listener {
public:
    /// Something changed on the stream: head, body bytes, end, or reset.
    virtual void on_stream_activity(std::int32_t stream_id) = 0;
    /// The connection's capacity changed: SETTINGS, GOAWAY, or a stream closed.
    virtual void on_session_activity() = 0;

protected:
    ~h2_session_listener() = default;
};

/// State of one request/response exchange, as far as the session knows it.
struct h2_stream_state {
    // Response side.
    int status = 0;
    header_list headers;
    bool head_complete = false;  ///< a final (non-1xx) response head has arrived
    std::string body;            ///< received body bytes; those before body_offset are taken
    std::size_t body_offset = 0;
    bool remote_ended = false;     ///< END_STREAM received
    bool closed = false;           ///< the stream is closed (normally or by reset)
    std::uint32_t close_code = 0;  ///< HTTP/2 error code on close; 0 is NO_ERROR

    // Request side.
    bool has_body = false;
    std::string pending_out;  ///< request body bytes not yet framed
    std::size_t pending_offset = 0;
    bool out_ended = false;     ///< the caller has written the whole body
    bool out_deferred = false;  ///< nghttp2 is waiting for more body bytes

    std::size_t pending_out_size() const { return pending_out.size() - pending_offset; }
    std::size_t body_size() const { return body.size() - body_offset; }
};

class h2_session {
public:
    explicit h2_session(h2_session_listener& listener, h2_settings settings = {});
    ~h2_session();
    h2_session(const h2_session&) = delete;
    h2_session& operator=(const h2_session&) = delete;

    /// Opens a stream for a request. `authority` is host[:port]. With `has_body` the
    /// body is given afterwards through `write_body` and `end_body`.
    result<std::int32_t> submit_request(std::string_view method, std::string_view scheme,
                                        std::string_view authority, std::string_view path,
                                        const header_list& headers, bool has_body);

    /// Queues request body bytes; they are framed as the peer's flow control allows.
    void write_body(std::int32_t stream_id, std::span<const std::uint8_t> bytes);
    /// Marks the request body complete (END_STREAM after the queued bytes).
    void end_body(std::int32_t stream_id);

    /// The stream's state, or nullptr when the stream is unknown or forgotten.
    const h2_stream_state* stream(std::int32_t stream_id) const;

    /// Moves out the response header fields (once the head is complete).
    header_list take_headers(std::int32_t stream_id);

    /// Takes up to `max` received body bytes and reopens that much flow-control window.
    std::string take_body(std::int32_t stream_id, std::size_t max = SIZE_MAX);

    /// Sends RST_STREAM(code) unless the stream is already closed.
    void reset(std::int32_t stream_id, std::uint32_t code);

    /// Drops the stream's state: resets it if still open and gives back the flow-control
    /// window of bytes nobody will take. Call once the caller is done with the stream.
    void forget(std::int32_t stream_id);

    /// Processes bytes received from the peer. Stream events are delivered to the
    /// listener before it returns. Fails on a protocol error: the session is then dead.
    result<void> feed(std::span<const std::uint8_t> bytes);

    /// Appends frames ready to send to `out` until it holds at least `limit` bytes or
    /// nothing more is ready.
    result<void> produce(std::string& out, std::size_t limit);

    /// Queues a PING; its ACK is ordinary input for `feed`.
    void ping();

    /// Queues GOAWAY(NO_ERROR) after whatever is queued: no new streams, the open ones
    /// finish, then the session ends.
    void shutdown();

    bool wants_write() const;
    bool wants_read() const;
    /// Why the session ended once it wants neither to read nor to write: a protocol error
    /// nghttp2 detected (it then sent GOAWAY itself), or a normal end.
    failure end_reason() const;

    /// Streams opened and not yet closed.
    std::size_t open_streams() const { return open_streams_; }
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (100 until its SETTINGS arrive).
    std::uint32_t peer_max_concurrent_streams() const;
    /// True once the peer sent GOAWAY; streams above `goaway_last_stream_id` were refused.
    bool goaway_received() const { return goaway_received_; }
    /// True once the peer's first SETTINGS frame arrived (its limits are then known).
    bool peer_settings_received() const { return peer_settings_received_; }
    std::int32_t goaway_last_stream_id() const { return goaway_last_stream_id_; }
    /// True once this side can open no more streams (GOAWAY either way or ids exhausted).
    bool draining() const;

private:
    friend struct h2_callbacks;

    h2_stream_state* find(std::int32_t stream_id);
    void record_failure(failure f);

    h2_session_listener& listener_;
    h2_settings settings_;
    std::unique_ptr<nghttp2_session, void (*)(nghttp2_session*)> session_;
    std::unordered_map<std::int32_t, std::unique_ptr<h2_stream_state>> streams_;
    std::size_t open_streams_ = 0;
    bool goaway_received_ = false;
    bool peer_settings_received_ = false;
    bool goaway_sent_ = false;
    std::int32_t goaway_last_stream_id_ = 0;
    std::optional<failure> callback_failure_;
    std::string last_error_;
};

}  // namespace hoist::net
