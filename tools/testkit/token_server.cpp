// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/token_server.hpp"

#include "crypto/ec_key.hpp"
#include "crypto/encoding.hpp"
#include "crypto/x509_cert.hpp"
#include "net/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

namespace hoist::testkit {
namespace {

namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// User names and scopes come from the network; never let invalid UTF-8 make dump() throw.
std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out.push_back(' ');  // application/x-www-form-urlencoded
        } else if (text[i] == '%' && i + 2 < text.size() && is_hex(text[i + 1]) &&
                   is_hex(text[i + 2])) {
            out.push_back(
                static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    while (true) {
        const auto at = text.find(separator);
        parts.emplace_back(text.substr(0, at));
        if (at == std::string_view::npos) {
            return parts;
        }
        text.remove_prefix(at + 1);
    }
}

std::string rfc3339(std::time_t t) {
    std::tm utc{};
    gmtime_r(&t, &utc);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string random_hex(std::size_t bytes) {
    static thread_local std::random_device device;
    std::string out;
    char byte[3];
    for (std::size_t i = 0; i < bytes; ++i) {
        std::snprintf(byte, sizeof(byte), "%02x", static_cast<unsigned>(device() & 0xff));
        out += byte;
    }
    return out;
}

response error_response(const request& req, http::status status, std::string_view code,
                        std::string_view message) {
    response res{status, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = dump(json{{"errors", json::array({{{"code", code}, {"message", message}}})}});
    return res;
}

// Completion handler of every co_spawn here. Coroutines report errors as values; an
// exception reaching this point is a bug (or bad_alloc), and a silently half-dead server
// would make client tests fail in confusing ways.
void abort_on_exception(std::exception_ptr failure) {
    if (!failure) {
        return;
    }
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "token_server: coroutine failed: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "token_server: coroutine failed\n");
    }
    std::abort();
}

json access_claim(const std::vector<resource_scope>& granted) {
    json access = json::array();
    for (const auto& scope : granted) {
        access.push_back({{"type", scope.type}, {"name", scope.name}, {"actions", scope.actions}});
    }
    return access;
}

}  // namespace

std::optional<resource_scope> parse_scope(std::string_view text) {
    const auto first = text.find(':');
    const auto last = text.rfind(':');
    if (first == std::string_view::npos || first == last) {
        return std::nullopt;
    }
    resource_scope scope;
    scope.type = text.substr(0, first);
    scope.name = text.substr(first + 1, last - first - 1);
    if (scope.type.empty() || scope.name.empty()) {
        return std::nullopt;
    }
    for (auto& action : split(text.substr(last + 1), ',')) {
        if (!action.empty() &&
            std::find(scope.actions.begin(), scope.actions.end(), action) == scope.actions.end()) {
            scope.actions.push_back(std::move(action));
        }
    }
    return scope;
}

struct token_server::impl {
    impl(token_server_options opts, crypto::ec_private_key key, std::string cert_pem,
         std::string cert_der)
        : options(std::move(opts)),
          signing_key(std::move(key)),
          signing_certificate_pem(std::move(cert_pem)),
          x5c(crypto::base64_encode(cert_der)),
          users(options.users),
          expires_in(options.expires_in.count()) {}

    response handle(const request& req);
    std::vector<resource_scope> grant(const std::string& user,
                                      const std::vector<resource_scope>& requested) const;
    crypto::result<std::string> make_token(const std::string& user, const std::string& audience,
                                           const std::vector<resource_scope>& granted,
                                           std::time_t now, long long lifetime) const;
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve_plain(tcp::socket socket);
    asio::awaitable<void> serve_tls(tcp::socket socket);
    template <class Stream>
    asio::awaitable<void> serve_requests(Stream& stream);

    const token_server_options options;
    const crypto::ec_private_key signing_key;
    const std::string signing_certificate_pem;
    const std::string x5c;  // standard base64 of the DER certificate, as RFC 7515 §4.1.6 says
    std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP

    mutable std::mutex mutex;
    std::map<std::string, std::string> users;   // guarded by mutex
    std::vector<token_request_record> records;  // guarded by mutex
    std::atomic<std::size_t> issued{0};
    std::atomic<long long> expires_in;

    // Declared last: destroying the io_context destroys suspended session coroutines,
    // which still refer to `tls`.
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::uint16_t port = 0;
    std::thread thread;
};

std::vector<resource_scope> token_server::impl::grant(
    const std::string& user, const std::vector<resource_scope>& requested) const {
    std::vector<resource_scope> granted;
    for (const auto& scope : requested) {
        std::vector<std::string> actions;
        if (options.grant) {
            actions = options.grant(user, scope);
        } else if (!user.empty()) {
            actions = scope.actions;
        } else if (options.anonymous_pull && scope.type == "repository" &&
                   std::find(scope.actions.begin(), scope.actions.end(), "pull") !=
                       scope.actions.end()) {
            actions = {"pull"};
        }
        if (actions.empty()) {
            continue;
        }
        // One entry per resource: repeated scopes for the same repository are merged.
        auto same = std::find_if(granted.begin(), granted.end(), [&](const resource_scope& g) {
            return g.type == scope.type && g.name == scope.name;
        });
        if (same == granted.end()) {
            granted.push_back({scope.type, scope.name, {}});
            same = granted.end() - 1;
        }
        for (auto& action : actions) {
            if (std::find(same->actions.begin(), same->actions.end(), action) ==
                same->actions.end()) {
                same->actions.push_back(std::move(action));
            }
        }
    }
    return granted;
}

crypto::result<std::string> token_server::impl::make_token(
    const std::string& user, const std::string& audience,
    const std::vector<resource_scope>& granted, std::time_t now, long long lifetime) const {
    // docker-registry 2.8 (registry/auth/token/token.go) decodes `aud` into a Go string,
    // so it must be a string here, not the array RFC 7519 also allows. It verifies the
    // x5c chain against rootcertbundle, then the ES256 signature with libtrust, which
    // wants the raw 64-byte r||s form.
    const json header = {{"typ", "JWT"}, {"alg", "ES256"}, {"x5c", json::array({x5c})}};
    const json claims = {
        {"iss", options.issuer},
        {"sub", user},
        {"aud", audience},
        {"exp", static_cast<long long>(now) + lifetime},
        {"nbf", static_cast<long long>(now)},
        {"iat", static_cast<long long>(now)},
        {"jti", random_hex(16)},
        {"access", access_claim(granted)},
    };
    const std::string signing_input =
        crypto::base64url_encode(dump(header)) + "." + crypto::base64url_encode(dump(claims));
    auto signature = signing_key.sign_raw(signing_input);
    if (!signature) {
        return signature.error();
    }
    return signing_input + "." + crypto::base64url_encode(*signature);
}

response token_server::impl::handle(const request& req) {
    const std::string_view target = req.target();
    const auto question = target.find('?');
    if (target.substr(0, question) != "/token") {
        return error_response(req, http::status::not_found, "NOT_FOUND", "no such endpoint");
    }
    if (req.method() != http::verb::get) {
        return error_response(req, http::status::method_not_allowed, "UNSUPPORTED",
                              "only GET /token is implemented");
    }

    token_request_record record;
    record.service = options.service;
    if (question != std::string_view::npos) {
        for (const auto& pair : split(target.substr(question + 1), '&')) {
            const auto equals = pair.find('=');
            const std::string key = percent_decode(pair.substr(0, equals));
            const std::string value =
                equals == std::string::npos ? "" : percent_decode(pair.substr(equals + 1));
            if (key == "service") {
                record.service = value;
            } else if (key == "scope") {
                // Docker repeats `scope`; some clients put several in one, space-separated.
                for (const auto& item : split(value, ' ')) {
                    if (auto scope = parse_scope(item)) {
                        record.scopes.push_back(std::move(*scope));
                    }
                }
            }
        }
    }
    auto finish = [&](response res) {
        record.status = static_cast<int>(res.result_int());
        std::lock_guard lock(mutex);
        records.push_back(std::move(record));
        return res;
    };

    if (auto auth = req.find(http::field::authorization); auth != req.end()) {
        const std::string_view value = auth->value();
        std::optional<std::string> decoded;
        if (value.size() > 6 && boost::beast::iequals(value.substr(0, 6), "Basic ")) {
            std::string_view credentials = value.substr(6);
            while (!credentials.empty() && credentials.front() == ' ') {
                credentials.remove_prefix(1);
            }
            decoded = crypto::base64_decode(credentials);
        }
        const auto colon = decoded ? decoded->find(':') : std::string::npos;
        bool valid = false;
        if (colon != std::string::npos) {
            const std::string user = decoded->substr(0, colon);
            std::lock_guard lock(mutex);
            const auto account = users.find(user);
            valid = account != users.end() && account->second == decoded->substr(colon + 1);
            if (valid) {
                record.user = user;
            }
        }
        if (!valid) {
            response res = error_response(req, http::status::unauthorized, "UNAUTHORIZED",
                                          "authentication required");
            res.set(http::field::www_authenticate, "Basic realm=\"hoist test token server\"");
            return finish(std::move(res));
        }
    }

    record.granted = grant(record.user, record.scopes);
    const std::time_t now = std::time(nullptr);
    const long long lifetime = expires_in.load();
    auto token = make_token(record.user, record.service, record.granted, now, lifetime);
    if (!token) {
        return finish(error_response(req, http::status::internal_server_error, "INTERNAL",
                                     token.error().message()));
    }
    response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = dump(json{{"token", *token},
                           {"access_token", *token},
                           {"expires_in", lifetime},
                           {"issued_at", rfc3339(now)}});
    issued.fetch_add(1);
    return finish(std::move(res));
}

// lifetime: `stream` is owned by the calling session coroutine, which awaits this one.
template <class Stream>
asio::awaitable<void> token_server::impl::serve_requests(Stream& stream) {
    boost::beast::flat_buffer buffer;
    while (true) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(16 * 1024);
        auto [read_error, read_bytes] =
            co_await http::async_read(stream, buffer, parser, net::use_nothrow);
        if (read_error) {
            co_return;  // closed, or not HTTP: drop the connection
        }
        const request req = parser.release();
        response res = handle(req);
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [write_error, write_bytes] = co_await http::async_write(stream, res, net::use_nothrow);
        if (write_error || !res.keep_alive()) {
            co_return;
        }
    }
}

asio::awaitable<void> token_server::impl::serve_plain(tcp::socket socket) {
    co_await serve_requests(socket);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> token_server::impl::serve_tls(tcp::socket socket) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    auto [handshake_error] =
        co_await stream.async_handshake(asio::ssl::stream_base::server, net::use_nothrow);
    if (handshake_error) {
        co_return;
    }
    co_await serve_requests(stream);
    // No close_notify: responses are length-delimited, and a client that never answers
    // it must not keep this coroutine alive.
}

asio::awaitable<void> token_server::impl::accept_loop() {
    while (true) {
        auto [error, socket] = co_await acceptor.async_accept(net::use_nothrow);
        if (error == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (error) {
            // EMFILE and friends: back off instead of spinning.
            asio::steady_timer backoff(io, std::chrono::milliseconds(50));
            co_await backoff.async_wait(net::use_nothrow);
            continue;
        }
        // Sessions are owned by the io_context: stop() ends them all at once.
        auto session = tls ? serve_tls(std::move(socket)) : serve_plain(std::move(socket));
        asio::co_spawn(io, std::move(session), abort_on_exception);
    }
}

token_server::token_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

token_server::~token_server() {
    stop();
}

result<std::shared_ptr<token_server>> token_server::start(token_server_options options) {
    using namespace std::chrono_literals;
    auto signer = crypto::make_self_signed_cert("hoist test token signer", {}, {}, 24h * 30);
    if (!signer) {
        return failure{signer.error(), "token signing certificate"};
    }
    auto key = crypto::ec_private_key::from_pem(signer->private_key_pem);
    auto der = crypto::certificate_der_from_pem(signer->certificate_pem);
    if (!key || !der) {
        return failure{key ? der.error() : key.error(), "token signing certificate"};
    }
    const bool use_tls = !options.tls_certificate_pem.empty();
    if (use_tls == options.tls_private_key_pem.empty()) {
        return fail(errc::bad_options, "token server: TLS needs both a certificate and a key");
    }
    auto state = std::make_unique<impl>(std::move(options), std::move(*key),
                                        std::move(signer->certificate_pem), std::move(*der));
    boost::system::error_code ec;
    if (use_tls) {
        state->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        const auto& opts = state->options;
        state->tls->use_certificate_chain(asio::buffer(opts.tls_certificate_pem), ec);
        if (!ec) {
            state->tls->use_private_key(asio::buffer(opts.tls_private_key_pem),
                                        asio::ssl::context::pem, ec);
        }
        if (ec) {
            return fail(errc::bad_options, "token server TLS identity: " + ec.message());
        }
    }
    const tcp::endpoint loopback(asio::ip::address_v4::loopback(), 0);
    if (state->acceptor.open(loopback.protocol(), ec); !ec) {
        if (state->acceptor.bind(loopback, ec); !ec) {
            state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
    }
    if (ec) {
        return failure{ec, "token server: listen on 127.0.0.1"};
    }
    state->port = state->acceptor.local_endpoint(ec).port();
    asio::co_spawn(state->io, state->accept_loop(), abort_on_exception);
    impl* running = state.get();
    state->thread = std::thread([running] { running->io.run(); });
    return std::shared_ptr<token_server>(new token_server(std::move(state)));
}

void token_server::stop() {
    // The io_context stops between handlers; suspended sessions are destroyed with it.
    impl_->io.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

std::uint16_t token_server::port() const {
    return impl_->port;
}

std::string token_server::realm() const {
    return std::string(impl_->tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + "/token";
}

const std::string& token_server::service() const {
    return impl_->options.service;
}
const std::string& token_server::issuer() const {
    return impl_->options.issuer;
}

const std::string& token_server::signing_certificate_pem() const {
    return impl_->signing_certificate_pem;
}

void token_server::add_user(std::string user, std::string password) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[std::move(user)] = std::move(password);
}

void token_server::set_expires_in(std::chrono::seconds lifetime) {
    impl_->expires_in.store(lifetime.count());
}

std::size_t token_server::tokens_issued() const {
    return impl_->issued.load();
}

std::vector<token_request_record> token_server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->records;
}

}  // namespace hoist::testkit
