// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/registry_launcher.hpp"

#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "crypto/x509_cert.hpp"
#include "tools/testkit/process.hpp"
#include "tools/testkit/token_server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hoist::testkit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using kind = registry_options::kind;

// curl is used only here, as an independent client: it tells whether the registries and
// the token server work with something other than hoist's own HTTP stack.
struct http_result {
    std::string status;   ///< "<http version> <code>", e.g. "2 200"
    std::string headers;  ///< raw response headers
    std::string body;
};

http_result curl(const std::string& url, const fs::path& ca_file,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        "curl", "-sS", "--noproxy",   "*",  "--max-time",
        "10",   "-D",  "/dev/stderr", "-w", "\n%{http_version} %{http_code}"};
    if (!ca_file.empty()) {
        argv.insert(argv.end(), {"--cacert", ca_file.string()});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    auto run = run_command(argv, {}, 15s);
    if (!run) {
        ADD_FAILURE() << "curl: " << run.error().message();
        return {};
    }
    EXPECT_EQ(run->exit_status, 0) << run->err;
    http_result result;
    const auto last_newline = run->out.rfind('\n');
    result.status = run->out.substr(last_newline + 1);
    result.body = run->out.substr(0, last_newline);
    result.headers = run->err;
    return result;
}

std::string bearer(const std::string& token) {
    return "Authorization: Bearer " + token;
}

std::string header_value(const std::string& headers, std::string_view name) {
    std::istringstream in(headers);
    for (std::string line; std::getline(in, line);) {
        if (line.size() > name.size() && line[name.size()] == ':' &&
            std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            })) {
            auto value = line.substr(name.size() + 1);
            value.erase(0, value.find_first_not_of(' '));
            value.erase(value.find_last_not_of("\r") + 1);
            return value;
        }
    }
    return {};
}

// POST + PUT: docker-registry 2.8 ignores the body of a single-request monolithic
// `POST …/uploads/?digest=` (it answers 202 and opens an upload session instead).
// Returns the status of the final PUT.
std::string upload_blob(const registry_instance& registry, const std::string& repository,
                        const std::string& blob, std::vector<std::string> auth = {}) {
    std::vector<std::string> post = {"-X", "POST"};
    post.insert(post.end(), auth.begin(), auth.end());
    auto started = curl(registry.base_url() + "/v2/" + repository + "/blobs/uploads/",
                        registry.ca_file(), post);
    const std::string location = header_value(started.headers, "location");
    if (location.empty()) {
        return started.status;
    }
    std::vector<std::string> put = {
        "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", blob};
    put.insert(put.end(), auth.begin(), auth.end());
    const char separator = location.find('?') == std::string::npos ? '?' : '&';
    return curl(location + separator + "digest=" + crypto::digest_of(blob), registry.ca_file(), put)
        .status;
}

// GET <realm>?service=…&scope=… with curl, as docker clients do; returns the JSON.
nlohmann::json fetch_token(const registry_instance& registry,
                           const std::vector<std::string>& scopes, const std::string& credentials,
                           std::string* status = nullptr) {
    std::string url =
        registry.token_issuer()->realm() + "?service=" + registry.token_issuer()->service();
    for (const auto& scope : scopes) {
        url += "&scope=" + scope;
    }
    std::vector<std::string> extra;
    if (!credentials.empty()) {
        extra = {"-u", credentials};
    }
    auto response = curl(url, registry.ca_file(), extra);
    if (status != nullptr) {
        *status = response.status;
    }
    return nlohmann::json::parse(response.body, nullptr, false);
}

registry_instance start_or_die(registry_options options) {
    const auto started_at = std::chrono::steady_clock::now();
    auto started = registry_instance::start(std::move(options));
    if (!started) {
        throw std::runtime_error("registry did not start: " + started.error().message());
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started_at, 10s);
    return std::move(*started);
}

registry_options with_kind(kind mode) {
    registry_options options;
    options.mode = mode;
    return options;
}

