// SPDX-License-Identifier: Apache-2.0
#include "net/h2_session.hpp"

#include <nghttp2/nghttp2.h>

#include <charconv>
#include <cstring>

namespace hoist::net {

// The nghttp2 callbacks. Each is noexcept, never re-enters the session, and turns any
// failure into NGHTTP2_ERR_CALLBACK_FAILURE after storing it (first error wins); `feed`
// and `produce` then return the stored error.
struct h2_callbacks {
    static h2_session& self(void* user_data) { return *static_cast<h2_session*>(user_data); }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t, void* user_data) noexcept {
        if (frame->hd.type != NGHTTP2_HEADERS) {
            return 0;
        }
        auto* s = self(user_data).find(frame->hd.stream_id);
        if (s == nullptr || s->head_complete) {
            return 0;  // trailers, or a stream nobody waits for
        }
        std::string_view n(reinterpret_cast<const char*>(name), namelen);
        std::string_view v(reinterpret_cast<const char*>(value), valuelen);
        try {
            if (n == ":status") {
                int status = 0;
                auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), status);
                if (ec != std::errc() || end != v.data() + v.size()) {
                    self(user_data).record_failure(
                        fail(errc::protocol_error, "HTTP/2 :status is not a number"));
                    return NGHTTP2_ERR_CALLBACK_FAILURE;
                }
                s->status = status;
            } else if (!n.empty() && n.front() != ':') {
                if (s->headers.empty()) {
                    s->headers.reserve(16);  // registries send about ten
                }
                s->headers.push_back(header{std::string(n), std::string(v)});
            }
        } catch (const std::bad_alloc&) {
            self(user_data).record_failure(fail(errc::protocol_error, "out of memory"));
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                             void* user_data) noexcept {
        auto& session = self(user_data);
        switch (frame->hd.type) {
            case NGHTTP2_HEADERS: {
                auto* s = session.find(frame->hd.stream_id);
                if (s == nullptr) {
                    return 0;
                }
                if (!s->head_complete) {
                    if (s->status >= 200) {
                        s->head_complete = true;
                    } else {
                        // An interim 1xx response: the final head follows.
                        s->status = 0;
                        s->headers.clear();
                    }
                }
                if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
                    s->remote_ended = true;
                }
                session.listener_.on_stream_activity(frame->hd.stream_id);
                return 0;
            }
            case NGHTTP2_DATA: {
                auto* s = session.find(frame->hd.stream_id);
                if (s != nullptr && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
                    s->remote_ended = true;
                    session.listener_.on_stream_activity(frame->hd.stream_id);
                }
                return 0;
            }
            case NGHTTP2_GOAWAY:
                session.goaway_received_ = true;
                session.goaway_last_stream_id_ = frame->goaway.last_stream_id;
                session.listener_.on_session_activity();
                return 0;
            case NGHTTP2_SETTINGS:
                if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
                    session.peer_settings_received_ = true;
                }
                session.listener_.on_session_activity();
                return 0;
            default:
                return 0;
        }
    }

    static int on_data_chunk(nghttp2_session* ng, std::uint8_t, std::int32_t stream_id,
                             const std::uint8_t* data, std::size_t len, void* user_data) noexcept {
        auto& session = self(user_data);
        auto* s = session.find(stream_id);
        if (s == nullptr) {
            // Nobody will read these bytes: give the window back at once.
            nghttp2_session_consume(ng, stream_id, len);
            return 0;
        }
        try {
            s->body.append(reinterpret_cast<const char*>(data), len);
        } catch (const std::bad_alloc&) {
            session.record_failure(fail(errc::protocol_error, "out of memory"));
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        session.listener_.on_stream_activity(stream_id);
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                               void* user_data) noexcept {
        auto& session = self(user_data);
        if (session.open_streams_ > 0) {
            --session.open_streams_;
        }
        if (auto* s = session.find(stream_id)) {
            s->closed = true;
            s->close_code = error_code;
            session.listener_.on_stream_activity(stream_id);
        }
        session.listener_.on_session_activity();
        return 0;
    }

    // nghttp2 reports stream and connection errors here and handles them itself (RST_STREAM
    // or GOAWAY). We keep the last message so that `feed` can say why a session died.
    static int on_error(nghttp2_session*, int, const char* msg, std::size_t len,
                        void* user_data) noexcept {
        try {
            self(user_data).last_error_.assign(msg, len);
        } catch (const std::bad_alloc&) {
            return 0;  // only a diagnostic is lost
        }
        return 0;
    }

    // DATA frames as large as the peer accepts (up to our cap), not nghttp2's default 16 KiB.
    static ssize_t data_length(nghttp2_session*, std::uint8_t, std::int32_t,
                               std::int32_t session_window, std::int32_t stream_window,
                               std::uint32_t remote_max_frame_size, void* user_data) noexcept {
        std::int64_t cap = self(user_data).settings_.max_frame_size;
        std::int64_t length =
            std::min<std::int64_t>({cap, remote_max_frame_size, session_window, stream_window});
        return static_cast<ssize_t>(std::max<std::int64_t>(length, 1));
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf,
                             std::size_t length, std::uint32_t* data_flags, nghttp2_data_source*,
                             void* user_data) noexcept {
        auto& session = self(user_data);
        auto* s = session.find(stream_id);
        if (s == nullptr) {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets only this stream
        }
        std::size_t available = s->pending_out_size();
        if (available == 0) {
            if (s->out_ended) {
                *data_flags |= NGHTTP2_DATA_FLAG_EOF;
                return 0;
            }
            s->out_deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
        std::size_t n = std::min(available, length);
        std::memcpy(buf, s->pending_out.data() + s->pending_offset, n);
        s->pending_offset += n;
        if (s->pending_offset == s->pending_out.size()) {
            s->pending_out.clear();
            s->pending_offset = 0;
        }
        if (s->pending_out_size() == 0 && s->out_ended) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        }
        // Room freed in the body queue: a writer waiting for it may go on.
        session.listener_.on_stream_activity(stream_id);
        return static_cast<ssize_t>(n);
    }
};

