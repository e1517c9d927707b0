// SPDX-License-Identifier: Apache-2.0
/// A connected byte stream to one origin: TCP, with TLS (ALPN h2,http/1.1) for https.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/origin.hpp"
#include "net/tls.hpp"

#include <cstdint>
#include <memory>
#include <span>

namespace hoist::net {

class transport {
public:
    /// Resolves, connects and (for https) completes the TLS handshake before `until`.
    /// Errors name the origin: resolve_failed, connect_failed, tls_verify_failed,
    /// tls_handshake_failed, timeout.
    // lifetime: `tls` is owned by the http_client, which outlives every connection.
    static asio::awaitable<result<std::unique_ptr<transport>>> connect(origin where,
                                                                       tls_client& tls,
                                                                       deadline until);
    ~transport();
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// Reads what is available (at least one byte). Fails with connection_closed at EOF.
    asio::awaitable<result<std::size_t>> read_some(std::span<std::uint8_t> buffer);
    /// Writes all of `bytes`.
    asio::awaitable<result<void>> write(std::span<const std::uint8_t> bytes);
    /// Closes the socket; pending reads and writes complete with an error.
    void close();

    /// True when TLS ALPN selected "h2".
    bool negotiated_h2() const;
    const origin& where() const;
    asio::any_io_executor executor() const;

    struct impl;

private:
    explicit transport(std::unique_ptr<impl> impl);
    std::unique_ptr<impl> impl_;
};

}  // namespace hoist::net