TEST(RegistryLauncher, TlsServesHttp2) {
    auto registry = start_or_die(with_kind(kind::tls));
    EXPECT_TRUE(registry.running());
    EXPECT_TRUE(registry.host_port().starts_with("127.0.0.1:"));
    EXPECT_EQ(registry.base_url(), "https://" + registry.host_port());
    ASSERT_TRUE(fs::exists(registry.ca_file()));
    EXPECT_TRUE(registry.username().empty());

    auto response = curl(registry.base_url() + "/v2/", registry.ca_file());
    EXPECT_EQ(response.status, "2 200");
    EXPECT_NE(response.headers.find("docker-distribution-api-version: registry/2.0"),
              std::string::npos)
        << response.headers;
    // The certificate also names localhost.
    EXPECT_EQ(
        curl("https://localhost:" + std::to_string(registry.port()) + "/v2/", registry.ca_file())
            .status,
        "2 200");

    ASSERT_TRUE(registry.wait_for_access_log(2)) << registry.log();
    const auto lines = registry.access_log();
    ASSERT_EQ(lines.size(), 2u) << registry.log();
    EXPECT_TRUE(lines[0].starts_with("127.0.0.1 - - [")) << lines[0];
    EXPECT_NE(lines[0].find("\"GET /v2/ HTTP/2.0\" 200 "), std::string::npos) << lines[0];

    registry.stop();
    EXPECT_FALSE(registry.running());
    registry.stop();  // idempotent
}

TEST(RegistryLauncher, PlainServesHttp11) {
    auto registry = start_or_die(with_kind(kind::plain));
    EXPECT_EQ(registry.base_url(), "http://" + registry.host_port());
    EXPECT_TRUE(registry.ca_file().empty());
    EXPECT_EQ(curl(registry.base_url() + "/v2/", {}).status, "1.1 200");
    ASSERT_TRUE(registry.wait_for_access_log(1));
    EXPECT_NE(registry.access_log()[0].find("\"GET /v2/ HTTP/1.1\" 200 "), std::string::npos);
}

TEST(RegistryLauncher, BasicAuth) {
    auto registry = start_or_die(with_kind(kind::basic_auth));
    EXPECT_EQ(registry.username(), "hoist");
    EXPECT_GE(registry.password().size(), 16u);
    const std::string url = registry.base_url() + "/v2/";

    auto anonymous = curl(url, registry.ca_file());
    EXPECT_EQ(anonymous.status, "2 401");
    EXPECT_NE(anonymous.headers.find("www-authenticate: Basic realm=\"hoist-test-registry\""),
              std::string::npos)
        << anonymous.headers;
    EXPECT_EQ(curl(url, registry.ca_file(), {"-u", "hoist:wrong"}).status, "2 401");
    EXPECT_EQ(curl(url, registry.ca_file(), {"-u", registry.username() + ":" + registry.password()})
                  .status,
              "2 200");
}

