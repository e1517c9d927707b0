// SPDX-License-Identifier: Apache-2.0
#include "net/h1_connection.hpp"

#include "net/with_deadline.hpp"

#include <algorithm>
#include <charconv>

namespace hoist::net {

namespace {

constexpr std::size_t max_head_size = 64u << 10;
constexpr std::size_t read_chunk = 64u << 10;
// Blob bodies arrive in pieces this large when the transport has them; fewer, larger
// pieces mean fewer resumptions along the copy path.
constexpr std::size_t body_read_chunk = 256u << 10;
// One TLS record's worth: pieces never start smaller.
constexpr std::size_t min_read_size = 16u << 10;

bool has_line_break(std::string_view s) {
    return s.find_first_of("\r\n") != std::string_view::npos;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

result<response_head> parse_h1_response_head(std::string_view text) {
    auto bad = [](std::string why) { return fail(errc::protocol_error, "HTTP/1.1: " + why); };
    response_head head;
    auto line_end = text.find("\r\n");
    std::string_view status_line = text.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
        return bad("malformed status line");
    }
    std::string_view code = status_line.substr(9, 3);
    auto [end, ec] = std::from_chars(code.data(), code.data() + 3, head.status);
    if (ec != std::errc() || end != code.data() + 3 || head.status < 100 || head.status > 599) {
        return bad("malformed status code");
    }
    std::size_t pos = line_end == std::string_view::npos ? text.size() : line_end + 2;
    while (pos < text.size()) {
        auto next = text.find("\r\n", pos);
        std::string_view line = text.substr(pos, next - pos);
        pos = next == std::string_view::npos ? text.size() : next + 2;
        if (line.empty()) {
            break;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            return bad("obsolete header line folding");
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return bad("malformed header line");
        }
        std::string name(line.substr(0, colon));
        std::transform(name.begin(), name.end(), name.begin(),
                       [](char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; });
        head.headers.push_back({std::move(name), std::string(trim(line.substr(colon + 1)))});
    }
    if (auto length = find_header(head.headers, "content-length")) {
        std::uint64_t value = 0;
        auto [e, err] = std::from_chars(length->data(), length->data() + length->size(), value);
        if (err != std::errc() || e != length->data() + length->size()) {
            return bad("malformed Content-Length");
        }
        head.content_length = value;
    }
    return head;
}

class h1_exchange final : public http_exchange {
public:
    h1_exchange(std::shared_ptr<h1_connection> conn, request_head head)
        : conn_(std::move(conn)), request_(std::move(head)) {
        head_only_ = request_.method == "HEAD";
        chunked_request_ = !request_.content_length.has_value();
    }

    ~h1_exchange() override { conn_->release(response_done_ && keep_alive_ && request_done_); }

    asio::awaitable<result<void>> write_body(std::span<const std::uint8_t> bytes,
                                             deadline until) override {
        if (auto r = co_await send_head(until); !r) {
            co_return r;
        }
        if (bytes.empty()) {
            co_return result<void>{};
        }
        if (chunked_request_) {
            char size_line[24];
            auto [end, ec] = std::to_chars(size_line, size_line + 16, bytes.size(), 16);
            std::string framed(size_line, end);
            framed += "\r\n";
            framed.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            framed += "\r\n";
            co_return co_await write(as_bytes(framed), until);
        }
        body_sent_ += bytes.size();
        if (body_sent_ > *request_.content_length) {
            co_return fail(errc::protocol_error, "request body longer than its Content-Length");
        }
        co_return co_await write(bytes, until);
    }

    asio::awaitable<result<void>> finish_body(deadline until) override {
        if (auto r = co_await send_head(until); !r) {
            co_return r;
        }
        if (request_done_) {
            co_return result<void>{};
        }
        if (chunked_request_) {
            if (auto r = co_await write(as_bytes("0\r\n\r\n"), until); !r) {
                co_return r;
            }
        } else if (body_sent_ != *request_.content_length) {
            co_return fail(errc::protocol_error, "request body shorter than its Content-Length");
        }
        request_done_ = true;
        co_return result<void>{};
    }

    asio::awaitable<result<response_head>> read_head(deadline until) override {
        if (!request_done_ && request_.content_length.value_or(1) == 0) {
            if (auto r = co_await finish_body(until); !r) {
                co_return r.error();
            }
        }
        for (;;) {
            auto& buffered = conn_->buffered_;
            auto end = buffered.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (buffered.size() > max_head_size) {
                    co_return fail_and_close(errc::protocol_error, "response head too large");
                }
                if (auto r = co_await fill(until, "waiting for response"); !r) {
                    co_return r.error();
                }
                continue;
            }
            auto head = parse_h1_response_head(std::string_view(buffered).substr(0, end + 2));
            buffered.erase(0, end + 4);
            if (!head) {
                conn_->close();
                co_return with_context(head.error(), conn_->transport_->where().to_string());
            }
            if (head->status < 200) {
                continue;  // 100 Continue and friends: the final head follows
            }
            setup_body(*head);
            co_return std::move(*head);
        }
    }

