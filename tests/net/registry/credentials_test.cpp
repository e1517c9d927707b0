// SPDX-License-Identifier: Apache-2.0
#include "net/registry/credentials.hpp"

#include "crypto/encoding.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hoist::net::registry {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fake `docker-credential-hoisttest`: its behaviour depends on the server it is asked
// about, and it logs each call next to itself so tests can count them.
constexpr std::string_view fake_helper = R"(#!/bin/sh
[ "$1" = get ] || { echo "unexpected arguments: $*" >&2; exit 2; }
read -r server
echo "$server" >> "$(dirname "$0")/calls.log"
case "$server" in
  notfound.example) echo "credentials not found in native keychain"; exit 1 ;;
  slow.example) sleep 5; exit 0 ;;
  crash.example) kill -SEGV $$ ;;
  garbage.example) echo "not json at all s3cr3t"; exit 0 ;;
  partial.example) printf '{"Username":"u","Secret":"s3cr3t' ;;
  failing.example) echo "error getting credentials: keychain locked"; exit 3 ;;
  stderr.example) echo "only on stderr" >&2; exit 4 ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-123"}' "$server" ;;
  empty.example) printf '{"ServerURL":"%s","Username":"","Secret":""}' "$server" ;;
  *) printf '{"ServerURL":"%s","Username":"user@%s","Secret":"pw@%s"}\n' "$server" "$server" "$server" ;;
esac
)";

std::string basic(std::string_view user_password) {
    return crypto::base64_encode(user_password);
}

class Credentials : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "hoist-credentials-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        bin_ = dir_ / "bin";
        fs::create_directories(bin_);
        write(bin_ / "docker-credential-hoisttest", fake_helper);
        fs::permissions(bin_ / "docker-credential-hoisttest", fs::perms::owner_all);
        const char* path = std::getenv("PATH");
        old_path_ = path ? path : "";
        ::setenv("PATH", (bin_.string() + ":" + old_path_).c_str(), 1);
    }

    void TearDown() override {
        ::setenv("PATH", old_path_.c_str(), 1);
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    static void write(const fs::path& file, std::string_view content) {
        fs::create_directories(file.parent_path());
        std::ofstream out(file, std::ios::binary);
        out << content;
    }

    std::string file(const std::string& name, std::string_view content) {
        fs::path p = dir_ / name;
        write(p, content);
        return p.string();
    }

    std::vector<std::string> helper_calls() const {
        std::ifstream in(bin_ / "calls.log");
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) {
            out.push_back(line);
        }
        return out;
    }

    static credential up(std::string user, std::string password) {
        return credential{std::move(user), std::move(password), {}};
    }

    static std::optional<credential> lookup_ok(credential_store& store, std::string_view host,
                                               std::string_view repository = {}) {
        auto r = store.lookup(host, repository);
        EXPECT_TRUE(r.has_value()) << host << ": " << (r ? "" : r.error().message());
        return r ? *r : std::nullopt;
    }

    static failure lookup_error(credential_store& store, std::string_view host,
                                std::string_view repository = {}) {
        auto r = store.lookup(host, repository);
        EXPECT_FALSE(r.has_value()) << host;
        if (r) {
            return {};
        }
        EXPECT_TRUE(r.error().is(errc::credentials_failed)) << r.error().message();
        return r.error();
    }

    fs::path dir_;
    fs::path bin_;
    std::string old_path_;
};

TEST_F(Credentials, AuthField) {
    credential_store store({file(
        "config.json", R"({"auths":{"r.example":{"auth":")" + basic("alice:pa:ss") + R"("}}})")});
    EXPECT_EQ(lookup_ok(store, "r.example"), up("alice", "pa:ss"));
    EXPECT_EQ(lookup_ok(store, "other.example"), std::nullopt);
}

TEST_F(Credentials, UsernamePasswordAndIdentityToken) {
    credential_store store(
        {file("config.json", R"({"auths":{
        "a.example":{"username":"bob","password":"pw"},
        "b.example":{"identitytoken":"refresh"},
        "c.example":{"auth":")" + basic("u:p") +
                                 R"(","username":"ignored","identitytoken":"t"}}})")});
    EXPECT_EQ(lookup_ok(store, "a.example"), up("bob", "pw"));
    EXPECT_EQ(lookup_ok(store, "b.example"), (credential{"", "", "refresh"}));
    EXPECT_EQ(lookup_ok(store, "c.example"), (credential{"u", "p", "t"}));
}

