// SPDX-License-Identifier: Apache-2.0
#include "net/transport.hpp"

#include "net/detail/tls_context.hpp"
#include "net/tls_stream.hpp"
#include "net/with_deadline.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>

namespace hoist::net {

using tcp = asio::ip::tcp;

struct transport::impl {
    origin where;
    std::unique_ptr<tcp::socket> plain;
    std::unique_ptr<tls_stream> tls;
    bool h2 = false;

    tcp::socket& socket() const { return tls ? tls->socket() : *plain; }
};

namespace {

result<void> apply_host_check(SSL* ssl, const origin& where) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip_literal(where.host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, where.host.c_str()) != 1) {
            return fail(errc::tls_handshake_failed, "bad IP address " + where.host);
        }
        return {};
    }
    if (SSL_set_tlsext_host_name(ssl, where.host.c_str()) != 1 ||
        X509_VERIFY_PARAM_set1_host(param, where.host.data(), where.host.size()) != 1) {
        return fail(errc::tls_handshake_failed, "bad host name " + where.host);
    }
    return {};
}

asio::awaitable<result<std::unique_ptr<transport::impl>>> connect_unbounded(origin where,
                                                                            tls_client* tls) {
    auto executor = co_await asio::this_coro::executor;
    auto conn = std::make_unique<transport::impl>();
    conn->where = where;

    tcp::resolver resolver(executor);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(where.host, std::to_string(where.port), use_nothrow);
    if (resolve_error) {
        co_return fail(errc::resolve_failed,
                       "cannot resolve " + where.host + ": " + resolve_error.message());
    }
    tcp::socket socket(executor);
    auto [connect_error, endpoint] = co_await asio::async_connect(socket, endpoints, use_nothrow);
    if (connect_error) {
        co_return fail(errc::connect_failed,
                       "cannot connect to " + where.to_string() + ": " + connect_error.message());
    }
    socket.set_option(tcp::no_delay(true));

    if (!where.is_tls()) {
        conn->plain = std::make_unique<tcp::socket>(std::move(socket));
        co_return conn;
    }
    auto context = tls->internals().context_for(where);
    if (!context) {
        co_return context.error();
    }
    conn->tls = std::make_unique<tls_stream>(std::move(socket), (*context)->native_handle());
    SSL* ssl = conn->tls->native_handle();
    if (auto r = apply_host_check(ssl, where); !r) {
        co_return r.error();
    }
    auto handshake = co_await conn->tls->handshake();
    if (!handshake) {
        long verify = SSL_get_verify_result(ssl);
        // X509_V_ERR_INVALID_CALL: no certificate was ever checked (the peer does not
        // speak TLS at all), which is a handshake failure, not a trust failure.
        if (where.verify_tls && verify != X509_V_OK && verify != X509_V_ERR_INVALID_CALL) {
            co_return fail(errc::tls_verify_failed,
                           "certificate of " + where.to_string() +
                               " not trusted: " + X509_verify_cert_error_string(verify) +
                               " (trust its CA with --ca-file or certs.d/" + where.host + ":" +
                               std::to_string(where.port) + "/ca.crt)");
        }
        // A connection lost in the handshake stays a lost connection: retried like one.
        errc why = handshake.error().is(errc::connection_closed) ? errc::connection_closed
                                                                 : errc::tls_handshake_failed;
        co_return fail(why, "TLS handshake with " + where.to_string() +
                                " failed: " + handshake.error().detail);
    }
    const std::uint8_t* protocol = nullptr;
    unsigned protocol_size = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &protocol_size);
    conn->h2 = protocol_size == 2 && std::memcmp(protocol, "h2", 2) == 0;
    co_return conn;
}

}  // namespace

transport::transport(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

transport::~transport() = default;

asio::awaitable<result<std::unique_ptr<transport>>> transport::connect(origin where,
                                                                       tls_client& tls,
                                                                       deadline until) {
    std::string what = "connect to " + where.to_string();
    auto conn =
        co_await with_deadline(connect_unbounded(std::move(where), &tls), until, std::move(what));
    if (!conn) {
        co_return conn.error();
    }
    co_return std::unique_ptr<transport>(new transport(std::move(*conn)));
}

asio::awaitable<result<std::size_t>> transport::read_some(std::span<std::uint8_t> buffer) {
    if (impl_->tls) {
        auto n = co_await impl_->tls->read_some(buffer);
        if (!n) {
            co_return fail(errc::connection_closed,
                           impl_->where.to_string() + ": " + n.error().detail);
        }
        co_return *n;
    }
    auto [ec, n] = co_await impl_->plain->async_read_some(asio::buffer(buffer), use_nothrow);
    if (ec) {
        co_return fail(errc::connection_closed,
                       impl_->where.to_string() + ": read: " + ec.message());
    }
    co_return n;
}

asio::awaitable<result<void>> transport::write(std::span<const std::uint8_t> bytes) {
    if (impl_->tls) {
        auto written = co_await impl_->tls->write(bytes);
        if (!written) {
            co_return fail(errc::connection_closed,
                           impl_->where.to_string() + ": " + written.error().detail);
        }
        co_return result<void>{};
    }
    auto [ec, n] = co_await asio::async_write(*impl_->plain, asio::buffer(bytes), use_nothrow);
    (void)n;
    if (ec) {
        co_return fail(errc::connection_closed,
                       impl_->where.to_string() + ": write: " + ec.message());
    }
    co_return result<void>{};
}

void transport::close() {
    boost::system::error_code ignored;
    impl_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->socket().close(ignored);
}

bool transport::negotiated_h2() const {
    return impl_->h2;
}

const origin& transport::where() const {
    return impl_->where;
}

asio::any_io_executor transport::executor() const {
    return impl_->socket().get_executor();
}

}  // namespace hoist::net
