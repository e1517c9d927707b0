// SPDX-License-Identifier: Apache-2.0
/// The two seams between the origin pool and the protocols: a connection that can start
/// requests, and one request/response exchange with streaming bodies in both directions.
/// HTTP/2 (h2_connection) and HTTP/1.1 (h1_connection) implement them.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/http_types.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace hoist::net {

/// One request and its response. Bodies stream in bounded memory: `write_body` waits
/// while the bytes already queued for this request are not yet sent, `read_body` hands
/// out what has arrived and only then lets the peer send more.
/// Destroying an exchange before the response was read to its end abandons it: the
/// HTTP/2 stream is reset (only that stream) or the HTTP/1.1 connection is closed.
/// Executor: the connection's; not thread-safe.
class http_exchange {
public:
    virtual ~http_exchange() = default;

    /// Sends request body bytes. Fails with timeout at `until`, stream_reset or
    /// connection_closed; the response head may still be readable after a failure (a
    /// server may answer before reading the whole body).
    virtual asio::awaitable<result<void>> write_body(std::span<const std::uint8_t> bytes,
                                                     deadline until) = 0;
    /// Ends the request body. Required once for requests that announced a body.
    virtual asio::awaitable<result<void>> finish_body(deadline until) = 0;
    /// Waits for the final response head (interim 1xx responses are skipped).
    virtual asio::awaitable<result<response_head>> read_head(deadline until) = 0;
    /// The next piece of the response body; an empty string at its end.
    virtual asio::awaitable<result<std::string>> read_body(deadline until) = 0;
};

class http_connection {
public:
    virtual ~http_connection() = default;

    /// True when `start` may be called now.
    virtual bool has_capacity() const = 0;
    /// False once the connection is closed or going away: the pool drops it.
    virtual bool is_open() const = 0;
    virtual bool is_h2() const = 0;
    /// Requests in flight on this connection.
    virtual std::size_t active_requests() const = 0;
    /// Starts a request. Precondition: has_capacity().
    virtual result<std::unique_ptr<http_exchange>> start(request_head head) = 0;
    /// Closes the connection at once; exchanges in flight fail with connection_closed.
    virtual void close() = 0;
    /// Stops taking requests and closes once those in flight are done (HTTP/2 GOAWAY).
    virtual void drain() = 0;
};

}  // namespace hoist::net