TEST_F(Credentials, AuthWithoutPaddingAndTrailingNuls) {
    std::string encoded = basic(std::string("u:pw\0\0", 6));
    std::string unpadded = basic("us:p");  // "dXM6cA=="
    unpadded.erase(unpadded.find('='));
    credential_store store(
        {file("config.json", R"({"auths":{"a.example":{"auth":")" + encoded +
                                 R"("},"b.example":{"auth":")" + unpadded + R"("}}})")});
    EXPECT_EQ(lookup_ok(store, "a.example"), up("u", "pw"));
    EXPECT_EQ(lookup_ok(store, "b.example"), up("us", "p"));
}

TEST_F(Credentials, KeyForms) {
    credential_store store({file("config.json", R"({"auths":{
        "https://a.example":{"auth":")" + basic("a:1") +
                                                    R"("},
        "https://b.example/v1/":{"auth":")" + basic("b:2") +
                                                    R"("},
        "http://c.example":{"auth":")" + basic("c:3") +
                                                    R"("},
        "d.example:5000":{"auth":")" + basic("d:4") +
                                                    R"("},
        "E.Example":{"auth":")" + basic("e:5") + R"("}}})")});
    EXPECT_EQ(lookup_ok(store, "a.example"), up("a", "1"));
    EXPECT_EQ(lookup_ok(store, "b.example"), up("b", "2"));
    EXPECT_EQ(lookup_ok(store, "c.example"), up("c", "3"));
    EXPECT_EQ(lookup_ok(store, "d.example:5000"), up("d", "4"));
    EXPECT_EQ(lookup_ok(store, "d.example"), std::nullopt);
    EXPECT_EQ(lookup_ok(store, "d.example:5001"), std::nullopt);
    EXPECT_EQ(lookup_ok(store, "e.example"), up("e", "5"));
    EXPECT_EQ(lookup_ok(store, "https://a.example/"), up("a", "1"));
}

TEST_F(Credentials, DockerHubAliases) {
    for (std::string key :
         {"https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"}) {
        credential_store store({file(
            "hub.json", R"({"auths":{")" + key + R"(":{"auth":")" + basic("hub:pw") + R"("}}})")});
        for (std::string_view host : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
            EXPECT_EQ(lookup_ok(store, host), up("hub", "pw")) << key << " for " << host;
        }
    }
}

TEST_F(Credentials, NamespacedKeysLongestMatchWins) {
    credential_store store({file("auth.json", R"({"auths":{
        "quay.io":{"auth":")" + basic("host:1") + R"("},
        "quay.io/org":{"auth":")" + basic("org:2") +
                                                  R"("},
        "quay.io/org/repo":{"auth":")" + basic("repo:3") +
                                                  R"("},
        "docker.io/library":{"auth":")" + basic("lib:4") +
                                                  R"("}}})")});
    EXPECT_EQ(lookup_ok(store, "quay.io", "org/repo"), up("repo", "3"));
    EXPECT_EQ(lookup_ok(store, "quay.io", "org/repo/sub"), up("repo", "3"));
    EXPECT_EQ(lookup_ok(store, "quay.io", "org/other"), up("org", "2"));
    EXPECT_EQ(lookup_ok(store, "quay.io", "org/repository"), up("org", "2"));  // not a prefix
    EXPECT_EQ(lookup_ok(store, "quay.io", "elsewhere/x"), up("host", "1"));
    EXPECT_EQ(lookup_ok(store, "quay.io"), up("host", "1"));
    EXPECT_EQ(lookup_ok(store, "registry-1.docker.io", "library/busybox"), up("lib", "4"));
    EXPECT_EQ(lookup_ok(store, "docker.io", "other/busybox"), std::nullopt);
}

TEST_F(Credentials, ExactKeyBeatsNormalizedKey) {
    credential_store store({file("config.json", R"({"auths":{
        "https://r.example":{"auth":")" + basic("normalized:1") +
                                                    R"("},
        "r.example":{"auth":")" + basic("exact:2") + R"("},
        "http://s.example":{"auth":")" + basic("first:3") +
                                                    R"("},
        "https://s.example/v1/":{"auth":")" + basic("second:4") +
                                                    R"("}}})")});
    EXPECT_EQ(lookup_ok(store, "r.example"), up("exact", "2"));
    EXPECT_EQ(lookup_ok(store, "s.example"), up("first", "3"));
}

