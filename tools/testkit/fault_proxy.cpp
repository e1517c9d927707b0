// SPDX-License-Identifier: Apache-2.0
// The fault proxy: HTTP/1.1 in from the client (parsed by Beast), hoist's own http_client
// out to the registry, and a seeded generator that decides which requests go wrong.
#include "tools/testkit/fault_proxy.hpp"

#include "tools/testkit/referrers_api.hpp"

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/http_client.hpp"
#include "net/origin.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace hoist::testkit {
namespace {

namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;

constexpr std::size_t max_head_size = 64u << 10;
constexpr std::size_t fault_log_limit = 1000;
constexpr std::size_t kind_count = static_cast<std::size_t>(fault_kind::reset_body) + 1;
// Bounds on stop(): in-flight forwards get this long to finish before the client is shut
// down under them, and the whole shutdown this long before the io_context is stopped.
constexpr auto forward_grace = std::chrono::seconds(5);
constexpr auto shutdown_limit = std::chrono::seconds(15);

// Completion handler of every co_spawn here. Coroutines report errors as values; an
// exception reaching this point is a bug, and a half-dead proxy would make the tests
// that use it fail in confusing ways.
void abort_on_exception(std::exception_ptr failure) {
    if (!failure) {
        return;
    }
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fault_proxy: coroutine failed: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "fault_proxy: coroutine failed\n");
    }
    std::abort();
}

// splitmix64: tiny, and the same sequence on every platform and standard library, which
// std::uniform_real_distribution does not promise.
class generator {
public:
    explicit generator(std::uint64_t seed) : state_(seed) {}
    double uniform() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return static_cast<double>(z >> 11) * 0x1.0p-53;
    }

private:
    std::uint64_t state_;
};

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c + 32);
        }
    }
    return out;
}

// The lower-cased tokens of a Connection header: they name further hop-by-hop fields.
std::vector<std::string> connection_tokens(std::string_view value) {
    std::vector<std::string> tokens;
    while (!value.empty()) {
        auto comma = value.find(',');
        std::string_view token = value.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
        }
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
            token.remove_suffix(1);
        }
        if (!token.empty()) {
            tokens.push_back(lower(token));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return tokens;
}

bool is_hop_by_hop(const std::string& name, const std::vector<std::string>& listed) {
    static const std::set<std::string, std::less<>> fixed = {"connection",
                                                             "keep-alive",
                                                             "proxy-connection",
                                                             "proxy-authenticate",
                                                             "proxy-authorization",
                                                             "te",
                                                             "trailer",
                                                             "transfer-encoding",
                                                             "upgrade"};
    return fixed.count(name) != 0 || std::find(listed.begin(), listed.end(), name) != listed.end();
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 307:
            return "Temporary Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 404:
            return "Not Found";
        case 413:
            return "Payload Too Large";
        case 416:
            return "Range Not Satisfiable";
        case 429:
            return "Too Many Requests";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

// A canned answer with an OCI distribution error body.
net::http_response error_response(int status, std::string_view code, std::string_view message) {
    std::string body = R"({"errors":[{"code":")" + std::string(code) + R"(","message":")";
    for (char c : message) {
        if (c == '"' || c == '\\') {
            body += '\\';
            body += c;
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            body += c;
        }
    }
    body += R"(","detail":null}]})";
    net::http_response response;
    response.status = status;
    response.headers.push_back({"content-type", "application/json; charset=utf-8"});
    response.headers.push_back({"docker-distribution-api-version", "registry/2.0"});
    response.headers.push_back({"content-length", std::to_string(body.size())});
    response.body = std::move(body);
    return response;
}

struct session {
    session(tcp::socket s, std::size_t number)
        : socket(std::move(s)), timer(socket.get_executor()), id(number) {
        boost::system::error_code ignored;
        peer_port = socket.remote_endpoint(ignored).port();
    }
    tcp::socket socket;
    asio::steady_timer timer;  // stalls wait on it, so stop() can end them
    std::size_t id;            // in accept order, for the traffic log
    std::uint16_t peer_port = 0;
};