namespace {

nghttp2_session* make_client_session(h2_session* owner) {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
        throw std::bad_alloc();
    }
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &h2_callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &h2_callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                              &h2_callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                           &h2_callbacks::on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(callbacks, &h2_callbacks::on_error);
    nghttp2_session_callbacks_set_data_source_read_length_callback(callbacks,
                                                                   &h2_callbacks::data_length);

    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
        nghttp2_session_callbacks_del(callbacks);
        throw std::bad_alloc();
    }
    // We reopen the window only as the consumer takes bytes: that is the memory bound.
    nghttp2_option_set_no_auto_window_update(option, 1);

    nghttp2_session* session = nullptr;
    int rv = nghttp2_session_client_new2(&session, callbacks, owner, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) {
        throw std::bad_alloc();
    }
    return session;
}

}  // namespace

h2_session::h2_session(h2_session_listener& listener, h2_settings settings)
    : listener_(listener),
      settings_(settings),
      session_(make_client_session(this), &nghttp2_session_del) {
    const nghttp2_settings_entry entries[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.max_header_list_size},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.max_frame_size},
    };
    nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, entries,
                            sizeof(entries) / sizeof(entries[0]));
    nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(settings.connection_window));
}

h2_session::~h2_session() = default;

h2_stream_state* h2_session::find(std::int32_t stream_id) {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : it->second.get();
}

const h2_stream_state* h2_session::stream(std::int32_t stream_id) const {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : it->second.get();
}

void h2_session::record_failure(failure f) {
    if (!callback_failure_) {
        callback_failure_ = std::move(f);
    }
}

result<std::int32_t> h2_session::submit_request(std::string_view method, std::string_view scheme,
                                                std::string_view authority, std::string_view path,
                                                const header_list& headers, bool has_body) {
    if (draining()) {
        return fail(errc::refused_stream, "HTTP/2 connection is going away");
    }
    auto make_nv = [](std::string_view name, std::string_view value) {
        return nghttp2_nv{
            const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
            const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())),
            name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
    };
    // Reused: nghttp2 copies the header fields during submit, so one buffer serves all.
    thread_local std::vector<nghttp2_nv> nva;
    nva.clear();
    nva.push_back(make_nv(":method", method));
    nva.push_back(make_nv(":scheme", scheme));
    nva.push_back(make_nv(":authority", authority));
    nva.push_back(make_nv(":path", path));
    for (const auto& h : headers) {
        nva.push_back(make_nv(h.name, h.value));
    }

    nghttp2_data_provider provider{};
    provider.read_callback = &h2_callbacks::read_body;
    std::int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(),
                                             has_body ? &provider : nullptr, nullptr);
    if (id < 0) {
        if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
            return fail(errc::refused_stream, "HTTP/2 stream ids exhausted");
        }
        return fail(errc::protocol_error,
                    std::string("HTTP/2 request not submitted: ") + nghttp2_strerror(id));
    }
    auto state = std::make_unique<h2_stream_state>();
    state->has_body = has_body;
    streams_.emplace(id, std::move(state));
    ++open_streams_;
    return id;
}

