// SPDX-License-Identifier: Apache-2.0
#include "net/registry/token_cache.hpp"

#include <gtest/gtest.h>

namespace hoist::net::registry {
namespace {

using namespace std::chrono_literals;
using strings = std::vector<std::string>;

// A clock the test moves by hand.
struct fake_clock {
    token_clock::time_point now = token_clock::time_point(1'700'000'000s);
    token_cache::clock_function function() {
        return [this] { return now; };
    }
};

token_key key(strings scopes = {"repository:a/b:pull"}) {
    return token_key("https://auth.example/token", "registry.example", std::move(scopes));
}

TEST(Scopes, ScopeFor) {
    EXPECT_EQ(scope_for("samalba/my-app", false), "repository:samalba/my-app:pull");
    EXPECT_EQ(scope_for("samalba/my-app", true), "repository:samalba/my-app:pull,push");
    EXPECT_EQ(catalog_scope, "registry:catalog:*");
}

TEST(Scopes, MergeSameRepository) {
    EXPECT_EQ(merge_scopes({"repository:a:push", "repository:a:pull"}),
              strings{"repository:a:pull,push"});
    EXPECT_EQ(merge_scopes({"repository:a:pull", "repository:a:pull,push", "repository:a:pull"}),
              strings{"repository:a:pull,push"});
    EXPECT_EQ(merge_scopes({"repository:b:pull", "repository:a:pull", "registry:catalog:*"}),
              (strings{"registry:catalog:*", "repository:a:pull", "repository:b:pull"}));
    EXPECT_EQ(merge_scopes({"repository:a:pull,,push,", "repository:a:delete"}),
              strings{"repository:a:delete,pull,push"});
    // A resource type with a class keeps its own resource.
    EXPECT_EQ(merge_scopes({"repository(plugin):a:pull", "repository:a:push"}),
              (strings{"repository(plugin):a:pull", "repository:a:push"}));
    // Not "type:name:actions": kept as is, deduplicated.
    EXPECT_EQ(merge_scopes({"odd", "odd", "x:y"}), (strings{"odd", "x:y"}));
    EXPECT_EQ(merge_scopes({}), strings{});
}

TEST(TokenKey, EqualForEquivalentScopeLists) {
    EXPECT_EQ(key({"repository:a:pull", "repository:a:push"}), key({"repository:a:pull,push"}));
    EXPECT_EQ(key({"repository:b:pull", "repository:a:pull"}),
              key({"repository:a:pull", "repository:b:pull", "repository:a:pull"}));
    EXPECT_NE(key({"repository:a:pull"}), key({"repository:a:pull,push"}));
    EXPECT_NE(token_key("r", "s1", {}), token_key("r", "s2", {}));
    EXPECT_NE(token_key("r1", "s", {}), token_key("r2", "s", {}));
    EXPECT_EQ(key({"repository:a:push", "repository:a:pull"}).scopes(),
              strings{"repository:a:pull,push"});
}

TEST(TokenCache, FindsStoredToken) {
    fake_clock clock;
    token_cache cache(clock.function());
    EXPECT_FALSE(cache.find(key()));
    bearer_token stored = cache.store(key(), "tok", 300s);
    EXPECT_EQ(stored.expires_at, clock.now + 300s);
    auto found = cache.find(key());
    ASSERT_TRUE(found);
    EXPECT_EQ(found->token, "tok");
    EXPECT_EQ(found->expires_at, clock.now + 300s);
    // Same access spelled differently finds it too.
    EXPECT_TRUE(cache.find(token_key("https://auth.example/token", "registry.example",
                                     {"repository:a/b:pull", "repository:a/b:pull"})));
    EXPECT_FALSE(cache.find(key({"repository:a/b:pull,push"})));
    EXPECT_FALSE(cache.find(key({"repository:other:pull"})));
}

TEST(TokenCache, MarginIsTenSecondsForLongTokens) {
    fake_clock clock;
    token_cache cache(clock.function());
    cache.store(key(), "tok", 300s);
    clock.now += 290s;  // exactly 10 s left
    EXPECT_TRUE(cache.find(key()));
    clock.now += 1ns;
    EXPECT_FALSE(cache.find(key()));
}

TEST(TokenCache, MarginIsTenPercentForShortTokens) {
    fake_clock clock;
    token_cache cache(clock.function());
    cache.store(key(), "tok", 60s);  // margin 6 s
    clock.now += 54s;
    EXPECT_TRUE(cache.find(key()));
    clock.now += 1ms;
    EXPECT_FALSE(cache.find(key()));
}

TEST(TokenCache, MissingOrShortLifetimeBecomesSixtySeconds) {
    fake_clock clock;
    token_cache cache(clock.function());
    EXPECT_EQ(cache.store(key(), "a", 0s).expires_at, clock.now + 60s);
    EXPECT_EQ(cache.store(key(), "b", 5s).expires_at, clock.now + 60s);
    EXPECT_EQ(cache.store(key(), "c", -10s).expires_at, clock.now + 60s);
    clock.now += 50s;
    EXPECT_EQ(cache.find(key())->token, "c");
}

TEST(TokenCache, IssuedAtInThePastShortensLifetime) {
    fake_clock clock;
    token_cache cache(clock.function());
    auto stored = cache.store(key(), "tok", 300s, clock.now - 100s);
    EXPECT_EQ(stored.expires_at, clock.now + 200s);
    clock.now += 190s;
    EXPECT_TRUE(cache.find(key()));
    clock.now += 1s;
    EXPECT_FALSE(cache.find(key()));
}

TEST(TokenCache, IssuedAtInTheFutureIsNotTrusted) {
    fake_clock clock;
    token_cache cache(clock.function());
    auto stored = cache.store(key(), "tok", 300s, clock.now + 1h);
    EXPECT_EQ(stored.expires_at, clock.now + 300s);
}

TEST(TokenCache, AlreadyExpiredTokenIsNotFound) {
    fake_clock clock;
    token_cache cache(clock.function());
    cache.store(key(), "tok", 60s, clock.now - 1h);
    EXPECT_FALSE(cache.find(key()));
}

TEST(TokenCache, StoreReplaces) {
    fake_clock clock;
    token_cache cache(clock.function());
    cache.store(key(), "old", 300s);
    cache.store(key(), "new", 300s);
    EXPECT_EQ(cache.find(key())->token, "new");
    EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCache, Invalidate) {
    fake_clock clock;
    token_cache cache(clock.function());
    cache.store(key(), "tok", 300s);
    cache.store(key({"repository:x:pull"}), "other", 300s);
    cache.invalidate(key());
    EXPECT_FALSE(cache.find(key()));
    EXPECT_TRUE(cache.find(key({"repository:x:pull"})));
    cache.invalidate(key());  // nothing there: fine
}

TEST(TokenCache, InvalidateOnlyTheRejectedToken) {
    fake_clock clock;
    token_cache cache(clock.function());
    cache.store(key(), "fresh", 300s);
    // A request that used an older token got 401 after "fresh" was stored.
    cache.invalidate(key(), "stale");
    EXPECT_EQ(cache.find(key())->token, "fresh");
    cache.invalidate(key(), "fresh");
    EXPECT_FALSE(cache.find(key()));
}

TEST(TokenCache, ExpiredEntriesAreDropped) {
    fake_clock clock;
    token_cache cache(clock.function());
    for (int i = 0; i < 50; ++i) {
        cache.store(key({"repository:r" + std::to_string(i) + ":pull"}), "t", 60s);
    }
    clock.now += 1h;
    for (int i = 0; i < 1000; ++i) {
        cache.store(key({"repository:s" + std::to_string(i) + ":pull"}), "t", 60s);
        clock.now += 1s;
    }
    // Only tokens stored in the last minute can still be alive; sweeps keep the map within
    // a small multiple of that.
    EXPECT_LT(cache.size(), 300u);
    EXPECT_TRUE(cache.find(key({"repository:s999:pull"})));
}

TEST(TokenCache, DefaultClockIsSystemClock) {
    token_cache cache;
    auto stored = cache.store(key(), "tok", 120s);
    auto left = stored.expires_at - token_clock::now();
    EXPECT_GT(left, 100s);
    EXPECT_LE(left, 120s);
    EXPECT_TRUE(cache.find(key()));
}

// ---- token endpoint responses ----

TEST(TokenResponse, DockerHub) {
    auto r = parse_token_response(
        R"({"token":"eyJhbGciOiJSUzI1NiJ9.e30.sig","access_token":"eyJhbGciOiJSUzI1NiJ9.e30.sig",)"
        R"("expires_in":300,"issued_at":"2024-03-01T12:34:56.789123456Z"})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->token, "eyJhbGciOiJSUzI1NiJ9.e30.sig");
    EXPECT_EQ(r->expires_in, 300s);
    ASSERT_TRUE(r->issued_at);
    // 2024-03-01T12:34:56Z is 1709296496 s after the epoch.
    EXPECT_EQ(*r->issued_at, token_clock::time_point(1709296496s + 789123456ns));
    EXPECT_FALSE(r->refresh_token);
}

TEST(TokenResponse, TokenOrAccessToken) {
    EXPECT_EQ(parse_token_response(R"({"token":"a"})")->token, "a");
    EXPECT_EQ(parse_token_response(R"({"access_token":"b"})")->token, "b");
    EXPECT_EQ(parse_token_response(R"({"token":"a","access_token":"b"})")->token, "b");
    EXPECT_EQ(parse_token_response(R"({"access_token":"b","token":"a"})")->token, "b");
    EXPECT_EQ(parse_token_response(R"({"token":"a","access_token":""})")->token, "a");
    EXPECT_EQ(parse_token_response(R"({"token":"a","access_token":null})")->token, "a");
}

TEST(TokenResponse, DefaultsAndOptionalFields) {
    auto r = parse_token_response(R"({"token":"a"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->expires_in, 60s);
    EXPECT_FALSE(r->issued_at);
    EXPECT_FALSE(r->refresh_token);
    auto oauth =
        parse_token_response(R"({"access_token":"a","scope":"repository:x:pull","expires_in":900,)"
                             R"("refresh_token":"r3fr3sh","issued_at":null,"unknown":{"n":[1]}})");
    ASSERT_TRUE(oauth);
    EXPECT_EQ(oauth->expires_in, 900s);
    EXPECT_EQ(oauth->refresh_token, "r3fr3sh");
    EXPECT_EQ(parse_token_response(R"({"token":"a","expires_in":0})")->expires_in, 60s);
    EXPECT_EQ(parse_token_response(R"({"token":"a","expires_in":-5})")->expires_in, 60s);
    EXPECT_EQ(parse_token_response(R"({"token":"a","expires_in":120.9})")->expires_in, 120s);
    EXPECT_EQ(parse_token_response(R"({"token":"a","expires_in":1e12})")->expires_in, 86400s);
}

TEST(TokenResponse, IssuedAtFormats) {
    auto at = [](std::string_view text) {
        auto r = parse_token_response(R"({"token":"a","issued_at":")" + std::string(text) + "\"}");
        EXPECT_TRUE(r) << text;
        return r && r->issued_at ? r->issued_at->time_since_epoch() : token_clock::duration{};
    };
    EXPECT_EQ(at("1970-01-01T00:00:00Z"), 0s);
    EXPECT_EQ(at("1970-01-01t00:00:01z"), 1s);
    EXPECT_EQ(at("1970-01-01T01:00:00+01:00"), 0s);
    EXPECT_EQ(at("1969-12-31T23:30:00-00:30"), 0s);
    EXPECT_EQ(at("1970-01-01T00:00:00.5Z"), 500ms);
    EXPECT_EQ(at("1970-01-01T00:00:00.1234567891234Z"), 123456789ns);
    EXPECT_EQ(at("2000-02-29T00:00:00Z"), 951782400s);
    EXPECT_EQ(at("2016-12-31T23:59:60Z"), 1483228800s);
}

TEST(TokenResponse, BadIssuedAt) {
    for (std::string_view bad :
         {"", "2024-03-01", "2024-03-01T12:34:56", "2024-03-01 12:34:56Z", "2024-13-01T00:00:00Z",
          "2023-02-29T00:00:00Z", "2024-03-01T24:00:00Z", "2024-03-01T12:60:00Z",
          "2024-03-01T12:00:00.Z", "2024-03-01T12:00:00+0100", "2024-03-01T12:00:00+01:00x",
          "2024-03-01T12:00:00ZZ", "24-03-01T12:00:00Z", "2024-03-01T12:00:61Z"}) {
        auto r =
            parse_token_response(R"({"token":"secret","issued_at":")" + std::string(bad) + "\"}");
        ASSERT_FALSE(r) << bad;
        EXPECT_TRUE(r.error().is(errc::bad_response));
        EXPECT_NE(r.error().detail.find("RFC 3339"), std::string::npos) << r.error().detail;
    }
}

TEST(TokenResponse, Errors) {
    struct {
        std::string_view body;
        std::string_view expected;
    } cases[] = {
        {"", "malformed JSON"},
        {"{", "malformed JSON"},
        {"[]", "not a JSON object"},
        {"{}", "no \"token\""},
        {R"({"token":""})", "no \"token\""},
        {R"({"token":5})", "\"token\" is not a string"},
        {R"({"access_token":["x"]})", "\"access_token\" is not a string"},
        {R"({"token":"a","expires_in":"300"})", "\"expires_in\" is not a number"},
        {R"({"token":"a","refresh_token":1})", "\"refresh_token\" is not a string"},
        {R"({"token":"a"} x)", "malformed JSON"},
        {R"({"token":"a"} {})", "malformed JSON"},
        {R"({"token":"a" "b":1})", "malformed JSON"},
    };
    for (const auto& c : cases) {
        auto r = parse_token_response(c.body);
        ASSERT_FALSE(r) << c.body;
        EXPECT_TRUE(r.error().is(errc::bad_response));
        EXPECT_NE(r.error().detail.find(c.expected), std::string::npos)
            << c.body << " → " << r.error().detail;
    }
}

TEST(TokenResponse, ErrorsNeverContainTheToken) {
    auto r = parse_token_response(R"({"token":"s3cr3t-t0ken","expires_in":"x"})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail.find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace hoist::net::registry
