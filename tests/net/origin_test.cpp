// SPDX-License-Identifier: Apache-2.0
#include "net/origin.hpp"

#include <gtest/gtest.h>

namespace hoist::net {
namespace {

TEST(Url, ParsesSchemeHostPortAndTarget) {
    auto u = parse_url("https://registry.k8s.io:8443/v2/pause/tags/list?n=10");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->where.scheme, "https");
    EXPECT_EQ(u->where.host, "registry.k8s.io");
    EXPECT_EQ(u->where.port, 8443);
    EXPECT_EQ(u->target, "/v2/pause/tags/list?n=10");
    EXPECT_EQ(u->where.authority(), "registry.k8s.io:8443");
}

TEST(Url, DefaultsPortAndPath) {
    auto u = parse_url("http://127.0.0.1");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->where.port, 80);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->where.authority(), "127.0.0.1");
    EXPECT_EQ(parse_url("https://h?x=1")->target, "/?x=1");
}

TEST(Url, Ipv6Literal) {
    auto u = parse_url("https://[::1]:5000/v2/");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->where.host, "::1");
    EXPECT_EQ(u->where.port, 5000);
    EXPECT_EQ(u->where.authority(), "[::1]:5000");
    EXPECT_TRUE(is_loopback_host(u->where.host));
}

TEST(Url, RejectsMalformedAndUserinfo) {
    for (const char* bad : {"registry.k8s.io/v2/", "ftp://h/", "https://", "https://h:0/",
                            "https://h:99999/", "https://user:pw@h/", "https://[::1/"}) {
        auto u = parse_url(bad);
        EXPECT_FALSE(u.has_value()) << bad;
        if (!u) {
            EXPECT_TRUE(u.error().is(errc::bad_url));
        }
    }
}

TEST(Url, ResolvesLocationHeaders) {
    auto base = parse_url("https://r.example:5000/v2/a/blobs/uploads/").value();
    EXPECT_EQ(resolve_url(base, "/v2/a/blobs/uploads/123?_state=x")->target,
              "/v2/a/blobs/uploads/123?_state=x");
    auto other = resolve_url(base, "https://cdn.example/blob?sig=1").value();
    EXPECT_EQ(other.where.host, "cdn.example");
    EXPECT_EQ(other.where.port, 443);
    EXPECT_EQ(resolve_url(base, "123")->target, "/v2/a/blobs/uploads/123");
    EXPECT_EQ(resolve_url(base, "//cdn.example/x")->where.host, "cdn.example");
}

TEST(Url, Loopback) {
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("127.5.0.9"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_FALSE(is_loopback_host("10.0.0.1"));
    EXPECT_FALSE(is_loopback_host("registry.k8s.io"));
}

TEST(Url, LeavingTlsForAnotherMachineIsNoticed) {
    auto at = [](std::string_view text) { return parse_url(text).value().where; };
    EXPECT_TRUE(leaves_tls(at("https://registry.example"), at("http://registry.example")));
    EXPECT_TRUE(leaves_tls(at("https://registry.example"), at("http://10.0.0.1:5000")));
    EXPECT_FALSE(leaves_tls(at("https://registry.example"), at("https://cdn.example")));
    EXPECT_FALSE(leaves_tls(at("https://registry.example"), at("http://127.0.0.1:5000")));
    EXPECT_FALSE(leaves_tls(at("https://registry.example"), at("http://localhost/x")));
    EXPECT_FALSE(leaves_tls(at("http://registry.example"), at("http://cdn.example")));
}

}  // namespace
}  // namespace hoist::net