void h2_session::write_body(std::int32_t stream_id, std::span<const std::uint8_t> bytes) {
    auto* s = find(stream_id);
    if (s == nullptr || s->closed || s->out_ended) {
        return;
    }
    s->pending_out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (s->out_deferred) {
        s->out_deferred = false;
        nghttp2_session_resume_data(session_.get(), stream_id);
    }
}

void h2_session::end_body(std::int32_t stream_id) {
    auto* s = find(stream_id);
    if (s == nullptr || s->closed || s->out_ended) {
        return;
    }
    s->out_ended = true;
    if (s->out_deferred) {
        s->out_deferred = false;
        nghttp2_session_resume_data(session_.get(), stream_id);
    }
}

header_list h2_session::take_headers(std::int32_t stream_id) {
    auto* s = find(stream_id);
    return s == nullptr ? header_list() : std::move(s->headers);
}

std::string h2_session::take_body(std::int32_t stream_id, std::size_t max) {
    auto* s = find(stream_id);
    if (s == nullptr || s->body_size() == 0) {
        return {};
    }
    std::string out;
    if (s->body_offset == 0 && s->body.size() <= max) {
        out = std::move(s->body);
        s->body.clear();
    } else {
        std::size_t n = std::min(max, s->body_size());
        out.assign(s->body, s->body_offset, n);
        s->body_offset += n;
        if (s->body_offset == s->body.size()) {
            s->body.clear();
            s->body_offset = 0;
        } else if (s->body_offset > s->body.size() / 2) {
            // Drop the taken half now and then: amortised O(1) per byte.
            s->body.erase(0, s->body_offset);
            s->body_offset = 0;
        }
    }
    nghttp2_session_consume(session_.get(), stream_id, out.size());
    return out;
}

void h2_session::reset(std::int32_t stream_id, std::uint32_t code) {
    auto* s = find(stream_id);
    if (s != nullptr && !s->closed) {
        nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream_id, code);
    }
}

void h2_session::forget(std::int32_t stream_id) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) {
        return;
    }
    auto& s = *it->second;
    if (!s.closed) {
        nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    }
    if (s.body_size() > 0) {
        nghttp2_session_consume(session_.get(), stream_id, s.body_size());
    }
    streams_.erase(it);
}

result<void> h2_session::feed(std::span<const std::uint8_t> bytes) {
    ssize_t rv = nghttp2_session_mem_recv(session_.get(), bytes.data(), bytes.size());
    if (callback_failure_) {
        return *callback_failure_;
    }
    if (rv < 0) {
        return fail(errc::protocol_error,
                    std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
    }
    return {};
}

failure h2_session::end_reason() const {
    if (!goaway_received_ && !last_error_.empty()) {
        return fail(errc::protocol_error, "HTTP/2 connection error: " + last_error_);
    }
    return fail(errc::connection_closed, "HTTP/2 session ended");
}

result<void> h2_session::produce(std::string& out, std::size_t limit) {
    while (out.size() < limit) {
        const std::uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
        if (callback_failure_) {
            return *callback_failure_;
        }
        if (n < 0) {
            return fail(errc::protocol_error,
                        std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
        }
        if (n == 0) {
            break;
        }
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return {};
}

void h2_session::ping() {
    nghttp2_submit_ping(session_.get(), NGHTTP2_FLAG_NONE, nullptr);
}

void h2_session::shutdown() {
    if (!goaway_sent_) {
        goaway_sent_ = true;
        // A plain GOAWAY, not nghttp2_session_terminate_session: terminating drops every
        // frame still queued (resets of abandoned streams, say), and the open streams
        // deserve to finish. The session ends once no stream is left (want_read() == 0).
        // Last stream id 0: as a client we accepted no pushed streams.
        nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
    }
}

bool h2_session::wants_write() const {
    return nghttp2_session_want_write(session_.get()) != 0;
}

bool h2_session::wants_read() const {
    return nghttp2_session_want_read(session_.get()) != 0;
}

std::uint32_t h2_session::peer_max_concurrent_streams() const {
    return nghttp2_session_get_remote_settings(session_.get(),
                                               NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool h2_session::draining() const {
    return goaway_received_ || goaway_sent_ ||
           nghttp2_session_get_next_stream_id(session_.get()) >= (1u << 31);
}

}  // namespace hoist::net
