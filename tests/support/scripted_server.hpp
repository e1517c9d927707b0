// SPDX-License-Identifier: Apache-2.0
/// A plain-HTTP/1.1 server on 127.0.0.1 that answers with a script, for the failures a
/// real registry cannot be made to produce: malformed challenges, pagination loops,
/// redirects to another host, bodies cut short. It runs on its own thread.
#pragma once

#include "net/http_types.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hoist::testsupport {

struct scripted_request {
    std::string method;
    std::string target;
    net::header_list headers;  ///< names lower-cased
    std::string body;
};

struct scripted_response {
    int status = 200;
    net::header_list headers;
    std::string body;
    /// Announce the whole body's length but close the connection after this many bytes.
    std::optional<std::size_t> cut_after;
    /// Send the body with Transfer-Encoding: chunked (with extensions and a trailer).
    bool chunked = false;
};

inline scripted_response reply(int status, net::header_list headers = {}, std::string body = {}) {
    return scripted_response{status, std::move(headers), std::move(body), std::nullopt, false};
}

class scripted_server {
public:
    using handler = std::function<scripted_response(const scripted_request&)>;

    explicit scripted_server(handler respond);
    ~scripted_server();
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    std::uint16_t port() const;
    /// "127.0.0.1:PORT".
    std::string host_port() const;
    /// Every request received so far.
    std::vector<scripted_request> requests() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace hoist::testsupport