TEST(RegistryLauncher, TokenAuthEndToEnd) {
    auto registry = start_or_die(with_kind(kind::token_auth));
    ASSERT_TRUE(registry.token_issuer());
    token_server& issuer = *registry.token_issuer();
    EXPECT_TRUE(issuer.realm().starts_with("https://127.0.0.1:"));
    const std::string credentials = registry.username() + ":" + registry.password();
    const fs::path& ca = registry.ca_file();

    // The registry challenges with our token server as the realm.
    auto challenge = curl(registry.base_url() + "/v2/", ca);
    EXPECT_EQ(challenge.status, "2 401");
    EXPECT_NE(challenge.headers.find("www-authenticate: Bearer realm=\"" + issuer.realm() +
                                     "\",service=\"" + issuer.service() + "\""),
              std::string::npos)
        << challenge.headers;

    // A token without scope opens /v2/.
    auto base = fetch_token(registry, {}, credentials);
    ASSERT_TRUE(base.contains("token")) << base.dump();
    EXPECT_EQ(base["access_token"], base["token"]);
    EXPECT_EQ(base["expires_in"], 300);
    EXPECT_TRUE(base["issued_at"].get<std::string>().ends_with("Z"));
    const std::string base_token = base["token"];
    EXPECT_EQ(curl(registry.base_url() + "/v2/", ca, {"-H", bearer(base_token)}).status, "2 200");

    // A scoped token lets the client push a blob and list tags of that repository...
    auto push = fetch_token(registry, {"repository:demo/app:pull,push"}, credentials);
    const std::string push_token = push["token"];
    const std::string blob = "hello from hoist";
    EXPECT_EQ(upload_blob(registry, "demo/app", blob, {"-H", bearer(push_token)}), "2 201");
    EXPECT_EQ(curl(registry.base_url() + "/v2/demo/app/blobs/" + crypto::digest_of(blob), ca,
                   {"-H", bearer(push_token)})
                  .body,
              blob);
    // (no manifest yet, so the repository has no tags: 404, which still means "allowed")
    EXPECT_EQ(
        curl(registry.base_url() + "/v2/demo/app/tags/list", ca, {"-H", bearer(push_token)}).status,
        "2 404");

    // ...but a token lacking the scope is refused with insufficient_scope.
    auto denied =
        curl(registry.base_url() + "/v2/demo/app/tags/list", ca, {"-H", bearer(base_token)});
    EXPECT_EQ(denied.status, "2 401");
    EXPECT_NE(denied.headers.find("error=\"insufficient_scope\""), std::string::npos)
        << denied.headers;
    EXPECT_EQ(
        curl(registry.base_url() + "/v2/other/tags/list", ca, {"-H", bearer(push_token)}).status,
        "2 401");

    // Wrong credentials never get a token.
    std::string status;
    fetch_token(registry, {"repository:demo/app:pull"}, "hoist:wrong", &status);
    EXPECT_EQ(status, "1.1 401");

    EXPECT_EQ(issuer.tokens_issued(), 2u);
    const auto requests = issuer.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[1].user, "hoist");
    ASSERT_EQ(requests[1].granted.size(), 1u);
    EXPECT_EQ(requests[1].granted[0].name, "demo/app");
    EXPECT_EQ(requests[1].granted[0].actions, (std::vector<std::string>{"pull", "push"}));
    EXPECT_EQ(requests[2].status, 401);
}

TEST(RegistryLauncher, TokenAuthAnonymousPull) {
    registry_options options = with_kind(kind::token_auth);
    options.token_options.anonymous_pull = true;
    auto registry = start_or_die(std::move(options));

    auto anonymous = fetch_token(registry, {"repository:demo/app:pull,push"}, "");
    const std::string token = anonymous["token"];
    EXPECT_EQ(curl(registry.base_url() + "/v2/demo/app/tags/list", registry.ca_file(),
                   {"-H", bearer(token)})
                  .status,
              "2 404");  // pull granted: the registry looked (and found nothing)
    ASSERT_EQ(registry.token_issuer()->requests().size(), 1u);
    const auto granted = registry.token_issuer()->requests()[0].granted;
    ASSERT_EQ(granted.size(), 1u);
    EXPECT_EQ(granted[0].actions, std::vector<std::string>{"pull"});
}

