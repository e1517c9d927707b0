// SPDX-License-Identifier: Apache-2.0
#include "net/tls_stream.hpp"

#include <boost/asio/write.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace hoist::net {

namespace {

// BoringSSL cuts plaintext into records of at most 16 KiB; handing it a few records'
// worth at a time keeps `outgoing_` small while still batching the socket writes.
constexpr std::size_t write_slice = 256u << 10;

// asio's async_write asks the socket for at most 64 KiB per send, which cuts each batch
// into four system calls and four loopback transmits; the kernel takes what fits at once.
std::size_t as_much_as_fits(const boost::system::error_code& error, std::size_t) {
    return error ? 0 : std::numeric_limits<int>::max();
}

tls_stream* owner_of(BIO* bio) {
    return static_cast<tls_stream*>(BIO_get_data(bio));
}

int bio_read(BIO* bio, char* out, int size) {
    BIO_clear_retry_flags(bio);
    int n = owner_of(bio)->take_ciphertext(out, size);
    if (n < 0) {
        BIO_set_retry_read(bio);
    }
    return n;
}

int bio_write(BIO* bio, const char* bytes, int size) {
    BIO_clear_retry_flags(bio);
    return owner_of(bio)->put_ciphertext(bytes, size);
}

long bio_ctrl(BIO*, int command, long, void*) {
    // BoringSSL flushes after each handshake flight; the bytes wait in `outgoing_` until
    // the stream sends them, so there is nothing to do but say yes.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* memory_method() {
    static const BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "hoist tls_stream");
        if (m == nullptr || BIO_meth_set_read(m, bio_read) != 1 ||
            BIO_meth_set_write(m, bio_write) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1) {
            throw std::runtime_error("cannot create the TLS BIO method");
        }
        return m;
    }();
    return method;
}

std::string ssl_reason() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char line[256];
        ERR_error_string_n(code, line, sizeof line);
        if (!text.empty()) {
            text += "; ";
        }
        text += line;
    }
    return text;
}

}  // namespace

void tls_stream::ssl_deleter::operator()(SSL* ssl) const {
    SSL_free(ssl);
}

tls_stream::tls_stream(asio::ip::tcp::socket socket, SSL_CTX* ctx)
    : socket_(std::move(socket)), ssl_(SSL_new(ctx)), incoming_(new std::uint8_t[buffer_size]) {
    BIO* bio = BIO_new(memory_method());
    if (!ssl_ || bio == nullptr) {
        BIO_free(bio);
        throw std::bad_alloc();
    }
    BIO_set_data(bio, this);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_.get(), bio, bio);  // one reference, used for both directions
    SSL_set_connect_state(ssl_.get());
}

tls_stream::~tls_stream() = default;

int tls_stream::take_ciphertext(char* out, int size) {
    std::size_t available = incoming_end_ - incoming_begin_;
    if (available == 0) {
        return peer_closed_ ? 0 : -1;
    }
    std::size_t n = std::min<std::size_t>(available, static_cast<std::size_t>(size));
    std::memcpy(out, incoming_.get() + incoming_begin_, n);
    incoming_begin_ += n;
    return static_cast<int>(n);
}

int tls_stream::put_ciphertext(const char* bytes, int size) {
    outgoing_.insert(outgoing_.end(), reinterpret_cast<const std::uint8_t*>(bytes),
                     reinterpret_cast<const std::uint8_t*>(bytes) + size);
    return size;
}

std::string tls_stream::failure_text(int code, const char* what) const {
    std::string reason = ssl_reason();
    if (code == SSL_ERROR_ZERO_RETURN) {
        return std::string(what) + ": the peer closed the TLS session";
    }
    if (code == SSL_ERROR_SYSCALL && reason.empty()) {
        return std::string(what) + ": connection closed in the middle of a TLS record";
    }
    return std::string(what) + ": " + (reason.empty() ? "TLS error" : reason);
}

int tls_stream::outcome_of(int ssl_result) const {
    return ssl_result > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), ssl_result);
}

// BoringSSL's error queue is per thread, and every connection's coroutines share the
// thread: an error another connection left there makes SSL_get_error report SSL_ERROR_SSL
// for a mere WANT_READ. So the queue is cleared before each SSL call, and the call's
// outcome and error text are read before the next co_await lets another connection run.

