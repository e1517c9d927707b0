// SPDX-License-Identifier: Apache-2.0
/// The plain data of HTTP messages, shared by the HTTP/1.1 and HTTP/2 paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net {

struct header {
    std::string name;  ///< lower-case: HTTP/2 requires it and HTTP/1.1 does not mind
    std::string value;
};
using header_list = std::vector<header>;

/// The value of the first header named `name` (case-insensitive), if any.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name);

/// Case-insensitive ASCII comparison, as HTTP field names need.
bool iequals(std::string_view a, std::string_view b);

/// The start of a request; the body, if any, is streamed separately.
struct request_head {
    std::string method;
    std::string path;  ///< origin-form: "/v2/repo/manifests/tag?x=y"
    header_list headers;
    /// Body length when known in advance; nullopt streams it (HTTP/1.1 chunked).
    std::optional<std::uint64_t> content_length;
};

struct response_head {
    int status = 0;
    header_list headers;
    /// From Content-Length when the server sent one.
    std::optional<std::uint64_t> content_length;
};

}  // namespace hoist::net