TEST(TokenServer, TokensAreWellFormedJwts) {
    token_server_options options;
    options.users = {{"alice", "s3cret"}};
    options.expires_in = 42s;
    auto started = token_server::start(options);
    ASSERT_TRUE(started) << started.error().message();
    auto& server = **started;
    EXPECT_TRUE(server.realm().starts_with("http://127.0.0.1:"));

    auto response = curl(server.realm() +
                             "?service=svc&scope=repository:a/b:pull&scope=repository:a/b:push"
                             "&scope=repository:localhost:5000/c:pull",
                         {}, {"-u", "alice:s3cret"});
    ASSERT_EQ(response.status, "1.1 200");
    const auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body["expires_in"], 42);
    const std::string token = body["token"];

    const auto first_dot = token.find('.');
    const auto second_dot = token.find('.', first_dot + 1);
    ASSERT_NE(second_dot, std::string::npos);
    const auto header =
        nlohmann::json::parse(*crypto::base64url_decode(token.substr(0, first_dot)));
    const auto claims = nlohmann::json::parse(
        *crypto::base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1)));
    const auto signature = crypto::base64url_decode(token.substr(second_dot + 1));
    ASSERT_TRUE(signature);
    EXPECT_EQ(signature->size(), 64u);  // raw r||s

    EXPECT_EQ(header["alg"], "ES256");
    EXPECT_EQ(header["typ"], "JWT");
    ASSERT_EQ(header["x5c"].size(), 1u);
    EXPECT_EQ(*crypto::base64_decode(header["x5c"][0].get<std::string>()),
              *crypto::certificate_der_from_pem(server.signing_certificate_pem()));

    EXPECT_EQ(claims["iss"], server.issuer());
    EXPECT_EQ(claims["sub"], "alice");
    EXPECT_EQ(claims["aud"], "svc");  // a string: docker-registry 2.8 rejects an array
    EXPECT_EQ(claims["exp"].get<long long>() - claims["iat"].get<long long>(), 42);
    EXPECT_LE(claims["nbf"].get<long long>(), claims["iat"].get<long long>());
    EXPECT_EQ(claims["jti"].get<std::string>().size(), 32u);
    const nlohmann::json expected_access = nlohmann::json::parse(R"([
        {"type": "repository", "name": "a/b", "actions": ["pull", "push"]},
        {"type": "repository", "name": "localhost:5000/c", "actions": ["pull"]}
    ])");
    EXPECT_EQ(claims["access"], expected_access);

    // Anonymous without anonymous_pull: a token, but no access.
    auto anonymous = curl(server.realm() + "?service=svc&scope=repository:a/b:pull", {});
    ASSERT_EQ(anonymous.status, "1.1 200");
    const std::string anonymous_token = nlohmann::json::parse(anonymous.body)["token"];
    const auto dot = anonymous_token.find('.');
    const auto anonymous_claims = nlohmann::json::parse(*crypto::base64url_decode(
        anonymous_token.substr(dot + 1, anonymous_token.find('.', dot + 1) - dot - 1)));
    EXPECT_EQ(anonymous_claims["sub"], "");
    EXPECT_TRUE(anonymous_claims["access"].empty());

    EXPECT_EQ(curl(server.realm(), {}, {"-u", "alice:wrong"}).status, "1.1 401");
    EXPECT_EQ(curl(server.realm(), {}, {"-u", "bob:s3cret"}).status, "1.1 401");
    EXPECT_EQ(curl(server.realm(), {}, {"-H", "Authorization: Basic !!!"}).status, "1.1 401");
    EXPECT_EQ(curl(server.realm(), {}, {"-X", "POST"}).status, "1.1 405");
    EXPECT_EQ(curl(server.realm() + "x", {}).status, "1.1 404");
    EXPECT_EQ(server.tokens_issued(), 2u);

    server.set_expires_in(1s);
    auto short_lived = curl(server.realm(), {}, {"-u", "alice:s3cret"});
    EXPECT_EQ(nlohmann::json::parse(short_lived.body)["expires_in"], 1);
    server.stop();
    server.stop();  // idempotent
}

TEST(TokenServer, GrantHookDecides) {
    token_server_options options;
    options.users = {{"reader", "r"}};
    options.grant = [](std::string_view user, const resource_scope& requested) {
        std::vector<std::string> allowed;
        for (const auto& action : requested.actions) {
            if (action == "pull" && user == "reader") {
                allowed.push_back(action);
            }
        }
        return allowed;
    };
    auto server = token_server::start(options);
    ASSERT_TRUE(server);
    curl((*server)->realm() + "?scope=repository:x:pull,push,delete", {}, {"-u", "reader:r"});
    const auto requests = (*server)->requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].service, "hoist-test-registry");  // default when not sent
    ASSERT_EQ(requests[0].scopes.size(), 1u);
    EXPECT_EQ(requests[0].scopes[0].actions.size(), 3u);
    ASSERT_EQ(requests[0].granted.size(), 1u);
    EXPECT_EQ(requests[0].granted[0].actions, std::vector<std::string>{"pull"});
}

