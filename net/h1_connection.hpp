// SPDX-License-Identifier: Apache-2.0
/// HTTP/1.1 with keep-alive: the fallback when ALPN does not give h2, and the protocol of
/// plain-http registries. One request at a time per connection; bodies framed by
/// Content-Length or chunked transfer coding, in both directions.
#pragma once

#include "net/http_connection.hpp"
#include "net/transport.hpp"

#include <functional>
#include <memory>

namespace hoist::net {

class h1_connection final : public http_connection,
                            public std::enable_shared_from_this<h1_connection> {
public:
    /// `on_capacity` is called when the connection becomes free again or closes.
    h1_connection(std::unique_ptr<transport> transport, std::function<void()> on_capacity);
    ~h1_connection() override;

    bool has_capacity() const override { return open_ && !busy_ && !draining_; }
    bool is_open() const override { return open_ && !draining_; }
    bool is_h2() const override { return false; }
    std::size_t active_requests() const override { return busy_ ? 1 : 0; }
    result<std::unique_ptr<http_exchange>> start(request_head head) override;
    void close() override;
    void drain() override;

private:
    friend class h1_exchange;

    void release(bool reusable);

    std::unique_ptr<transport> transport_;
    std::function<void()> on_capacity_;
    bool busy_ = false;
    bool open_ = true;
    bool draining_ = false;
    std::string buffered_;  ///< bytes read past the end of what was parsed so far
    /// How large the next piece read from the transport is made. A piece is zeroed when
    /// made, so one much larger than a read brings costs a memset for nothing.
    std::size_t next_read_size_ = 64u << 10;
};

/// Parses an HTTP/1.1 response head (status line and fields, up to the blank line).
/// Exposed for tests. Returns protocol_error on malformed input.
result<response_head> parse_h1_response_head(std::string_view text);

}  // namespace hoist::net
