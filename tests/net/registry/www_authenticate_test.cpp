// SPDX-License-Identifier: Apache-2.0
#include "net/registry/www_authenticate.hpp"

#include <gtest/gtest.h>

namespace hoist::net::registry {
namespace {

using params = std::map<std::string, std::string>;

std::vector<auth_challenge> parse_ok(std::string_view text) {
    auto r = parse_www_authenticate(text);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message());
    return r ? *r : std::vector<auth_challenge>{};
}

std::string parse_error(std::string_view text) {
    auto r = parse_www_authenticate(text);
    EXPECT_FALSE(r.has_value()) << text;
    if (r) {
        return {};
    }
    EXPECT_TRUE(r.error().is(errc::bad_auth_challenge)) << text;
    return r.error().detail;
}

TEST(WwwAuthenticate, DockerHubBearer) {
    auto c = parse_ok(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:samalba/my-app:pull,push")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "bearer");
    EXPECT_EQ(c[0].params, (params{{"realm", "https://auth.docker.io/token"},
                                   {"service", "registry.docker.io"},
                                   {"scope", "repository:samalba/my-app:pull,push"}}));
    EXPECT_EQ(c[0].token68, "");
}

TEST(WwwAuthenticate, Basic) {
    auto c = parse_ok(R"(Basic realm="Registry Realm")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "basic");
    EXPECT_EQ(c[0].params, (params{{"realm", "Registry Realm"}}));
}

TEST(WwwAuthenticate, SchemeAndParamNamesAreCaseInsensitive) {
    auto c = parse_ok(R"(BEARER Realm="https://r/token", SERVICE=reg)");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "bearer");
    EXPECT_EQ(c[0].params, (params{{"realm", "https://r/token"}, {"service", "reg"}}));
}

TEST(WwwAuthenticate, ValuesKeepTheirCase) {
    auto c = parse_ok(R"(Basic realm="MiXeD Case")");
    EXPECT_EQ(c.at(0).params.at("realm"), "MiXeD Case");
}

TEST(WwwAuthenticate, SeveralChallengesInOneValue) {
    auto c = parse_ok(
        R"(Basic realm="simple", Bearer realm="https://a/t", service="s", Newauth realm="apps", )"
        R"(type=1, title="Login to \"apps\"")");
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].scheme, "basic");
    EXPECT_EQ(c[0].params, (params{{"realm", "simple"}}));
    EXPECT_EQ(c[1].scheme, "bearer");
    EXPECT_EQ(c[1].params, (params{{"realm", "https://a/t"}, {"service", "s"}}));
    EXPECT_EQ(c[2].scheme, "newauth");
    EXPECT_EQ(c[2].params,
              (params{{"realm", "apps"}, {"type", "1"}, {"title", "Login to \"apps\""}}));
}

TEST(WwwAuthenticate, ChallengesWithoutParams) {
    auto c = parse_ok("Negotiate, Basic realm=x, NTLM");
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].scheme, "negotiate");
    EXPECT_TRUE(c[0].params.empty());
    EXPECT_EQ(c[1].params, (params{{"realm", "x"}}));
    EXPECT_EQ(c[2].scheme, "ntlm");
}

TEST(WwwAuthenticate, QuotedStringEscapes) {
    auto c = parse_ok(R"(Bearer realm="a\"b\\c\d,e;f=g", service="")");
    EXPECT_EQ(c.at(0).params.at("realm"), R"(a"b\cd,e;f=g)");
    EXPECT_EQ(c.at(0).params.at("service"), "");
}

TEST(WwwAuthenticate, WhitespaceVariants) {
    auto c = parse_ok(" \tBearer   realm = \"r\" ,\tservice\t=\ts , , scope=\"x\"  ");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].params, (params{{"realm", "r"}, {"service", "s"}, {"scope", "x"}}));
    auto tight = parse_ok(R"(Bearer realm="r",service="s")");
    EXPECT_EQ(tight.at(0).params, (params{{"realm", "r"}, {"service", "s"}}));
}

TEST(WwwAuthenticate, EmptyListElementsAreSkipped) {
    auto c = parse_ok(R"(, ,Basic realm="a",, ,Bearer realm="b",)");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].scheme, "basic");
    EXPECT_EQ(c[1].scheme, "bearer");
}

TEST(WwwAuthenticate, InsufficientScopeError) {
    auto c = parse_ok(R"(Bearer realm="https://auth.example/token",service="reg",)"
                      R"(scope="repository:a/b:pull,push",error="insufficient_scope")");
    EXPECT_EQ(c.at(0).params.at("error"), "insufficient_scope");
    EXPECT_EQ(c.at(0).params.at("scope"), "repository:a/b:pull,push");
}