    asio::awaitable<result<std::string>> read_body(deadline until) override {
        for (;;) {
            if (response_done_) {
                co_return std::string();
            }
            auto& buffered = conn_->buffered_;
            switch (framing_) {
                case framing::none:
                    response_done_ = true;
                    co_return std::string();
                case framing::length: {
                    if (!buffered.empty()) {
                        std::size_t n = std::min<std::uint64_t>(remaining_, buffered.size());
                        std::string chunk;
                        if (n == buffered.size()) {
                            chunk.swap(buffered);
                        } else {
                            chunk = buffered.substr(0, n);
                            buffered.erase(0, n);
                        }
                        remaining_ -= n;
                        response_done_ = remaining_ == 0;
                        co_return chunk;
                    }
                    // Nothing buffered: the bytes go from the transport straight into the
                    // piece handed out, the path every large blob takes.
                    auto chunk = co_await read_into_new_string(
                        until, std::min<std::uint64_t>(remaining_, body_read_chunk));
                    if (!chunk) {
                        if (chunk.error().is(errc::connection_closed)) {
                            co_return fail(errc::truncated_body,
                                           conn_->transport_->where().to_string() +
                                               ": response body cut short");
                        }
                        co_return chunk.error();
                    }
                    remaining_ -= chunk->size();
                    response_done_ = remaining_ == 0;
                    co_return std::move(*chunk);
                }
                case framing::until_close: {
                    if (!buffered.empty()) {
                        co_return std::exchange(buffered, std::string());
                    }
                    auto r = co_await fill(until, "reading response body");
                    if (!r) {
                        if (r.error().is(errc::connection_closed)) {
                            response_done_ = true;
                            keep_alive_ = false;
                            co_return std::string();
                        }
                        co_return r.error();
                    }
                    continue;
                }
                case framing::chunked: {
                    auto piece = take_chunked();
                    if (!piece) {
                        co_return piece.error();
                    }
                    if (!piece->empty() || response_done_) {
                        co_return std::move(*piece);
                    }
                    break;
                }
            }
            if (auto r = co_await fill(until, "reading response body"); !r) {
                if (r.error().is(errc::connection_closed)) {
                    co_return fail(errc::truncated_body, conn_->transport_->where().to_string() +
                                                             ": response body cut short");
                }
                co_return r.error();
            }
        }
    }

private:
    enum class framing { none, length, chunked, until_close };
    enum class chunk_state { size_line, data, data_end, trailers };

    void setup_body(const response_head& head) {
        auto connection = find_header(head.headers, "connection");
        keep_alive_ = !(connection && iequals(*connection, "close"));
        auto transfer = find_header(head.headers, "transfer-encoding");
        if (head_only_ || head.status == 204 || head.status == 304) {
            framing_ = framing::none;
        } else if (transfer && iequals(trim(*transfer), "chunked")) {
            framing_ = framing::chunked;
        } else if (head.content_length) {
            framing_ = *head.content_length == 0 ? framing::none : framing::length;
            remaining_ = *head.content_length;
        } else {
            framing_ = framing::until_close;
            keep_alive_ = false;
        }
        if (framing_ == framing::none) {
            response_done_ = true;
        }
    }

    // Decodes as much chunked body as is buffered. An empty result with !response_done_
    // means more bytes are needed.
    result<std::string> take_chunked() {
        auto& buffered = conn_->buffered_;
        std::string out;
        for (;;) {
            switch (chunk_state_) {
                case chunk_state::size_line: {
                    auto end = buffered.find("\r\n");
                    if (end == std::string::npos) {
                        if (buffered.size() > 1024) {
                            return fail_and_close(errc::protocol_error, "malformed chunk size");
                        }
                        return out;
                    }
                    std::string_view line(buffered.data(), end);
                    line = line.substr(0, line.find(';'));  // chunk extensions
                    line = trim(line);
                    std::uint64_t size = 0;
                    auto [e, ec] =
                        std::from_chars(line.data(), line.data() + line.size(), size, 16);
                    if (ec != std::errc() || e != line.data() + line.size() || line.empty()) {
                        return fail_and_close(errc::protocol_error, "malformed chunk size");
                    }
                    buffered.erase(0, end + 2);
                    remaining_ = size;
                    chunk_state_ = size == 0 ? chunk_state::trailers : chunk_state::data;
                    break;
                }
                case chunk_state::data: {
                    if (buffered.empty()) {
                        return out;
                    }
                    std::size_t n = std::min<std::uint64_t>(remaining_, buffered.size());
                    out.append(buffered, 0, n);
                    buffered.erase(0, n);
                    remaining_ -= n;
                    if (remaining_ == 0) {
                        chunk_state_ = chunk_state::data_end;
                    }
                    break;
                }
                case chunk_state::data_end: {
                    if (buffered.size() < 2) {
                        return out;
                    }
                    if (buffered.compare(0, 2, "\r\n") != 0) {
                        return fail_and_close(errc::protocol_error, "malformed chunk end");
                    }
                    buffered.erase(0, 2);
                    chunk_state_ = chunk_state::size_line;
                    break;
                }
                case chunk_state::trailers: {
                    auto end = buffered.find("\r\n");
                    if (end == std::string::npos) {
                        return out;
                    }
                    buffered.erase(0, end + 2);
                    if (end == 0) {
                        response_done_ = true;
                        return out;
                    }
                    break;
                }
            }
        }
    }