// Closes with an RST instead of a FIN, like a registry or balancer that crashed: the
// client's pending read fails at once with ECONNRESET.
void reset(session* s) {
    boost::system::error_code ignored;
    s->socket.set_option(asio::socket_base::linger(true, 0), ignored);
    s->socket.close(ignored);
}

void close(session* s) {
    boost::system::error_code ignored;
    s->socket.shutdown(tcp::socket::shutdown_both, ignored);
    s->socket.close(ignored);
}

}  // namespace

std::string_view fault_name(fault_kind kind) {
    switch (kind) {
        case fault_kind::none:
            return "none";
        case fault_kind::rate_limit:
            return "rate_limit";
        case fault_kind::unavailable:
            return "unavailable";
        case fault_kind::reset_before:
            return "reset_before";
        case fault_kind::reset_after:
            return "reset_after";
        case fault_kind::stall:
            return "stall";
        case fault_kind::stall_body:
            return "stall_body";
        case fault_kind::reset_body:
            return "reset_body";
    }
    return "unknown";
}

std::size_t fault_counts::of(fault_kind kind) const {
    switch (kind) {
        case fault_kind::none:
            return requests - faults();
        case fault_kind::rate_limit:
            return rate_limit;
        case fault_kind::unavailable:
            return unavailable;
        case fault_kind::reset_before:
            return reset_before;
        case fault_kind::reset_after:
            return reset_after;
        case fault_kind::stall:
            return stall;
        case fault_kind::stall_body:
            return stall_body;
        case fault_kind::reset_body:
            return reset_body;
    }
    return 0;
}

std::string fault_counts::to_string() const {
    return "requests=" + std::to_string(requests) + " forwarded=" + std::to_string(forwarded) +
           " upstream_errors=" + std::to_string(upstream_errors) +
           " rate_limit=" + std::to_string(rate_limit) +
           " unavailable=" + std::to_string(unavailable) +
           " reset_before=" + std::to_string(reset_before) +
           " reset_after=" + std::to_string(reset_after) + " stall=" + std::to_string(stall) +
           " stall_body=" + std::to_string(stall_body) +
           " reset_body=" + std::to_string(reset_body) +
           " upstream_refusals=" + std::to_string(upstream_refusals) +
           " refused=" + std::to_string(refused);
}

struct fault_proxy::impl {
    impl(fault_options opts, net::origin where)
        : options(std::move(opts)),
          upstream(std::move(where)),
          referrers(options.referrers_page_size),
          random(options.seed) {}

    fault_kind decide(const std::string& method, const std::string& target);
    /// Counts and logs a request whose head just came, and decides its fault (counted as
    /// injected by `note` once it is done to the request).
    fault_kind receive(const std::string& method, const std::string& target);
    void note(fault_kind kind, const std::string& method, const std::string& target);
    void trace(const session* s, std::string event);
    std::string rewrite_location(std::string_view value) const;
    std::string render(const net::http_response& response, bool head_request, bool closing) const;

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<session> s);
    asio::awaitable<void> serve_requests(session* s);
    // lifetime: `req` belongs to the caller's frame, which awaits the call.
    asio::awaitable<bool> handle(session* s, const request* req, fault_kind kind);
    asio::awaitable<net::result<net::http_response>> forward(const request* req);
    asio::awaitable<bool> write(session* s, std::string text);
    /// Says nothing for `stall_time` (stop() cuts it short), then closes the connection.
    asio::awaitable<void> go_silent(session* s);
    asio::awaitable<void> shutdown(std::shared_ptr<std::promise<void>> done);

    const fault_options options;
    const net::origin upstream;
    std::string own_base;  // "http://127.0.0.1:PORT"

    std::array<std::atomic<std::size_t>, kind_count> injected{};
    std::atomic<std::size_t> requests{0};
    std::atomic<std::size_t> forwarded{0};
    std::atomic<std::size_t> upstream_errors{0};
    std::atomic<std::size_t> upstream_refusals{0};
    std::atomic<std::size_t> refused{0};
    mutable std::mutex log_mutex;
    std::deque<std::string> log;      // guarded by log_mutex
    std::deque<std::string> traffic;  // guarded by log_mutex
    std::deque<seen_request> seen;    // guarded by log_mutex
    std::size_t accepted = 0;         // the io thread's alone

    // The io thread's alone.
    referrers_api referrers;  // used when options.referrers_api
    generator random;
    std::size_t faults_total = 0;
    std::unordered_map<std::string, int> streaks;  // method+target → faults in a row
    std::set<session*> sessions;
    std::size_t forwarding = 0;
    bool stopping = false;

    // Declared in this order so that the client is destroyed before the io_context its
    // connections live on, and the io_context (with any suspended session) last.
    asio::io_context io{1};
    std::unique_ptr<net::http_client> client;
    tcp::acceptor acceptor{io};
    std::uint16_t port = 0;
    std::thread thread;
};

