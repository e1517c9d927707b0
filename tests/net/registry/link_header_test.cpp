// SPDX-License-Identifier: Apache-2.0
#include "net/registry/link_header.hpp"

#include "net/origin.hpp"

#include <gtest/gtest.h>

namespace hoist::net::registry {
namespace {

std::optional<std::string> next_ok(std::string_view text) {
    auto r = next_link(text);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message());
    return r ? *r : std::nullopt;
}

TEST(LinkHeader, DistributionCatalog) {
    EXPECT_EQ(next_ok(R"(</v2/_catalog?last=b&n=2>; rel="next")"), "/v2/_catalog?last=b&n=2");
}

TEST(LinkHeader, AbsoluteTarget) {
    EXPECT_EQ(next_ok(R"(<https://r.example/v2/a/tags/list?n=100&last=v1.2>; rel="next")"),
              "https://r.example/v2/a/tags/list?n=100&last=v1.2");
}

TEST(LinkHeader, RelativeTargetResolvesAgainstRequest) {
    auto target = next_ok(R"(</v2/a/tags/list?last=x&n=2>; rel="next")");
    ASSERT_TRUE(target);
    auto base = parse_url("https://r.example:5000/v2/a/tags/list?n=2");
    ASSERT_TRUE(base);
    auto resolved = resolve_url(*base, *target);
    ASSERT_TRUE(resolved);
    EXPECT_EQ(resolved->where.authority(), "r.example:5000");
    EXPECT_EQ(resolved->target, "/v2/a/tags/list?last=x&n=2");
}

TEST(LinkHeader, NoNextMeansLastPage) {
    EXPECT_EQ(next_ok(""), std::nullopt);
    EXPECT_EQ(next_ok("  "), std::nullopt);
    EXPECT_EQ(next_ok(R"(</v2/_catalog?n=2>; rel="prev")"), std::nullopt);
    EXPECT_EQ(next_ok(R"(</a>; rel="nextpage", </b>; rel="prefetch")"), std::nullopt);
    EXPECT_EQ(next_ok("</a>"), std::nullopt);
}

TEST(LinkHeader, MultipleLinks) {
    EXPECT_EQ(next_ok(R"(</first>; rel="first", </p?a=1,2>; rel="prev", </n>; rel="next")"), "/n");
    EXPECT_EQ(next_ok(R"(</n1>; rel=next, </n2>; rel=next)"), "/n1");
}

TEST(LinkHeader, RelList) {
    EXPECT_EQ(next_ok(R"(</x>; rel="next prev")"), "/x");
    EXPECT_EQ(next_ok(R"(</x>; rel="prev   next")"), "/x");
    EXPECT_EQ(next_ok("</x>; rel=\"\tnext\t\""), "/x");
}

TEST(LinkHeader, UnquotedAndCaseInsensitiveRel) {
    EXPECT_EQ(next_ok("</x>; rel=next"), "/x");
    EXPECT_EQ(next_ok("</x>; REL=NeXt"), "/x");
    EXPECT_EQ(next_ok("</x>;rel=next"), "/x");
    EXPECT_EQ(next_ok("</x>  ;  rel = \"next\"  "), "/x");
}

TEST(LinkHeader, OtherParametersAndOnlyFirstRelCounts) {
    EXPECT_EQ(next_ok(R"(</x>; title="a; b, c"; rel="next"; type="text/plain")"), "/x");
    EXPECT_EQ(next_ok(R"(</x>; anchor; rel="next")"), "/x");
    EXPECT_EQ(next_ok(R"(</x>; rel="prev"; rel="next")"), std::nullopt);
    EXPECT_EQ(next_ok(R"(</x>; rel*=UTF-8''next)"), std::nullopt);
}

TEST(LinkHeader, CommasInsideTargetAndQuotes) {
    EXPECT_EQ(next_ok(R"(</a,b>; title="x, y", </c>; rel="next")"), "/c");
    EXPECT_EQ(next_ok(R"(</a,b>; rel="next")"), "/a,b");
}

TEST(LinkHeader, Malformed) {
    for (std::string_view bad : {
             R"(/v2/_catalog?n=2; rel="next")",   // no <>
             R"(</v2/_catalog?n=2; rel="next")",  // unterminated <
             R"(</a> rel="next")",                // missing ;
             R"(</a>; rel="next)",                // unterminated quote
             R"(</a>; ="next")",                  // no parameter name
             R"(</a>; rel=)",                     // no value
             R"(</a>; rel=@)",
             R"(</a b>; rel="next")",  // whitespace in target
             R"(</a>; rel="next" x)",
             R"(<>; rel="next")",  // empty target
         }) {
        auto r = next_link(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_TRUE(r.error().is(errc::bad_response)) << bad;
        EXPECT_NE(r.error().detail.find("Link header"), std::string::npos) << r.error().detail;
        EXPECT_NE(r.error().detail.find("offset"), std::string::npos) << r.error().detail;
    }
}

TEST(LinkHeader, ErrorDetails) {
    auto r = next_link(R"(</a>; rel="next)");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("unterminated quoted string at offset 10"), std::string::npos)
        << r.error().detail;
    auto empty = next_link("<>; rel=next");
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().detail.find("empty target"), std::string::npos);
    // An empty target that is not "next" is harmless.
    EXPECT_EQ(next_ok("<>; rel=self, </n>; rel=next"), "/n");
}

}  // namespace
}  // namespace hoist::net::registry
