// SPDX-License-Identifier: Apache-2.0
#include "net/h1_connection.hpp"

#include <gtest/gtest.h>

namespace hoist::net {
namespace {

TEST(H1ResponseHead, ParsesStatusAndFields) {
    auto head = parse_h1_response_head(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: https://cdn/x\r\n"
        "Content-Length:  0 \r\nDocker-Distribution-API-Version: registry/2.0\r\n\r\n");
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->status, 307);
    EXPECT_EQ(find_header(head->headers, "location").value(), "https://cdn/x");
    EXPECT_EQ(find_header(head->headers, "LOCATION").value(), "https://cdn/x");
    EXPECT_EQ(head->content_length, 0u);
    EXPECT_EQ(head->headers[2].name, "docker-distribution-api-version");
}

TEST(H1ResponseHead, RejectsMalformedHeads) {
    for (const char* bad :
         {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
          "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "garbage"}) {
        auto head = parse_h1_response_head(bad);
        EXPECT_FALSE(head.has_value()) << bad;
        if (!head) {
            EXPECT_TRUE(head.error().is(errc::protocol_error));
        }
    }
}

}  // namespace
}  // namespace hoist::net