TEST(WwwAuthenticate, Token68) {
    auto c = parse_ok("Negotiate YWxhZGRpbjpvcGVuc2VzYW1l==, Basic realm=\"r\"");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].scheme, "negotiate");
    EXPECT_EQ(c[0].token68, "YWxhZGRpbjpvcGVuc2VzYW1l==");
    EXPECT_TRUE(c[0].params.empty());
    EXPECT_EQ(c[1].scheme, "basic");

    EXPECT_EQ(parse_ok("Negotiate a-b._~+/c").at(0).token68, "a-b._~+/c");
    // "abc=" could be a parameter without value; for other schemes it is token68.
    EXPECT_EQ(parse_ok("Negotiate Zm9vYmE=").at(0).token68, "Zm9vYmE=");
    EXPECT_EQ(parse_ok("Negotiate Zm9vYmE= , Basic").size(), 2u);
}

TEST(WwwAuthenticate, MissingScheme) {
    EXPECT_NE(parse_error(R"(realm="https://auth/token")").find("missing scheme"),
              std::string::npos);
    EXPECT_NE(parse_error(R"(Basic, realm="x")").find("missing scheme"), std::string::npos);
    EXPECT_NE(parse_error(R"(="x")").find("auth scheme"), std::string::npos);
}

TEST(WwwAuthenticate, UnterminatedQuote) {
    std::string detail = parse_error(R"(Bearer realm="https://auth/token, service=x)");
    EXPECT_NE(detail.find("unterminated quoted string"), std::string::npos) << detail;
    EXPECT_NE(detail.find("offset 13"), std::string::npos) << detail;
    EXPECT_NE(parse_error(R"(Bearer realm="abc\)").find("unterminated"), std::string::npos);
}

TEST(WwwAuthenticate, ParameterWithoutValue) {
    EXPECT_NE(parse_error("Bearer realm=").find("parameter 'realm' has no value"),
              std::string::npos);
    EXPECT_NE(parse_error("Bearer realm=, service=x").find("'realm' has no value"),
              std::string::npos);
    EXPECT_NE(parse_error(R"(Bearer realm="r", service=)").find("'service' has no value"),
              std::string::npos);
    EXPECT_NE(parse_error(R"(Basic realm=)").find("has no value"), std::string::npos);
    EXPECT_NE(parse_error(R"(Bearer realm="r", service=,)").find("has no value"),
              std::string::npos);
}

TEST(WwwAuthenticate, Garbage) {
    for (std::string_view bad : {
             R"(Bearer "realm")",
             R"(Bearer realm="r" service="s")",  // missing comma
             R"(Bearer realm="r"x)",
             "Bearer realm=a b",
             "Bearer realm=@",
             "Bearer realm==",
             "Negotiate abc==def",
             "Negotiate abc=d=",
             "Bearer\x01",
             "Bearer@ realm=x",
             "Bearer realm=\"a\x01b\"",
             R"(Bearer realm="r", @)",
             "Bearer realm=\"r\",\tservice=\"s\";",
         }) {
        auto r = parse_www_authenticate(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_TRUE(r.error().is(errc::bad_auth_challenge)) << bad;
        EXPECT_NE(r.error().detail.find("offset"), std::string::npos) << r.error().detail;
    }
}

TEST(WwwAuthenticate, EmptyValue) {
    EXPECT_NE(parse_error("").find("no challenge"), std::string::npos);
    EXPECT_NE(parse_error("  , ,").find("no challenge"), std::string::npos);
}

TEST(WwwAuthenticate, RepeatedParameter) {
    std::string detail = parse_error(R"(Bearer realm="a", Realm="b")");
    EXPECT_NE(detail.find("'realm' repeated"), std::string::npos) << detail;
}

TEST(WwwAuthenticate, DetailNamesCharacter) {
    std::string detail = parse_error("Bearer realm=\"r\" \x7f");
    EXPECT_NE(detail.find("byte 0x7f"), std::string::npos) << detail;
}

TEST(PickChallenge, PrefersBearerOverBasic) {
    auto c = parse_ok(R"(Basic realm="b", Negotiate, Bearer realm="t")");
    const auth_challenge* picked = pick_challenge(c);
    ASSERT_NE(picked, nullptr);
    EXPECT_EQ(picked->scheme, "bearer");
    EXPECT_EQ(picked, &c[2]);
}

TEST(PickChallenge, FallsBackToBasicThenNothing) {
    auto basic = parse_ok(R"(Negotiate, Basic realm="b")");
    ASSERT_NE(pick_challenge(basic), nullptr);
    EXPECT_EQ(pick_challenge(basic)->scheme, "basic");
    EXPECT_EQ(pick_challenge(parse_ok("Negotiate abc, NTLM")), nullptr);
    EXPECT_EQ(pick_challenge({}), nullptr);
}

TEST(PickChallenge, FirstOfSeveralBearers) {
    auto c = parse_ok(R"(Bearer realm="one", Bearer realm="two")");
    EXPECT_EQ(pick_challenge(c)->params.at("realm"), "one");
}

}  // namespace
}  // namespace hoist::net::registry
