// SPDX-License-Identifier: Apache-2.0
/// An HTTP/2 server over TLS on 127.0.0.1 that answers with a script, for what the real
/// registry will not do on demand: GOAWAY in the middle of a burst, a response that
/// never comes, a reset stream. Like Go's TLS servers (docker-registry among them), it
/// answers a plain-HTTP request with 400. It runs on its own thread.
#pragma once

#include "net/http_types.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hoist::testsupport {

struct h2_request {
    std::string method;
    std::string path;
    net::header_list headers;
    std::string body;
    std::int32_t stream_id = 0;
    std::size_t connection = 0;  ///< 1 for the first connection accepted, and so on
};

struct h2_response {
    int status = 200;
    net::header_list headers;
    std::string body;
    bool stall = false;  ///< never answer
    bool reset = false;  ///< RST_STREAM(INTERNAL_ERROR) instead of an answer
};

struct h2_server_options {
    std::uint32_t max_concurrent_streams = 100;
    /// On the first connection only: answer this many requests, then send GOAWAY naming
    /// the last of them and ignore the rest (which the client must retry elsewhere).
    std::optional<std::size_t> goaway_after;
    /// On the first connection only: after this many requests, stop reading and writing
    /// altogether (a peer that hangs without closing).
    std::optional<std::size_t> freeze_after;
    /// The first this many connections that start a TLS handshake are closed as soon as
    /// their ClientHello arrives (a registry that drops handshakes while overloaded).
    std::size_t drop_handshakes = 0;
};

class h2_test_server {
public:
    using handler = std::function<h2_response(const h2_request&)>;

    explicit h2_test_server(handler respond, h2_server_options options = {});
    ~h2_test_server();
    h2_test_server(const h2_test_server&) = delete;
    h2_test_server& operator=(const h2_test_server&) = delete;

    /// "127.0.0.1:PORT".
    std::string host_port() const;
    /// PEM file of the server's self-signed certificate, to trust with --ca-file.
    std::string ca_file() const;
    std::size_t connections_accepted() const;
    std::vector<h2_request> requests() const;
    /// Streams the client reset (stream id, connection), as the server saw them.
    std::vector<std::pair<std::int32_t, std::size_t>> resets_received() const;
    /// Waits (bounded) until the server has seen `count` resets: it runs on its own
    /// thread and may still be reading when the client is done.
    bool wait_for_resets(std::size_t count, std::chrono::milliseconds timeout) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace hoist::testsupport
