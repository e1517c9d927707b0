// SPDX-License-Identifier: Apache-2.0
#include "net/h2_connection.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>

namespace hoist::net {

namespace {

constexpr std::size_t read_chunk = 64u << 10;
// Frames are gathered up to this size before one TLS write: fewer records, fewer syscalls.
constexpr std::size_t write_batch = 128u << 10;

std::optional<std::uint64_t> parse_content_length(const header_list& headers) {
    auto text = find_header(headers, "content-length");
    if (!text) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

class h2_exchange final : public http_exchange {
public:
    h2_exchange(std::shared_ptr<h2_connection> conn, std::int32_t id,
                asio::any_io_executor executor)
        : conn_(std::move(conn)), id_(id), wakeup_(std::move(executor)) {
        conn_->stream_wakeups_.emplace(id_, &wakeup_);
    }

    ~h2_exchange() override {
        conn_->stream_wakeups_.erase(id_);
        conn_->session_.forget(id_);
        conn_->kick_writer();
        conn_->on_session_activity();
    }

    asio::awaitable<result<void>> write_body(std::span<const std::uint8_t> bytes,
                                             deadline until) override {
        for (;;) {
            const h2_stream_state* s = conn_->session_.stream(id_);
            if (s == nullptr || s->closed) {
                co_return stream_failure("request body not sent");
            }
            if (conn_->dead_) {
                co_return *conn_->dead_;
            }
            std::size_t limit = conn_->limits_.body_queue_bytes;
            if (s->pending_out_size() < limit) {
                // Queue only what fits: the rest waits, so memory stays bounded however
                // large the piece the caller hands over.
                std::size_t n = std::min(bytes.size(), limit - s->pending_out_size());
                conn_->session_.write_body(id_, bytes.first(n));
                conn_->kick_writer();
                bytes = bytes.subspan(n);
                if (bytes.empty()) {
                    co_return result<void>{};
                }
                continue;
            }
            if (auto r = co_await park(until, "sending request body"); !r) {
                co_return r.error();
            }
        }
    }

    asio::awaitable<result<void>> finish_body(deadline) override {
        if (conn_->dead_) {
            co_return *conn_->dead_;
        }
        conn_->session_.end_body(id_);
        conn_->kick_writer();
        co_return result<void>{};
    }

    asio::awaitable<result<response_head>> read_head(deadline until) override {
        for (;;) {
            const h2_stream_state* s = conn_->session_.stream(id_);
            if (s == nullptr) {
                co_return fail(errc::stream_reset, "stream state lost");
            }
            if (s->head_complete) {
                auto content_length = parse_content_length(s->headers);
                co_return response_head{s->status, conn_->session_.take_headers(id_),
                                        content_length};
            }
            if (s->closed) {
                co_return stream_failure("no response");
            }
            if (conn_->dead_) {
                co_return *conn_->dead_;
            }
            if (auto r = co_await park(until, "waiting for response"); !r) {
                co_return r.error();
            }
        }
    }

    asio::awaitable<result<std::string>> read_body(deadline until) override {
        for (;;) {
            const h2_stream_state* s = conn_->session_.stream(id_);
            if (s == nullptr) {
                co_return fail(errc::stream_reset, "stream state lost");
            }
            if (s->body_size() > 0) {
                std::string chunk = conn_->session_.take_body(id_, conn_->limits_.body_piece_bytes);
                conn_->kick_writer();  // WINDOW_UPDATE may be due
                co_return chunk;
            }
            if (s->remote_ended) {
                co_return std::string();
            }
            if (s->closed) {
                co_return stream_failure("response body cut short");
            }
            if (conn_->dead_) {
                co_return *conn_->dead_;
            }
            if (auto r = co_await park(until, "reading response body"); !r) {
                co_return r.error();
            }
        }
    }

private:
    failure stream_failure(std::string_view what) const {
        const h2_stream_state* s = conn_->session_.stream(id_);
        if (conn_->dead_ && (s == nullptr || !s->closed || s->close_code == NGHTTP2_NO_ERROR)) {
            return *conn_->dead_;
        }
        std::uint32_t code = s ? s->close_code : std::uint32_t{NGHTTP2_INTERNAL_ERROR};
        std::string detail = conn_->transport_->where().to_string() + ": " + std::string(what) +
                             " (stream " + std::to_string(id_) +
                             " closed: " + nghttp2_http2_strerror(code) + ")";
        if (code == NGHTTP2_REFUSED_STREAM) {
            return fail(errc::refused_stream, std::move(detail));
        }
        return fail(errc::stream_reset, std::move(detail));
    }

    // Waits for stream activity. On deadline or cancellation the stream is reset, and only
    // the stream: the connection and its other requests carry on.
    asio::awaitable<result<void>> park(deadline until, std::string_view what) {
        auto [woken] = co_await wakeup_.async_wait(until);
        auto status = wait_status::expired;
        if (woken) {
            auto state = co_await asio::this_coro::cancellation_state;
            status = state.cancelled() == asio::cancellation_type::none ? wait_status::notified
                                                                        : wait_status::cancelled;
        }
        if (status == wait_status::notified) {
            co_return result<void>{};
        }
        conn_->session_.reset(id_, NGHTTP2_CANCEL);
        conn_->kick_writer();
        std::string detail = conn_->transport_->where().to_string() + ": " + std::string(what);
        co_return fail(status == wait_status::expired ? errc::timeout : errc::cancelled,
                       std::move(detail));
    }

    std::shared_ptr<h2_connection> conn_;
    std::int32_t id_;
    wakeup wakeup_;
};

h2_connection::h2_connection(std::unique_ptr<transport> transport, h2_limits limits,
                             std::function<void()> on_capacity)
    : transport_(std::move(transport)),
      limits_(limits),
      authority_(transport_->where().authority()),
      session_(*this, limits.session),
      on_capacity_(std::move(on_capacity)),
      writer_wakeup_(transport_->executor()),
      read_buffer_(read_chunk),
      watchdog_wakeup_(transport_->executor()) {}

h2_connection::~h2_connection() = default;

void h2_connection::run(task_tracker& tasks) {
    tasks.spawn(read_loop(shared_from_this()));
    tasks.spawn(write_loop(shared_from_this()));
    tasks.spawn(watchdog(shared_from_this()));
}

asio::awaitable<result<void>> h2_connection::wait_ready(deadline until) {
    while (!session_.peer_settings_received()) {
        if (dead_) {
            co_return *dead_;
        }
        auto status = co_await activity_.wait(until);
        if (status == wait_status::expired) {
            co_return fail(errc::timeout,
                           transport_->where().to_string() + ": no HTTP/2 SETTINGS from peer");
        }
        if (status == wait_status::cancelled) {
            co_return fail(errc::cancelled, transport_->where().to_string());
        }
    }
    co_return result<void>{};
}

bool h2_connection::has_capacity() const {
    if (dead_ || session_.draining()) {
        return false;
    }
    std::uint32_t limit = std::min(limits_.max_streams, session_.peer_max_concurrent_streams());
    return session_.open_streams() < limit;
}

bool h2_connection::is_open() const {
    return !dead_ && !session_.draining();
}

result<std::unique_ptr<http_exchange>> h2_connection::start(request_head head) {
    if (dead_) {
        return *dead_;
    }
    bool has_body = !head.content_length || *head.content_length > 0;
    if (head.content_length && has_body) {
        head.headers.push_back({"content-length", std::to_string(*head.content_length)});
    }
    auto id = session_.submit_request(head.method, transport_->where().scheme, authority_,
                                      head.path, head.headers, has_body);
    if (!id) {
        return id.error();
    }
    kick_writer();
    return std::unique_ptr<http_exchange>(
        new h2_exchange(shared_from_this(), *id, transport_->executor()));
}

void h2_connection::close() {
    die(fail(errc::connection_closed, transport_->where().to_string() + ": connection closed"));
}

void h2_connection::drain() {
    session_.shutdown();
    kick_writer();
    on_session_activity();
}

// `self` keeps the connection alive for as long as the loop runs.
asio::awaitable<void> h2_connection::read_loop(std::shared_ptr<h2_connection> /*self*/) {
    while (!dead_) {
        auto n = co_await transport_->read_some(read_buffer_);
        if (!n) {
            die(n.error());
            break;
        }
        last_read_ = clock::now();
        ping_outstanding_ = false;
        auto fed = session_.feed(std::span(read_buffer_.data(), *n));
        if (!fed) {
            die(with_context(fed.error(), transport_->where().to_string()));
            break;
        }
        kick_writer();  // SETTINGS ACKs, PING replies and window updates may be due
        if (!session_.wants_read() && !session_.wants_write()) {
            die(with_context(session_.end_reason(), transport_->where().to_string()));
        }
    }
}

asio::awaitable<void> h2_connection::write_loop(std::shared_ptr<h2_connection> /*self*/) {
    while (!dead_) {
        // Let every coroutine that is ready run first: their requests then leave in one
        // TLS write instead of one write each.
        co_await asio::post(transport_->executor(), asio::use_awaitable);
        auto produced = session_.produce(write_buffer_, write_batch);
        if (!produced) {
            die(with_context(produced.error(), transport_->where().to_string()));
            break;
        }
        if (write_buffer_.empty()) {
            if (!session_.wants_read() && !session_.wants_write()) {
                die(with_context(session_.end_reason(), transport_->where().to_string()));
                break;
            }
            co_await writer_wakeup_.wait(deadline());
            continue;
        }
        write_started_ = clock::now();
        auto written = co_await transport_->write(std::span(
            reinterpret_cast<const std::uint8_t*>(write_buffer_.data()), write_buffer_.size()));
        write_started_.reset();
        write_buffer_.clear();
        if (!written) {
            die(written.error());
            break;
        }
    }
}

// Wakes up a few times per stall period: a stuck write, or open streams with nothing
// received (a PING goes out at half time; its answer counts as something received).
asio::awaitable<void> h2_connection::watchdog(std::shared_ptr<h2_connection> /*self*/) {
    auto stall = limits_.stall_timeout;
    auto period = std::max<clock::duration>(stall / 4, std::chrono::milliseconds(10));
    while (!dead_) {
        co_await watchdog_wakeup_.wait(deadline::from_now(period));
        if (dead_) {
            break;
        }
        auto now = clock::now();
        if (write_started_ && now - *write_started_ > stall) {
            die(fail(errc::timeout, transport_->where().to_string() + ": write stalled"));
            break;
        }
        if (session_.open_streams() == 0) {
            last_read_ = now;  // idle is not stalled
            continue;
        }
        if (now - last_read_ > stall) {
            die(fail(errc::timeout,
                     transport_->where().to_string() + ": nothing received, connection stalled"));
            break;
        }
        if (now - last_read_ > stall / 2 && !ping_outstanding_) {
            ping_outstanding_ = true;
            session_.ping();
            kick_writer();
        }
    }
}

void h2_connection::on_stream_activity(std::int32_t stream_id) {
    if (auto it = stream_wakeups_.find(stream_id); it != stream_wakeups_.end()) {
        it->second->notify();
    }
}

void h2_connection::on_session_activity() {
    activity_.notify_all();
    if (on_capacity_) {
        on_capacity_();
    }
}

void h2_connection::die(failure why) {
    if (dead_) {
        return;
    }
    dead_ = std::move(why);
    transport_->close();
    writer_wakeup_.notify();
    watchdog_wakeup_.notify();
    for (auto& [id, w] : stream_wakeups_) {
        w->notify();
    }
    on_session_activity();
}

}  // namespace hoist::net