    asio::awaitable<result<void>> send_head(deadline until) {
        if (head_sent_) {
            co_return result<void>{};
        }
        head_sent_ = true;
        const origin& where = conn_->transport_->where();
        std::string text = request_.method + " " + request_.path +
                           " HTTP/1.1\r\nHost: " + where.authority() + "\r\n";
        if (has_line_break(request_.method) || has_line_break(request_.path)) {
            co_return fail(errc::bad_url, "line break in request target");
        }
        for (const auto& h : request_.headers) {
            if (has_line_break(h.name) || has_line_break(h.value)) {
                co_return fail(errc::protocol_error, "line break in header " + h.name);
            }
            text += h.name + ": " + h.value + "\r\n";
        }
        if (request_.content_length) {
            if (*request_.content_length > 0 || request_.method == "PUT" ||
                request_.method == "POST" || request_.method == "PATCH") {
                text += "Content-Length: " + std::to_string(*request_.content_length) + "\r\n";
            }
            if (*request_.content_length == 0) {
                request_done_ = true;
            }
        } else {
            text += "Transfer-Encoding: chunked\r\n";
        }
        text += "\r\n";
        co_return co_await write(as_bytes(text), until);
    }

    asio::awaitable<result<void>> write(std::span<const std::uint8_t> bytes, deadline until) {
        auto r = co_await with_deadline(conn_->transport_->write(bytes), until,
                                        conn_->transport_->where().to_string() + ": sending");
        if (!r) {
            conn_->close();
        }
        co_return r;
    }

    asio::awaitable<result<void>> fill(deadline until, std::string what) {
        auto chunk = co_await read_into_new_string(until, read_chunk, std::move(what));
        if (!chunk) {
            co_return chunk.error();
        }
        if (conn_->buffered_.empty()) {
            conn_->buffered_.swap(*chunk);
        } else {
            conn_->buffered_ += *chunk;
        }
        co_return result<void>{};
    }

    /// One read of at most `size` bytes from the transport, as a string of its own.
    asio::awaitable<result<std::string>> read_into_new_string(
        deadline until, std::size_t size, std::string what = "reading response body") {
        std::string chunk(std::min(size, conn_->next_read_size_), '\0');
        auto n = co_await with_deadline(
            conn_->transport_->read_some(
                std::span(reinterpret_cast<std::uint8_t*>(chunk.data()), chunk.size())),
            until, conn_->transport_->where().to_string() + ": " + what);
        if (!n) {
            conn_->close();
            co_return n.error();
        }
        chunk.resize(*n);
        // Twice what this read brought: a stream that fills its pieces grows them up to
        // the caller's size, a slow one keeps them near what arrives at a time.
        conn_->next_read_size_ = std::clamp<std::size_t>(2 * *n, min_read_size, body_read_chunk);
        co_return chunk;
    }

    failure fail_and_close(errc code, std::string what) {
        conn_->close();
        return fail(code, conn_->transport_->where().to_string() + ": " + what);
    }

    std::shared_ptr<h1_connection> conn_;
    request_head request_;
    bool head_only_ = false;
    bool chunked_request_ = false;
    bool head_sent_ = false;
    bool request_done_ = false;
    std::uint64_t body_sent_ = 0;
    framing framing_ = framing::none;
    chunk_state chunk_state_ = chunk_state::size_line;
    std::uint64_t remaining_ = 0;
    bool response_done_ = false;
    bool keep_alive_ = true;
};

h1_connection::h1_connection(std::unique_ptr<transport> transport,
                             std::function<void()> on_capacity)
    : transport_(std::move(transport)), on_capacity_(std::move(on_capacity)) {}

h1_connection::~h1_connection() {
    if (open_) {
        transport_->close();
    }
}

result<std::unique_ptr<http_exchange>> h1_connection::start(request_head head) {
    if (!open_ || busy_) {
        return fail(errc::refused_stream, "HTTP/1.1 connection busy");
    }
    busy_ = true;
    return std::unique_ptr<http_exchange>(new h1_exchange(shared_from_this(), std::move(head)));
}

void h1_connection::close() {
    if (open_) {
        open_ = false;
        transport_->close();
    }
}

void h1_connection::drain() {
    draining_ = true;
    if (!busy_) {
        close();
    }
}

void h1_connection::release(bool reusable) {
    busy_ = false;
    if (!reusable || draining_) {
        close();
    }
    if (on_capacity_) {
        on_capacity_();
    }
}

}  // namespace hoist::net