TEST_F(Credentials, FilesInOrderFirstWithCredentialsWins) {
    std::string first =
        file("first.json", R"({"auths":{"a.example":{"auth":")" + basic("first:1") + R"("}}})");
    std::string second =
        file("second.json", R"({"auths":{"a.example":{"auth":")" + basic("second:2") +
                                R"("},"b.example":{"auth":")" + basic("second:3") + R"("}}})");
    credential_store store({(dir_ / "missing.json").string(), first, second});
    EXPECT_EQ(lookup_ok(store, "a.example"), up("first", "1"));
    EXPECT_EQ(lookup_ok(store, "b.example"), up("second", "3"));
    EXPECT_EQ(lookup_ok(store, "c.example"), std::nullopt);
}

TEST_F(Credentials, MissingAndEmptyFiles) {
    credential_store store(
        {(dir_ / "nope.json").string(), (dir_ / "nodir/x.json").string(), file("empty.json", ""),
         file("blank.json", " \n\t"), file("bare.json", "{}"),
         file("nulls.json", R"({"auths":null,"credHelpers":null,"credsStore":null})")});
    EXPECT_EQ(lookup_ok(store, "a.example"), std::nullopt);
    credential_store none({});
    EXPECT_EQ(lookup_ok(none, "a.example"), std::nullopt);
}

TEST_F(Credentials, MalformedJsonNamesFileAndPosition) {
    std::string path =
        file("bad.json", "{\n  \"auths\": {\n    \"a.example\": {\"auth\" \"x\"}\n  }\n}\n");
    credential_store store({path});
    failure f = lookup_error(store, "a.example");
    EXPECT_NE(f.detail.find(path), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find("malformed JSON"), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find("line 3"), std::string::npos) << f.detail;

    credential_store truncated({file("truncated.json", R"({"auths":{"a":)")});
    EXPECT_NE(lookup_error(truncated, "a.example").detail.find("malformed JSON"),
              std::string::npos);
    credential_store trailing({file("trailing.json", "{} {}")});
    EXPECT_NE(lookup_error(trailing, "a.example").detail.find("content after"), std::string::npos);
}

TEST_F(Credentials, WrongTypes) {
    struct {
        std::string content;
        std::string expected;
    } cases[] = {
        {"[]", "not a JSON object"},
        {R"({"auths":"x"})", "auths is not an object"},
        {R"({"auths":{"a.example":"x"}})", "auths[\"a.example\"] is not an object"},
        {R"({"auths":{"a.example":{"auth":1}}})", "auths[\"a.example\"].auth is not a string"},
        {R"({"credHelpers":{"a.example":true}})", "credHelpers[\"a.example\"] is not a string"},
        {R"({"credsStore":{}})", "credsStore is not a string"},
    };
    for (const auto& c : cases) {
        credential_store store({file("types.json", c.content)});
        failure f = lookup_error(store, "a.example");
        EXPECT_NE(f.detail.find(c.expected), std::string::npos) << c.content << " → " << f.detail;
        EXPECT_NE(f.detail.find("types.json"), std::string::npos) << f.detail;
    }
}

TEST_F(Credentials, BadAuthValueDoesNotLeakIt) {
    credential_store store({file("config.json", R"({"auths":{
        "a.example":{"auth":"s3cr3t!!not-base64"},
        "b.example":{"auth":")" + basic("s3cr3t-no-colon") +
                                                    R"("},
        "c.example":{"auth":")" + basic("fine:pw") + R"("}}})")});
    failure bad_base64 = lookup_error(store, "a.example");
    EXPECT_NE(bad_base64.detail.find("auths[\"a.example\"].auth is not valid base64"),
              std::string::npos)
        << bad_base64.detail;
    EXPECT_NE(bad_base64.detail.find("config.json"), std::string::npos);
    EXPECT_EQ(bad_base64.detail.find("s3cr3t"), std::string::npos);
    failure no_colon = lookup_error(store, "b.example");
    EXPECT_NE(no_colon.detail.find("user:password"), std::string::npos) << no_colon.detail;
    EXPECT_EQ(no_colon.detail.find("s3cr3t"), std::string::npos);
    // Entries not asked about are not decoded.
    EXPECT_EQ(lookup_ok(store, "c.example"), up("fine", "pw"));
}

TEST_F(Credentials, UnreadableFile) {
    fs::create_directories(dir_ / "a-directory.json");
    credential_store store({(dir_ / "a-directory.json").string()});
    EXPECT_NE(lookup_error(store, "a.example").detail.find("not a regular file"),
              std::string::npos);
}

TEST_F(Credentials, EmptyHost) {
    credential_store store({});
    EXPECT_NE(lookup_error(store, "").detail.find("empty registry host"), std::string::npos);
}

// ---- credential helpers ----