asio::awaitable<result<void>> tls_stream::handshake() {
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_.get());
        int code = outcome_of(r);
        std::string failure;
        if (code != SSL_ERROR_NONE && code != SSL_ERROR_WANT_READ) {
            failure = failure_text(code, "TLS handshake");
        }
        if (auto sent = co_await flush(); !sent) {
            co_return sent.error();
        }
        if (code == SSL_ERROR_NONE) {
            co_return result<void>{};
        }
        if (code != SSL_ERROR_WANT_READ) {
            // The stream ending without an alert is the peer going away (an overloaded
            // server drops connections), which another connection may not meet; an alert
            // or bytes that are not TLS are a refusal that will not change.
            errc why = code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN
                           ? errc::connection_closed
                           : errc::tls_handshake_failed;
            co_return fail(why, std::move(failure));
        }
        if (auto filled = co_await fill(); !filled) {
            co_return filled.error();
        }
    }
}

asio::awaitable<result<std::size_t>> tls_stream::read_some(std::span<std::uint8_t> buffer) {
    if (buffer.empty()) {
        co_return std::size_t{0};
    }
    for (;;) {
        std::size_t got = 0;
        int last = 1;
        ERR_clear_error();
        while (got < buffer.size()) {
            std::size_t want = std::min<std::size_t>(buffer.size() - got, INT_MAX);
            last = SSL_read(ssl_.get(), buffer.data() + got, static_cast<int>(want));
            if (last <= 0) {
                break;
            }
            got += static_cast<std::size_t>(last);
        }
        int code = outcome_of(last);
        std::string failure;
        if (got == 0 && code != SSL_ERROR_WANT_READ) {
            failure = failure_text(code, "read");
        }
        // Reading may have produced records to send (a KeyUpdate answer, an alert).
        if (!outgoing_.empty()) {
            if (auto sent = co_await flush(); !sent) {
                co_return sent.error();
            }
        }
        if (got > 0) {
            co_return got;  // an error behind the data shows again on the next read
        }
        if (code != SSL_ERROR_WANT_READ) {
            co_return fail(errc::connection_closed, std::move(failure));
        }
        if (auto filled = co_await fill(); !filled) {
            co_return filled.error();
        }
    }
}

asio::awaitable<result<void>> tls_stream::write(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        std::size_t n = std::min(bytes.size(), write_slice);
        ERR_clear_error();
        int written = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(n));
        if (written <= 0) {
            co_return fail(errc::connection_closed, failure_text(outcome_of(written), "write"));
        }
        bytes = bytes.subspan(static_cast<std::size_t>(written));
        if (auto sent = co_await flush(); !sent) {
            co_return sent.error();
        }
    }
    co_return result<void>{};
}

asio::awaitable<result<void>> tls_stream::fill() {
    if (peer_closed_) {
        co_return fail(errc::connection_closed, "read: connection closed");
    }
    if (incoming_begin_ == incoming_end_) {
        incoming_begin_ = incoming_end_ = 0;
    } else if (incoming_begin_ > 0) {
        std::memmove(incoming_.get(), incoming_.get() + incoming_begin_,
                     incoming_end_ - incoming_begin_);
        incoming_end_ -= incoming_begin_;
        incoming_begin_ = 0;
    }
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(incoming_.get() + incoming_end_, buffer_size - incoming_end_), use_nothrow);
    if (ec == asio::error::eof) {
        // BoringSSL then sees the end of its input and tells a clean close_notify from a
        // truncated stream.
        peer_closed_ = true;
        co_return result<void>{};
    }
    if (ec) {
        co_return fail(errc::connection_closed, "read: " + ec.message());
    }
    incoming_end_ += n;
    co_return result<void>{};
}

asio::awaitable<result<void>> tls_stream::flush() {
    if (flushing_) {
        co_return result<void>{};
    }
    flushing_ = true;
    while (!outgoing_.empty()) {
        sending_.swap(outgoing_);
        outgoing_.clear();
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(sending_), as_much_as_fits,
                                                  use_nothrow);
        (void)n;
        if (ec) {
            flushing_ = false;
            co_return fail(errc::connection_closed, "write: " + ec.message());
        }
    }
    flushing_ = false;
    co_return result<void>{};
}

}  // namespace hoist::net
