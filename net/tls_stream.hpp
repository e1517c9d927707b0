// SPDX-License-Identifier: Apache-2.0
/// TLS over a TCP socket with large ciphertext buffers, for `transport` only.
///
/// asio's ssl::stream moves ciphertext through a 17 KiB buffer: one socket read and one
/// socket write per TLS record. Copying gigabytes of blobs that way costs a syscall, a
/// loopback packet and a coroutine resumption per 16 KiB. This stream lets BoringSSL read
/// from and write to memory we own, fills it with reads of up to `buffer_size` and sends
/// whole batches of records with one write.
#pragma once

#include "net/asio.hpp"
#include "net/error.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <openssl/base.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hoist::net {

class tls_stream {
public:
    static constexpr std::size_t buffer_size = 256u << 10;

    /// Takes the connected socket; `ctx` configures verification and ALPN.
    tls_stream(asio::ip::tcp::socket socket, SSL_CTX* ctx);
    ~tls_stream();
    tls_stream(const tls_stream&) = delete;
    tls_stream& operator=(const tls_stream&) = delete;

    /// The BoringSSL connection, to set SNI and host checks before the handshake and to
    /// read the verification result and ALPN after it.
    SSL* native_handle() const { return ssl_.get(); }
    asio::ip::tcp::socket& socket() { return socket_; }

    /// Runs the client handshake. The error text carries BoringSSL's reason.
    asio::awaitable<result<void>> handshake();
    /// Decrypts what has arrived into `buffer` (several records when they are there);
    /// waits for the socket only when nothing is decrypted yet. At least one byte, or an
    /// error (connection_closed at the end of the stream).
    asio::awaitable<result<std::size_t>> read_some(std::span<std::uint8_t> buffer);
    /// Encrypts and sends all of `bytes`.
    asio::awaitable<result<void>> write(std::span<const std::uint8_t> bytes);

    // The BIO callbacks, which see this object through BIO_get_data.
    int take_ciphertext(char* out, int size);
    int put_ciphertext(const char* bytes, int size);

private:
    struct ssl_deleter {
        void operator()(SSL* ssl) const;
    };

    /// Reads ciphertext from the socket into `incoming_`.
    asio::awaitable<result<void>> fill();
    /// Sends everything in `outgoing_`. A flush already running sends what is added
    /// meanwhile, so a second caller returns at once.
    asio::awaitable<result<void>> flush();
    /// SSL_get_error of a call's result: read at once, before this thread's error queue
    /// can change.
    int outcome_of(int ssl_result) const;
    /// What went wrong, from `code` (SSL_get_error's) and the error queue, which it drains.
    std::string failure_text(int code, const char* what) const;

    asio::ip::tcp::socket socket_;
    std::unique_ptr<SSL, ssl_deleter> ssl_;
    std::unique_ptr<std::uint8_t[]> incoming_;
    std::size_t incoming_begin_ = 0;
    std::size_t incoming_end_ = 0;
    bool peer_closed_ = false;
    std::vector<std::uint8_t> outgoing_;
    std::vector<std::uint8_t> sending_;
    bool flushing_ = false;
};

}  // namespace hoist::net