TEST_F(Credentials, CredHelpersWinOverAuths) {
    credential_store store({file("config.json", R"({
        "auths":{"gcr.example":{"auth":")" + basic("file:pw") +
                                                    R"("}},
        "credHelpers":{"gcr.example":"hoisttest","https://hub.example/v1/":"hoisttest"}})")});
    EXPECT_EQ(lookup_ok(store, "gcr.example"), up("user@gcr.example", "pw@gcr.example"));
    EXPECT_EQ(lookup_ok(store, "hub.example"), up("user@hub.example", "pw@hub.example"));
    EXPECT_EQ(helper_calls(), (std::vector<std::string>{"gcr.example", "hub.example"}));
}

TEST_F(Credentials, HelperIsAskedForHostWithPortAndHubIndexUrl) {
    credential_store store({file("config.json", R"({"credHelpers":{
        "localhost:5000":"hoisttest","docker.io":"hoisttest"}})")});
    EXPECT_EQ(lookup_ok(store, "localhost:5000"), up("user@localhost:5000", "pw@localhost:5000"));
    auto hub = lookup_ok(store, "registry-1.docker.io", "library/busybox");
    ASSERT_TRUE(hub);
    EXPECT_EQ(hub->username, "user@https://index.docker.io/v1/");
    EXPECT_EQ(helper_calls(),
              (std::vector<std::string>{"localhost:5000", "https://index.docker.io/v1/"}));
}

TEST_F(Credentials, CredsStoreAfterAuthsAndMarkerEntriesSkipped) {
    credential_store store({file("config.json", R"({
        "auths":{"own.example":{"auth":")" + basic("file:pw") +
                                                    R"("},"marker.example":{}},
        "credsStore":"hoisttest"})")});
    EXPECT_EQ(lookup_ok(store, "own.example"), up("file", "pw"));
    EXPECT_EQ(lookup_ok(store, "marker.example"), up("user@marker.example", "pw@marker.example"));
    EXPECT_EQ(lookup_ok(store, "any.example"), up("user@any.example", "pw@any.example"));
    EXPECT_EQ(helper_calls(), (std::vector<std::string>{"marker.example", "any.example"}));
}

TEST_F(Credentials, HelperNotFoundMeansNoCredentialsAndNextFileIsTried) {
    std::string first = file("first.json", R"({"credHelpers":{"notfound.example":"hoisttest"},
        "credsStore":"hoisttest"})");
    std::string second = file("second.json", R"({"auths":{"notfound.example":{"auth":")" +
                                                 basic("second:pw") + R"("}}})");
    credential_store only_first({first});
    EXPECT_EQ(lookup_ok(only_first, "notfound.example"), std::nullopt);
    credential_store both({first, second});
    EXPECT_EQ(lookup_ok(both, "notfound.example"), up("second", "pw"));
}

TEST_F(Credentials, IdentityTokenFromHelper) {
    credential_store store({file("config.json", R"({"credsStore":"hoisttest"})")});
    EXPECT_EQ(lookup_ok(store, "token.example"), (credential{"", "", "refresh-123"}));
    EXPECT_EQ(lookup_ok(store, "empty.example"), std::nullopt);
}

TEST_F(Credentials, ResultsAreCachedPerHostAndHelperRunsOnce) {
    credential_store store({file("config.json", R"({"credsStore":"hoisttest"})")});
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(lookup_ok(store, "cached.example"));
        EXPECT_TRUE(lookup_ok(store, "cached.example", "a/b"));
        EXPECT_TRUE(lookup_ok(store, "cached.example", "c"));
    }
    EXPECT_EQ(helper_calls(), std::vector<std::string>{"cached.example"});
}

TEST_F(Credentials, HelperTimeoutKillsItAndIsCached) {
    credential_store store({file("config.json", R"({"credsStore":"hoisttest"})")}, 200ms);
    auto start = std::chrono::steady_clock::now();
    failure f = lookup_error(store, "slow.example");
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, 1s);
    EXPECT_GE(elapsed, 200ms);
    EXPECT_NE(f.detail.find("docker-credential-hoisttest"), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find("no answer within 200 ms"), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find("credsStore"), std::string::npos) << f.detail;
    start = std::chrono::steady_clock::now();
    lookup_error(store, "slow.example", "other/repo");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
    EXPECT_EQ(helper_calls().size(), 1u);
}