fault_kind fault_proxy::impl::decide(const std::string& method, const std::string& target) {
    // Drawn for every request, faulted or not, so the sequence depends on the seed only.
    const double draw = random.uniform();
    bool eligible =
        (options.methods.empty() || std::find(options.methods.begin(), options.methods.end(),
                                              method) != options.methods.end()) &&
        (options.targets.empty() ||
         std::any_of(options.targets.begin(), options.targets.end(), [&](const std::string& part) {
             return target.find(part) != std::string::npos;
         }));
    if (!eligible || faults_total >= options.max_faults) {
        return fault_kind::none;
    }
    std::string key = method + " " + target;
    auto streak = streaks.find(key);
    if (streak != streaks.end() && streak->second >= options.max_consecutive) {
        streaks.erase(streak);
        return fault_kind::none;
    }
    const std::pair<fault_kind, double> table[] = {
        {fault_kind::rate_limit, options.rate_limit},
        {fault_kind::unavailable, options.unavailable},
        {fault_kind::reset_before, options.reset_before},
        {fault_kind::reset_after, options.reset_after},
        {fault_kind::stall, options.stall},
        {fault_kind::stall_body, options.stall_body},
        {fault_kind::reset_body, options.reset_body},
    };
    double edge = 0;
    for (const auto& [kind, probability] : table) {
        edge += probability;
        if (draw < edge) {
            ++streaks[key];
            ++faults_total;
            return kind;
        }
    }
    if (streak != streaks.end()) {
        streaks.erase(streak);
    }
    return fault_kind::none;
}

void fault_proxy::impl::note(fault_kind kind, const std::string& method,
                             const std::string& target) {
    injected[static_cast<std::size_t>(kind)].fetch_add(1);
    std::lock_guard lock(log_mutex);
    log.push_back(std::string(fault_name(kind)) + " " + method + " " + target);
    if (log.size() > fault_log_limit) {
        log.pop_front();
    }
}

void fault_proxy::impl::trace(const session* s, std::string event) {
    std::lock_guard lock(log_mutex);
    traffic.push_back("connection " + std::to_string(s->id) + " (client port " +
                      std::to_string(s->peer_port) + "): " + std::move(event));
    if (traffic.size() > fault_log_limit) {
        traffic.pop_front();
    }
}

std::string fault_proxy::impl::rewrite_location(std::string_view value) const {
    // The registry builds absolute URLs from the :authority it was asked with, which is
    // the upstream's; the client must come back through the proxy instead.
    const std::string authority = upstream.authority();
    for (std::string scheme : {"https://", "http://"}) {
        std::string base = scheme + authority;
        if (value.starts_with(base) && (value.size() == base.size() || value[base.size()] == '/' ||
                                        value[base.size()] == '?')) {
            return own_base + std::string(value.substr(base.size()));
        }
    }
    return std::string(value);
}