TEST(TokenServer, ParseScope) {
    auto scope = parse_scope("repository:library/alpine:pull,push");
    ASSERT_TRUE(scope);
    EXPECT_EQ(scope->type, "repository");
    EXPECT_EQ(scope->name, "library/alpine");
    EXPECT_EQ(scope->actions, (std::vector<std::string>{"pull", "push"}));
    auto with_port = parse_scope("repository:localhost:5000/x:pull");
    ASSERT_TRUE(with_port);
    EXPECT_EQ(with_port->name, "localhost:5000/x");
    auto catalog = parse_scope("registry:catalog:*");
    ASSERT_TRUE(catalog);
    EXPECT_EQ(catalog->actions, std::vector<std::string>{"*"});
    EXPECT_FALSE(parse_scope("repository:x"));
    EXPECT_FALSE(parse_scope(":x:pull"));
    EXPECT_FALSE(parse_scope("repository::pull"));
}

TEST(RegistryLauncher, SharedTokenIssuer) {
    auto issuer = token_server::start({});
    ASSERT_TRUE(issuer);
    registry_options a = with_kind(kind::token_auth);
    a.token_issuer = *issuer;
    a.username = "first";
    registry_options b = a;
    b.username = "second";
    auto one = start_or_die(std::move(a));
    auto two = start_or_die(std::move(b));
    EXPECT_EQ(one.token_issuer(), two.token_issuer());
    // The shared issuer serves plain HTTP; only the registries use TLS.
    auto token = fetch_token(one, {}, "second:" + two.password());
    ASSERT_TRUE(token.contains("token")) << token.dump();
    EXPECT_EQ(curl(one.base_url() + "/v2/", one.ca_file(), {"-H", bearer(token["token"])}).status,
              "2 200");
    EXPECT_EQ(curl(two.base_url() + "/v2/", two.ca_file(), {"-H", bearer(token["token"])}).status,
              "2 200");
}

TEST(RegistryLauncher, TemporaryDirectoryIsRemoved) {
    fs::path dir;
    {
        auto registry = start_or_die(with_kind(kind::tls));
        dir = registry.root_dir();
        EXPECT_TRUE(fs::exists(dir / "config.yml"));
        EXPECT_TRUE(fs::exists(registry.log_file()));
        EXPECT_EQ(registry.storage_dir(), dir / "storage");
        const char* tmp = std::getenv("TMPDIR");
        EXPECT_TRUE(dir.string().starts_with(tmp != nullptr && *tmp ? tmp : "/tmp")) << dir;
    }
    EXPECT_FALSE(fs::exists(dir));
}