TEST_F(Credentials, HelperFailures) {
    auto run = [](std::string_view server) {
        return run_credential_helper("hoisttest", server, 5s);
    };
    auto crash = run("crash.example");
    ASSERT_FALSE(crash);
    EXPECT_TRUE(crash.error().is(errc::credentials_failed));
    EXPECT_NE(crash.error().detail.find("killed by signal 11 (SIGSEGV)"), std::string::npos)
        << crash.error().detail;

    auto garbage = run("garbage.example");
    ASSERT_FALSE(garbage);
    EXPECT_NE(garbage.error().detail.find("answer is not a JSON object"), std::string::npos)
        << garbage.error().detail;
    EXPECT_EQ(garbage.error().detail.find("s3cr3t"), std::string::npos);

    auto partial = run("partial.example");
    ASSERT_FALSE(partial);
    EXPECT_NE(partial.error().detail.find("malformed JSON"), std::string::npos)
        << partial.error().detail;
    EXPECT_EQ(partial.error().detail.find("s3cr3t"), std::string::npos);

    auto failing = run("failing.example");
    ASSERT_FALSE(failing);
    EXPECT_NE(failing.error().detail.find(
                  "docker-credential-hoisttest: exit status 3: error getting credentials: "
                  "keychain locked"),
              std::string::npos)
        << failing.error().detail;

    auto stderr_only = run("stderr.example");
    ASSERT_FALSE(stderr_only);
    EXPECT_NE(stderr_only.error().detail.find("exit status 4: only on stderr"), std::string::npos)
        << stderr_only.error().detail;
}

TEST_F(Credentials, HelperMissingOrInvalidName) {
    auto missing = run_credential_helper("hoist-no-such-helper", "a.example", 5s);
    ASSERT_FALSE(missing);
    EXPECT_NE(
        missing.error().detail.find("docker-credential-hoist-no-such-helper: not found in PATH"),
        std::string::npos)
        << missing.error().detail;
    auto slash = run_credential_helper("../hoisttest", "a.example", 5s);
    ASSERT_FALSE(slash);
    EXPECT_NE(slash.error().detail.find("invalid helper name"), std::string::npos);
    credential_store store(
        {file("config.json", R"({"credHelpers":{"a.example":"hoist-no-such-helper"}})")});
    failure f = lookup_error(store, "a.example");
    EXPECT_NE(f.detail.find("credHelpers"), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find("config.json"), std::string::npos) << f.detail;
}

TEST_F(Credentials, HelperDirectly) {
    auto r = run_credential_helper("hoisttest", "direct.example", 5s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, up("user@direct.example", "pw@direct.example"));
    auto none = run_credential_helper("hoisttest", "notfound.example", 5s);
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
}

// ---- where the files are ----

class EnvironmentFiles : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* name : names_) {
            const char* value = std::getenv(name);
            saved_.emplace_back(value ? std::optional<std::string>(value) : std::nullopt);
            ::unsetenv(name);
        }
    }
    void TearDown() override {
        for (std::size_t i = 0; i < names_.size(); ++i) {
            if (saved_[i]) {
                ::setenv(names_[i], saved_[i]->c_str(), 1);
            } else {
                ::unsetenv(names_[i]);
            }
        }
    }
    std::vector<const char*> names_ = {"REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
                                       "DOCKER_CONFIG", "HOME"};
    std::vector<std::optional<std::string>> saved_;
};

TEST_F(EnvironmentFiles, RegistryAuthFileAlone) {
    ::setenv("REGISTRY_AUTH_FILE", "/etc/hoist/auth.json", 1);
    ::setenv("HOME", "/home/u", 1);
    ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    EXPECT_EQ(credential_store::environment_files(),
              std::vector<std::string>{"/etc/hoist/auth.json"});
    EXPECT_EQ(credential_store::from_environment().files(),
              std::vector<std::string>{"/etc/hoist/auth.json"});
}

TEST_F(EnvironmentFiles, ContainersThenDocker) {
    ::setenv("HOME", "/home/u", 1);
    ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    EXPECT_EQ(credential_store::environment_files(),
              (std::vector<std::string>{"/run/user/1000/containers/auth.json",
                                        "/home/u/.config/containers/auth.json",
                                        "/home/u/.docker/config.json"}));
    ::setenv("XDG_CONFIG_HOME", "/cfg", 1);
    ::setenv("DOCKER_CONFIG", "/dockercfg", 1);
    ::unsetenv("XDG_RUNTIME_DIR");
    EXPECT_EQ(credential_store::environment_files(),
              (std::vector<std::string>{"/cfg/containers/auth.json", "/dockercfg/config.json"}));
}

TEST_F(EnvironmentFiles, NothingSet) {
    EXPECT_TRUE(credential_store::environment_files().empty());
}

}  // namespace
}  // namespace hoist::net::registry