std::string fault_proxy::impl::render(const net::http_response& response, bool head_request,
                                      bool closing) const {
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                      std::string(reason_phrase(response.status)) + "\r\n";
    std::vector<std::string> listed;
    if (auto connection = response.header("connection")) {
        listed = connection_tokens(*connection);
    }
    std::optional<std::string> announced;
    for (const auto& h : response.headers) {
        std::string name = lower(h.name);
        if (name.empty() || name.front() == ':' || is_hop_by_hop(name, listed)) {
            continue;
        }
        if (name == "content-length") {
            announced = h.value;
            continue;
        }
        std::string value = name == "location" ? rewrite_location(h.value) : h.value;
        out += name + ": " + value + "\r\n";
    }
    const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
    if (head_request) {
        // A HEAD answer announces the length of what a GET would return.
        if (announced) {
            out += "content-length: " + *announced + "\r\n";
        }
    } else if (!bodiless) {
        out += "content-length: " + std::to_string(response.body.size()) + "\r\n";
    }
    if (closing) {
        out += "connection: close\r\n";
    }
    out += "\r\n";
    if (!head_request && !bodiless) {
        out += response.body;
    }
    return out;
}

asio::awaitable<bool> fault_proxy::impl::write(session* s, std::string text) {
    trace(s, "writes " + text.substr(0, text.find('\r')));
    auto [error, written] =
        co_await asio::async_write(s->socket, asio::buffer(text), net::use_nothrow);
    (void)written;
    co_return !error;
}

asio::awaitable<net::result<net::http_response>> fault_proxy::impl::forward(const request* req) {
    net::http_request out;
    out.method = std::string(req->method_string());
    out.target = net::url{upstream, std::string(req->target())};
    std::vector<std::string> listed = connection_tokens((*req)[http::field::connection]);
    for (const auto& field : *req) {
        std::string name = lower(field.name_string());
        // Host becomes the upstream's :authority; the lengths are the client's to set;
        // and http_client adds its own User-Agent.
        if (is_hop_by_hop(name, listed) || name == "host" || name == "content-length" ||
            name == "expect" || name == "user-agent") {
            continue;
        }
        out.headers.push_back({std::move(name), std::string(field.value())});
    }
    out.body = req->body();
    ++forwarding;
    forwarded.fetch_add(1);
    auto until = net::deadline::from_now(options.upstream_timeout);
    auto response = co_await client->send(out, until, options.max_body);
    --forwarding;
    co_return response;
}

asio::awaitable<void> fault_proxy::impl::go_silent(session* s) {
    s->timer.expires_after(options.stall_time);
    auto [ignored] = co_await s->timer.async_wait(net::use_nothrow);
    (void)ignored;
    close(s);
}

fault_kind fault_proxy::impl::receive(const std::string& method, const std::string& target) {
    requests.fetch_add(1);
    const fault_kind kind = decide(method, target);
    std::lock_guard lock(log_mutex);
    seen.push_back({std::chrono::steady_clock::now(), method, target, kind});
    if (seen.size() > fault_log_limit) {
        seen.pop_front();
    }
    return kind;
}