// Directories of killed test processes are swept, others are left alone.
TEST(RegistryLauncher, SweepsAbandonedTemporaryDirectories) {
    const char* tmp = std::getenv("TMPDIR");
    const fs::path parent = tmp != nullptr && *tmp ? tmp : "/tmp";
    auto make_dir = [&] {
        std::string pattern = (parent / "hoist-registry-sweeptest-XXXXXX").string();
        EXPECT_NE(mkdtemp(pattern.data()), nullptr);
        return fs::path(pattern);
    };
    const fs::path abandoned = make_dir();  // lock file, nobody holds it
    std::ofstream(abandoned / ".owner.lock") << "";
    const fs::path alive = make_dir();  // lock file held (by this process)
    std::ofstream(alive / ".owner.lock") << "";
    const int held = ::open((alive / ".owner.lock").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(held, 0);
    ASSERT_EQ(::flock(held, LOCK_EX), 0);
    const fs::path unlocked = make_dir();  // no lock file: not ours to judge

    auto registry = start_or_die(with_kind(kind::plain));
    EXPECT_FALSE(fs::exists(abandoned));
    EXPECT_TRUE(fs::exists(alive));
    EXPECT_TRUE(fs::exists(unlocked));
    EXPECT_TRUE(fs::exists(registry.root_dir() / ".owner.lock"));
    ::close(held);
    fs::remove_all(alive);
    fs::remove_all(unlocked);
}

TEST(RegistryLauncher, GivenRootDirIsKeptAndReused) {
    std::string pattern = (fs::temp_directory_path() / "hoist-root-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    const fs::path root = fs::path(pattern) / "reg";
    const std::string blob = "persisted";
    {
        registry_options options = with_kind(kind::plain);
        options.root_dir = root.string();
        auto registry = start_or_die(std::move(options));
        EXPECT_EQ(upload_blob(registry, "keep", blob), "1.1 201");
    }
    EXPECT_TRUE(fs::exists(root / "storage"));
    {
        registry_options options = with_kind(kind::plain);
        options.root_dir = root.string();
        auto registry = start_or_die(std::move(options));
        EXPECT_EQ(curl(registry.base_url() + "/v2/keep/blobs/" + crypto::digest_of(blob), {}).body,
                  blob);
    }
    fs::remove_all(pattern);
}

TEST(RegistryLauncher, ReportsRegistryThatExits) {
    registry_options options = with_kind(kind::plain);
    options.registry_binary = "false";
    auto started = registry_instance::start(std::move(options));
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, errc::registry_exited) << started.error().message();

    registry_options missing = with_kind(kind::plain);
    missing.registry_binary = "/nonexistent/docker-registry";
    EXPECT_EQ(registry_instance::start(std::move(missing)).error().code,
              errc::executable_not_found);
}

TEST(RegistryLauncher, StartTimeoutIsBoundedAndKillsTheProcess) {
    // A "registry" that never listens.
    std::string pattern = (fs::temp_directory_path() / "hoist-fake-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    const fs::path script = fs::path(pattern) / "fake-registry";
    std::ofstream(script) << "#!/bin/sh\necho 'fake registry starting'\nexec sleep 30\n";
    fs::permissions(script, fs::perms::owner_all);

    registry_options options = with_kind(kind::plain);
    options.registry_binary = script.string();
    options.start_timeout = 300ms;
    const auto begin = std::chrono::steady_clock::now();
    auto started = registry_instance::start(std::move(options));
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, errc::start_timeout);
    EXPECT_NE(started.error().detail.find("fake registry starting"), std::string::npos)
        << started.error().detail;
    fs::remove_all(pattern);
}

TEST(Process, RunCommandCapturesOutputAndStatus) {
    auto echo = run_command({"sh", "-c", "cat; echo out; echo err >&2; exit 3"}, "in\n");
    ASSERT_TRUE(echo) << echo.error().message();
    EXPECT_EQ(echo->exit_status, 3);
    EXPECT_EQ(echo->out, "in\nout\n");
    EXPECT_EQ(echo->err, "err\n");

    // A child that ignores its stdin must not hurt us (no SIGPIPE), however much we send.
    auto ignoring = run_command({"true"}, std::string(1 << 20, 'x'));
    ASSERT_TRUE(ignoring);
    EXPECT_EQ(ignoring->exit_status, 0);

    auto killed = run_command({"sh", "-c", "kill -9 $$"});
    ASSERT_TRUE(killed);
    EXPECT_EQ(killed->exit_status, 128 + 9);

    EXPECT_EQ(run_command({"no-such-command-hoist"}).error().code, errc::executable_not_found);
}

TEST(Process, RunCommandTimeoutKills) {
    const auto begin = std::chrono::steady_clock::now();
    auto slow = run_command({"sleep", "30"}, {}, 200ms);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().code, errc::command_timeout);
}

// PR_SET_PDEATHSIG: a child dies with the thread that spawned it, so registries never
// outlive a crashed test binary.
TEST(Process, ChildDiesWithSpawningThread) {
    std::optional<child_process> child;
    std::thread spawner([&] {
        spawn_options options;
        options.argv = {"sleep", "30"};
        auto spawned = child_process::spawn(options);
        ASSERT_TRUE(spawned) << spawned.error().message();
        child.emplace(std::move(*spawned));
    });
    spawner.join();
    ASSERT_TRUE(child);
    ASSERT_TRUE(child->wait_for(5s));
    EXPECT_EQ(child->exit_status(), 128 + 9);
}

TEST(Process, TerminateEscalatesToSigkill) {
    spawn_options options;
    options.argv = {"sh", "-c", "trap '' TERM; while :; do sleep 1; done"};
    auto child = child_process::spawn(options);
    ASSERT_TRUE(child);
    // If SIGTERM arrives before the shell installed its trap, the default action kills it;
    // otherwise SIGKILL does after the grace period. Either way terminate() reaps it.
    const int status = child->terminate(200ms);
    EXPECT_TRUE(status == 128 + 9 || status == 128 + 15) << status;
    EXPECT_FALSE(child->running());
}

}  // namespace
}  // namespace hoist::testkit