asio::awaitable<bool> fault_proxy::impl::handle(session* s, const request* req, fault_kind kind) {
    const std::string method(req->method_string());
    const std::string target(req->target());
    const bool head_request = method == "HEAD";
    const bool keep_alive = req->keep_alive() && !stopping;
    if (kind != fault_kind::none) {
        note(kind, method, target);
    }
    switch (kind) {
        case fault_kind::rate_limit: {
            auto answer = error_response(429, "TOOMANYREQUESTS",
                                         "too many requests (injected by hoist-faultproxy)");
            answer.headers.push_back({"retry-after", "1"});
            std::string text = render(answer, head_request, !keep_alive);
            bool written = co_await write(s, std::move(text));
            co_return written&& keep_alive;
        }
        case fault_kind::unavailable: {
            auto answer = error_response(503, "UNAVAILABLE",
                                         "service unavailable (injected by hoist-faultproxy)");
            std::string text = render(answer, head_request, !keep_alive);
            bool written = co_await write(s, std::move(text));
            co_return written&& keep_alive;
        }
        case fault_kind::reset_before:  // done on the head already; never comes here
            reset(s);
            co_return false;
        case fault_kind::reset_after: {
            auto response = co_await forward(req);
            if (!response) {
                upstream_errors.fetch_add(1);
            }
            reset(s);
            co_return false;
        }
        case fault_kind::stall: {
            co_await go_silent(s);
            co_return false;
        }
        case fault_kind::stall_body:
        case fault_kind::reset_body: {
            auto response = co_await forward(req);
            if (!response) {
                upstream_errors.fetch_add(1);
                close(s);
                co_return false;
            }
            std::string text = render(*response, head_request, true);
            std::size_t head_size = text.size() - (head_request ? 0 : response->body.size());
            text.resize(head_size + (head_request ? 0 : response->body.size() / 2));
            co_await write(s, std::move(text));
            if (kind == fault_kind::reset_body) {
                reset(s);
            } else {
                co_await go_silent(s);
            }
            co_return false;
        }
        case fault_kind::none:
            break;
    }
    if (options.referrers_api) {
        if (auto listing = referrers.answer(method, target)) {
            bool written = co_await write(s, render(*listing, head_request, !keep_alive));
            co_return written&& keep_alive;
        }
    } else if (options.referrers_refusal != 0 && target.find("/referrers/") != std::string::npos) {
        auto answer = error_response(options.referrers_refusal, "UNSUPPORTED",
                                     "no referrers API here (hoist-faultproxy)");
        bool written = co_await write(s, render(answer, head_request, !keep_alive));
        co_return written&& keep_alive;
    }
    auto response = co_await forward(req);
    net::http_response answer;
    if (response) {
        answer = std::move(*response);
        if (answer.status >= 400) {
            upstream_refusals.fetch_add(1);
        }
        if (options.referrers_api) {
            referrers.note_put(method, target, req->body(), (*req)[http::field::content_type],
                               answer);
        }
    } else {
        upstream_errors.fetch_add(1);
        answer = error_response(502, "UNAVAILABLE", "upstream: " + response.error().message());
    }
    std::string text = render(answer, head_request, !keep_alive);
    bool written = co_await write(s, std::move(text));
    co_return written&& keep_alive;
}

asio::awaitable<void> fault_proxy::impl::serve_requests(session* s) {
    boost::beast::flat_buffer buffer;
    auto [first_error, first] =
        co_await s->socket.async_read_some(buffer.prepare(4096), net::use_nothrow);
    if (first_error) {
        trace(s, "closed before a byte: " + first_error.message());
        co_return;
    }
    buffer.commit(first);
    char first_byte[8];
    std::snprintf(
        first_byte, sizeof first_byte, "0x%02x",
        first > 0 ? static_cast<unsigned char>(static_cast<const char*>(buffer.data().data())[0])
                  : 0u);
    trace(s, "first read " + std::to_string(first) + " bytes, starting " + first_byte);
    if (first > 0 && static_cast<const char*>(buffer.data().data())[0] == '\x16') {
        // A TLS ClientHello: answer as a plain-HTTP registry does, so clients fall back.
        refused.fetch_add(1);
        std::string refusal = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        co_await write(s, std::move(refusal));
        co_return;
    }
    const auto& parse_category = make_error_code(http::error::bad_method).category();
    while (!stopping) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(max_head_size));
        parser.body_limit(options.max_body);
        auto [head_error, head_bytes] =
            co_await http::async_read_header(s->socket, buffer, parser, net::use_nothrow);
        (void)head_bytes;
        if (head_error) {
            if (head_error.category() == parse_category &&
                head_error != http::error::end_of_stream &&
                head_error != http::error::partial_message) {
                refused.fetch_add(1);
                std::string refusal =
                    "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"
                    "connection: close\r\n\r\n";
                co_await write(s, std::move(refusal));
            }
            co_return;
        }
        // Decided on the head: a reset comes before the body is read, as a client streaming
        // a large body meets it, while still sending.
        const std::string method(parser.get().method_string());
        const std::string target(parser.get().target());
        const fault_kind kind = receive(method, target);
        if (kind == fault_kind::reset_before) {
            note(kind, method, target);
            reset(s);
            co_return;
        }
        if (boost::beast::iequals(parser.get()[http::field::expect], "100-continue")) {
            std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
            bool written = co_await write(s, std::move(interim));
            if (!written) {
                co_return;
            }
        }
        if (!parser.is_done()) {
            auto [body_error, body_bytes] =
                co_await http::async_read(s->socket, buffer, parser, net::use_nothrow);
            (void)body_bytes;
            if (body_error == http::error::body_limit) {
                auto answer = error_response(413, "SIZE_INVALID", "request body too large");
                std::string text = render(answer, false, true);
                co_await write(s, std::move(text));
                co_return;
            }
            if (body_error) {
                co_return;
            }
        }
        request req = parser.release();
        bool keep_going = co_await handle(s, &req, kind);
        if (!keep_going) {
            co_return;
        }
    }
}

asio::awaitable<void> fault_proxy::impl::serve(std::shared_ptr<session> s) {
    sessions.insert(s.get());
    co_await serve_requests(s.get());
    sessions.erase(s.get());
    close(s.get());
}

asio::awaitable<void> fault_proxy::impl::accept_loop() {
    while (true) {
        auto [error, socket] = co_await acceptor.async_accept(net::use_nothrow);
        if (error == asio::error::operation_aborted || !acceptor.is_open() || stopping) {
            co_return;
        }
        if (error) {
            // EMFILE and friends: back off instead of spinning.
            asio::steady_timer backoff(io, std::chrono::milliseconds(50));
            co_await backoff.async_wait(net::use_nothrow);
            continue;
        }
        auto s = std::make_shared<session>(std::move(socket), ++accepted);
        asio::co_spawn(io, serve(std::move(s)), abort_on_exception);
    }
}

asio::awaitable<void> fault_proxy::impl::shutdown(std::shared_ptr<std::promise<void>> done) {
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (session* s : sessions) {
        s->timer.cancel();
        close(s);
    }
    // Forwards in flight hold exchanges of the client: let them end before it goes.
    asio::steady_timer pause(io);
    auto give_up = net::deadline::from_now(forward_grace);
    while (forwarding > 0 && !give_up.expired()) {
        pause.expires_after(std::chrono::milliseconds(10));
        co_await pause.async_wait(net::use_nothrow);
    }
    co_await client->shutdown();
    give_up = net::deadline::from_now(std::chrono::seconds(2));
    while (!sessions.empty() && !give_up.expired()) {
        pause.expires_after(std::chrono::milliseconds(10));
        co_await pause.async_wait(net::use_nothrow);
    }
    done->set_value();
    io.stop();
}

fault_proxy::fault_proxy(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

fault_proxy::~fault_proxy() {
    stop();
}

result<std::unique_ptr<fault_proxy>> fault_proxy::start(std::string upstream, std::string ca_file,
                                                        fault_options options) {
    const double probabilities[] = {options.rate_limit,  options.unavailable, options.reset_before,
                                    options.reset_after, options.stall,       options.stall_body,
                                    options.reset_body};
    double sum = 0;
    for (double p : probabilities) {
        if (!(p >= 0 && p <= 1)) {
            return fail(errc::bad_options, "fault probabilities must be within [0, 1]");
        }
        sum += p;
    }
    if (sum > 1 + 1e-9) {
        return fail(errc::bad_options, "fault probabilities add up to more than 1");
    }
    if (options.max_consecutive < 0) {
        return fail(errc::bad_options, "max_consecutive must not be negative");
    }
    if (upstream.find("://") == std::string::npos) {
        upstream = "https://" + upstream;
    }
    auto parsed = net::parse_url(upstream);
    if (!parsed || (parsed->target != "/" && !parsed->target.empty())) {
        return fail(errc::bad_options, "upstream \"" + upstream + "\" is not an origin");
    }
    auto state = std::make_unique<impl>(std::move(options), parsed->where);
    net::http_client_options client_options;
    if (!ca_file.empty()) {
        client_options.tls.ca_files.push_back(std::move(ca_file));
    }
    client_options.user_agent = "hoist-faultproxy/0.1";
    state->client = std::make_unique<net::http_client>(state->io.get_executor(), client_options);

    boost::system::error_code ec;
    const tcp::endpoint loopback(asio::ip::address_v4::loopback(), 0);
    if (state->acceptor.open(loopback.protocol(), ec); !ec) {
        if (state->acceptor.bind(loopback, ec); !ec) {
            state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
    }
    if (ec) {
        return failure{ec, "fault proxy: listen on 127.0.0.1"};
    }
    state->port = state->acceptor.local_endpoint(ec).port();
    state->own_base = "http://127.0.0.1:" + std::to_string(state->port);
    asio::co_spawn(state->io, state->accept_loop(), abort_on_exception);
    impl* running = state.get();
    state->thread = std::thread([running] { running->io.run(); });
    return std::unique_ptr<fault_proxy>(new fault_proxy(std::move(state)));
}

void fault_proxy::stop() {
    if (!impl_->thread.joinable()) {
        return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    asio::co_spawn(impl_->io, impl_->shutdown(std::move(done)), abort_on_exception);
    if (finished.wait_for(shutdown_limit) != std::future_status::ready) {
        // Something upstream never ended: stop anyway; the io_context destroys the rest.
        impl_->io.stop();
    }
    impl_->thread.join();
}

std::uint16_t fault_proxy::port() const {
    return impl_->port;
}

std::string fault_proxy::host_port() const {
    return "127.0.0.1:" + std::to_string(impl_->port);
}

std::string fault_proxy::base_url() const {
    return impl_->own_base;
}

std::string fault_proxy::upstream() const {
    return impl_->upstream.to_string();
}

fault_counts fault_proxy::counts() const {
    fault_counts out;
    out.requests = impl_->requests.load();
    out.forwarded = impl_->forwarded.load();
    out.upstream_errors = impl_->upstream_errors.load();
    out.upstream_refusals = impl_->upstream_refusals.load();
    out.refused = impl_->refused.load();
    out.rate_limit = injected(fault_kind::rate_limit);
    out.unavailable = injected(fault_kind::unavailable);
    out.reset_before = injected(fault_kind::reset_before);
    out.reset_after = injected(fault_kind::reset_after);
    out.stall = injected(fault_kind::stall);
    out.stall_body = injected(fault_kind::stall_body);
    out.reset_body = injected(fault_kind::reset_body);
    return out;
}

std::size_t fault_proxy::injected(fault_kind kind) const {
    return impl_->injected[static_cast<std::size_t>(kind)].load();
}

std::size_t fault_proxy::requests() const {
    return impl_->requests.load();
}

std::vector<std::string> fault_proxy::fault_log() const {
    std::lock_guard lock(impl_->log_mutex);
    return {impl_->log.begin(), impl_->log.end()};
}

std::vector<std::string> fault_proxy::traffic_log() const {
    std::lock_guard lock(impl_->log_mutex);
    return {impl_->traffic.begin(), impl_->traffic.end()};
}

std::vector<seen_request> fault_proxy::request_log() const {
    std::lock_guard lock(impl_->log_mutex);
    return {impl_->seen.begin(), impl_->seen.end()};
}

}  // namespace hoist::testkit
