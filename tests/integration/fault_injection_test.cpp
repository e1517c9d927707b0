// SPDX-License-Identifier: Apache-2.0
// `hoist cip --confirm` through testkit::fault_proxy: 429s, 503s, resets before and after
// the registry did the work, and stalls, in front of the destination or of the source. The
// run must still finish with every image complete and byte-exact (checked directly at the
// destination, never through the proxy), and a rerun through the faults must write
// nothing. Also the proxy itself (Location rewriting, method filter, caps) and the
// hoist-faultproxy command.
#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "net/registry/manifest_parse.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/skopeo.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/fault_proxy.hpp"
#include "tools/testkit/process.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/staging_set.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::fault_kind;
using testkit::fault_proxy;
using testkit::registry_instance;
using testsupport::run_process;

constexpr fault_kind every_fault[] = {fault_kind::rate_limit,   fault_kind::unavailable,
                                      fault_kind::reset_before, fault_kind::reset_after,
                                      fault_kind::stall,        fault_kind::reset_body};

using testsupport::start_registry;

using testsupport::settled_log;

std::size_t count_lines(const std::vector<std::string>& log, const std::string& what) {
    std::size_t n = 0;
    for (const auto& line : log) {
        if (line.find(what) != std::string::npos) {
            ++n;
        }
    }
    return n;
}

// Every kind at `probability`. Stalls outlast hoist's request timeout (--budget
// timeout=2), so a stalled request is one hoist gives up on and retries.
// $HOIST_FAULT_SEED, when set, is added to every seed: a way to explore other fault
// sequences without editing the test.
testkit::fault_options every_fault_at(double probability, std::uint64_t seed) {
    testkit::fault_options options;
    options.seed = seed;
    if (const char* offset = std::getenv("HOIST_FAULT_SEED")) {
        options.seed += std::strtoull(offset, nullptr, 10);
    }
    options.rate_limit = probability;
    options.unavailable = probability;
    options.reset_before = probability;
    options.reset_after = probability;
    options.stall = probability;
    options.reset_body = probability;
    options.stall_time = std::chrono::seconds(3);
    return options;
}

std::unique_ptr<fault_proxy> start_proxy(const registry_instance& upstream,
                                         testkit::fault_options options) {
    auto proxy =
        fault_proxy::start(upstream.host_port(), upstream.ca_file().string(), std::move(options));
    if (!proxy) {
        ADD_FAILURE() << "cannot start the fault proxy: " << proxy.error().message();
        std::abort();
    }
    return std::move(*proxy);
}

// For failure messages: what the proxy did and to which requests.
std::string describe_proxy(const fault_proxy& proxy) {
    std::string out = "\nproxy: " + proxy.counts().to_string() + "\ninjected faults:";
    for (const auto& line : proxy.fault_log()) {
        out += "\n  " + line;
    }
    // The proxy keeps the last 1000 events; a Setup mix-up is among the first of a run.
    out += "\ntraffic (the first 20 events kept):";
    auto traffic = proxy.traffic_log();
    for (std::size_t i = 0; i < traffic.size() && i < 20; ++i) {
        out += "\n  " + traffic[i];
    }
    return out + "\n";
}

// For failure messages: whether a registry still runs, and the last lines of its log that
// are not about a request it answered (access-log lines, "response completed", info) — a
// TLS handshake it refused, say, or why it stopped.
std::string describe_registry(const char* role, registry_instance& registry) {
    std::string out = std::string("\n") + role + " registry " + registry.host_port() +
                      (registry.running() ? " (running)" : " (EXITED)") +
                      ", the end of its log, requests left out:";
    std::vector<std::string> kept;
    std::istringstream lines(registry.log());
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("127.0.0.1 - ") && line.find("level=info") == std::string::npos &&
            line.find("level=debug") == std::string::npos &&
            line.find("msg=\"response completed") == std::string::npos) {
            kept.push_back(std::move(line));
        }
    }
    constexpr std::size_t shown = 12;
    for (std::size_t i = kept.size() > shown ? kept.size() - shown : 0; i < kept.size(); ++i) {
        out += "\n  " + kept[i];
    }
    return out + "\n";
}

// The edges that did not end promoted, with the error hoist reported for each.
std::string edge_errors(const nlohmann::json& report) {
    std::string out;
    if (!report.contains("plan") || !report["plan"].contains("edges")) {
        return "\n(no edges in the report)";
    }
    for (const auto& edge : report["plan"]["edges"]) {
        if (edge.value("result", "") != "promoted") {
            out += "\nedge: " + edge.dump();
        }
    }
    return out;
}

/// What a direct check of the destination found.
struct audit {
    std::size_t tags = 0;
    std::vector<std::string> problems;  ///< missing tags, wrong digests, missing blobs
};

asio::awaitable<void> check_manifest_tree(reg::registry_client* client, reg::repository_ref repo,
                                          std::string reference, audit* out) {
    auto manifest = co_await client->get_manifest(
        repo, reference, net::deadline::from_now(std::chrono::seconds(20)));
    if (!manifest) {
        out->problems.push_back(repo.to_string() + "@" + reference + ": " +
                                manifest.error().message());
        co_return;
    }
    auto parsed = reg::parse_manifest(manifest->body, manifest->media_type);
    if (!parsed) {
        out->problems.push_back(repo.to_string() + "@" + reference + ": unparsable");
        co_return;
    }
    if (parsed->is_index()) {
        for (const auto& child : parsed->manifests) {
            co_await check_manifest_tree(client, repo, child.digest, out);
        }
        co_return;
    }
    std::vector<reg::descriptor> blobs(parsed->layers.begin(), parsed->layers.end());
    if (parsed->config) {
        blobs.push_back(*parsed->config);
    }
    for (const auto& blob : blobs) {
        auto size = co_await client->head_blob(repo, blob.digest,
                                               net::deadline::from_now(std::chrono::seconds(20)));
        if (!size || !*size) {
            out->problems.push_back(repo.to_string() + "@" + reference + " names missing blob " +
                                    blob.digest);
        } else if (**size != blob.size) {
            out->problems.push_back(repo.to_string() + "@" + reference + ": blob " + blob.digest +
                                    " has " + std::to_string(**size) + " bytes, not " +
                                    std::to_string(blob.size));
        }
    }
}

// lifetime: `images` is owned by the test, which runs this to completion.
asio::awaitable<audit> audit_destination(reg::registry_client& client, std::string path,
                                         const std::vector<testkit::staging_image>* images) {
    audit out;
    auto until = net::deadline::from_now(std::chrono::seconds(60));
    for (const auto& image : *images) {
        auto repo = reg::parse_repository_ref(path + "/" + image.repository);
        auto info = co_await client.head_manifest(*repo, image.tag, until);
        if (!info || !*info) {
            out.problems.push_back(repo->to_string() + ":" + image.tag + " is missing");
            continue;
        }
        ++out.tags;
        if ((*info)->digest != image.digest) {
            out.problems.push_back(repo->to_string() + ":" + image.tag + " is " + (*info)->digest +
                                   ", not " + image.digest);
        }
        co_await check_manifest_tree(&client, *repo, image.tag, &out);
    }
    co_return out;
}

class FaultInjection : public ::testing::Test {
protected:
    // Every side of a failed run: the proxy and both registries. Setup failing to reach a
    // registry that served the staging push moments before is what this is for.
    static std::string describe(const fault_proxy& proxy) {
        return describe_proxy(proxy) + describe_registry("source", *source) +
               describe_registry("destination", *destination);
    }

    static void SetUpTestSuite() {
        source = new registry_instance(start_registry());
        destination = new registry_instance(start_registry());
        std::string pattern = (fs::temp_directory_path() / "hoist-faults-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        work = new fs::path(pattern);

        spec.repositories = 6;
        spec.tags = 2;
        spec.index_every = 2;  // img-000, img-002 and img-004 hold two-platform indexes
        spec.seed = 17;
        testsupport::client_setup setup;
        setup.ca_files = {source->ca_file().string()};
        auto pushed = testsupport::run_client<net::result<std::vector<testkit::staging_image>>>(
            setup, [](reg::registry_client& client) {
                return testkit::push_staging_set(client, source->host_port() + "/staging", spec, 8,
                                                 net::deadline::from_now(std::chrono::seconds(60)));
            });
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
        images = new std::vector<testkit::staging_image>(std::move(*pushed));
    }
    static void TearDownTestSuite() {
        fs::remove_all(*work);
        delete work;
        delete images;
        delete source;
        delete destination;
    }

    struct run_result {
        int status = -1;
        std::string out;
    };

    // `timeout`: a run that hangs on a fault fails the test instead of holding it forever.
    static run_result hoist(const std::string& arguments) {
        std::string command = "timeout -k 5 100 " + std::string(HOIST_BINARY) + " --ca-file " +
                              source->ca_file().string() + " --ca-file " +
                              destination->ca_file().string() + " " + arguments + " 2>&1";
        run_result r;
        r.out = run_process(command, &r.status);
        return r;
    }

    // A stalled request times out after 2 s and is retried.
    static run_result promote(const fs::path& promo, const fs::path& report) {
        return hoist("cip --confirm --sign=false --thin-manifest-dir " + promo.string() +
                     " --budget timeout=2 --report " + report.string());
    }

    static nlohmann::json read_report(const fs::path& path) {
        std::ifstream in(path);
        if (!in) {
            return nlohmann::json::object();
        }
        return nlohmann::json::parse(in, nullptr, false);
    }

    // Every tag and every index child at `path` on the destination, read directly (not
    // through a proxy): byte for byte as skopeo reads them at the source, and every blob
    // they name present with its size.
    static void expect_promoted(const std::string& path,
                                const std::vector<testkit::staging_image>& wanted) {
        std::string source_ca = source->ca_file().string();
        std::string ca = destination->ca_file().string();
        // skopeo_raw already fails the test, with skopeo's message, for a missing manifest:
        // only say which manifest differs, without a diff of whole documents.
        for (const auto& image : wanted) {
            std::string name = image.repository + ":" + image.tag;
            auto expected =
                testsupport::skopeo_raw(source->host_port(), source_ca, "staging/" + name);
            auto got = testsupport::skopeo_raw(destination->host_port(), ca, path + "/" + name);
            EXPECT_TRUE(got == expected) << path << "/" << name << " differs from the source";
            auto parsed = nlohmann::json::parse(expected, nullptr, false);
            if (parsed.is_object() && parsed.contains("manifests")) {
                for (const auto& child : parsed["manifests"]) {
                    std::string at = image.repository + "@" + child["digest"].get<std::string>();
                    auto child_got =
                        testsupport::skopeo_raw(destination->host_port(), ca, path + "/" + at);
                    EXPECT_TRUE(child_got == testsupport::skopeo_raw(source->host_port(), source_ca,
                                                                     "staging/" + at))
                        << path << "/" << at << " differs from the source";
                }
            }
        }
        testsupport::client_setup setup;
        setup.ca_files = {ca};
        std::string where = destination->host_port() + "/" + path;
        auto found = testsupport::run_client<audit>(setup, [&](reg::registry_client& client) {
            return audit_destination(client, where, &wanted);
        });
        EXPECT_EQ(found.tags, wanted.size());
        for (const auto& problem : found.problems) {
            ADD_FAILURE() << problem;
        }
    }

    /// `<source>/<source_path>/<name>`'s manifest, byte for byte, at each of `paths` on the
    /// destination (read directly, not through a proxy).
    static void expect_copied(const std::string& source_path, const std::string& name,
                              const std::vector<std::string>& paths) {
        auto expected = testsupport::skopeo_raw(source->host_port(), source->ca_file().string(),
                                                source_path + "/" + name);
        for (const auto& path : paths) {
            EXPECT_TRUE(testsupport::skopeo_raw(destination->host_port(),
                                                destination->ca_file().string(),
                                                path + "/" + name) == expected)
                << path << "/" << name << " differs from the source";
        }
    }

    /// A promotion from a source that cuts the first GET of each large layer halfway.
    void download_cut_halfway(fault_kind cut, const std::string& name);
    /// A promotion into a destination whose first ping is faulted as `options` say.
    void ping_fault_is_survived(testkit::fault_options options, const std::string& name);

    static void expect_done(const run_result& run, const nlohmann::json& report,
                            const fault_proxy& proxy, std::size_t edges) {
        EXPECT_EQ(run.status, 0) << run.out << describe(proxy) << edge_errors(report);
        // The details are in the first message; these only say what else is off.
        EXPECT_EQ(report.value("status", ""), "done");
        ASSERT_TRUE(report.contains("promote")) << run.out;
        EXPECT_EQ(report["promote"]["edges_promoted"], edges);
        EXPECT_EQ(report["promote"]["edges_failed"], 0);
    }

    static inline registry_instance* source = nullptr;
    static inline registry_instance* destination = nullptr;
    static inline fs::path* work = nullptr;
    static inline testkit::staging_set_spec spec;
    static inline std::vector<testkit::staging_image>* images = nullptr;
};

TEST_F(FaultInjection, PromotesCompletelyThroughAFaultyDestination) {
    auto proxy = start_proxy(*destination, every_fault_at(0.07, 42));
    fs::path promo = *work / "faulty-destination";
    testkit::write_thin_manifests(promo, "staging", source->host_port() + "/staging",
                                  {proxy->host_port() + "/prod"}, *images);
    auto report_path = *work / "faulty-destination.json";
    auto run = promote(promo, report_path);
    auto report = read_report(report_path);
    expect_done(run, report, *proxy, images->size());

    // The faults really happened, every kind of them, and on writes too.
    for (fault_kind kind : every_fault) {
        EXPECT_GT(proxy->injected(kind), 0u) << fault_name(kind) << describe(*proxy);
    }
    proxy->stop();
    expect_promoted("prod", *images);
}

TEST_F(FaultInjection, PromotesCompletelyFromAFaultySource) {
    auto proxy = start_proxy(*source, every_fault_at(0.07, 1234));
    fs::path promo = *work / "faulty-source";
    testkit::write_thin_manifests(promo, "staging", proxy->host_port() + "/staging",
                                  {destination->host_port() + "/from-faulty-source"}, *images);
    auto report_path = *work / "faulty-source.json";
    auto run = promote(promo, report_path);
    auto report = read_report(report_path);
    expect_done(run, report, *proxy, images->size());
    for (fault_kind kind : every_fault) {
        EXPECT_GT(proxy->injected(kind), 0u) << fault_name(kind) << describe(*proxy);
    }
    proxy->stop();
    expect_promoted("from-faulty-source", *images);
}

TEST_F(FaultInjection, RerunThroughFaultsWritesNothing) {
    // First promoted directly, then planned again through a faulty proxy.
    fs::path direct = *work / "rerun-direct";
    testkit::write_thin_manifests(direct, "staging", source->host_port() + "/staging",
                                  {destination->host_port() + "/again"}, *images);
    auto first = promote(direct, *work / "rerun-direct.json");
    ASSERT_EQ(first.status, 0) << first.out;

    // The first request through the proxy is hoist's GET /v2/: with seed 8 it is not
    // faulted, so this test is about the rerun; RegistryPingSurvivesA429 is about that.
    auto proxy = start_proxy(*destination, every_fault_at(0.08, 8));
    fs::path through = *work / "rerun-proxy";
    testkit::write_thin_manifests(through, "staging", source->host_port() + "/staging",
                                  {proxy->host_port() + "/again"}, *images);
    auto before = settled_log(*destination);
    auto report_path = *work / "rerun-proxy.json";
    auto rerun = promote(through, report_path);
    auto report = read_report(report_path);
    EXPECT_EQ(rerun.status, 0) << rerun.out << describe(*proxy);
    EXPECT_EQ(report.value("status", ""), "done") << rerun.out;
    EXPECT_EQ(report["plan"]["summary"]["present"], images->size()) << rerun.out;
    EXPECT_EQ(report["plan"]["summary"]["promote"], 0) << rerun.out;
    EXPECT_GT(proxy->counts().faults(), 0u) << describe(*proxy);
    proxy->stop();

    auto after = settled_log(*destination);
    EXPECT_EQ(count_lines(after, "\"PUT "), count_lines(before, "\"PUT "));
    EXPECT_EQ(count_lines(after, "\"POST "), count_lines(before, "\"POST "));
    EXPECT_EQ(count_lines(after, "\"PATCH "), count_lines(before, "\"PATCH "));
    EXPECT_EQ(count_lines(after, "\"DELETE "), count_lines(before, "\"DELETE "));
}

// A destination behind bearer tokens (docker-registry with our token server), faulted
// at random: its 401 challenges are cut, rate-limited and reset like any answer. Every
// edge lands, and a rerun through the same faults finds them all and writes nothing.
TEST_F(FaultInjection, PromotesCompletelyThroughAFaultyTokenAuthDestination) {
    testkit::registry_options secured_options;
    secured_options.mode = testkit::registry_options::kind::token_auth;
    auto secured = start_registry(secured_options);
    auto proxy = start_proxy(secured, every_fault_at(0.05, 77));
    fs::path auth_file = *work / "token-auth.json";
    std::ofstream(auth_file) << "{\"auths\": {\"" << proxy->host_port() << "\": {\"auth\": \""
                             << crypto::base64_encode(secured.username() + ":" + secured.password())
                             << "\"}}}";
    std::vector<testkit::staging_image> wanted(images->begin(), images->begin() + 4);
    fs::path promo = *work / "token-auth";
    testkit::write_thin_manifests(promo, "staging", source->host_port() + "/staging",
                                  {proxy->host_port() + "/secured"}, wanted);
    std::string arguments = "--authfile " + auth_file.string() + " --ca-file " +
                            secured.ca_file().string() +
                            " cip --confirm --sign=false --budget timeout=2 --thin-manifest-dir " +
                            promo.string() + " --report ";
    auto run = hoist(arguments + (*work / "token-auth.json.report").string());
    expect_done(run, read_report(*work / "token-auth.json.report"), *proxy, wanted.size());
    EXPECT_GT(proxy->counts().faults(), 0u) << describe(*proxy);

    auto before = settled_log(secured);
    auto rerun = hoist(arguments + (*work / "token-auth-rerun.json").string());
    auto again = read_report(*work / "token-auth-rerun.json");
    EXPECT_EQ(rerun.status, 0) << rerun.out << describe(*proxy);
    EXPECT_EQ(again["plan"]["summary"]["present"], wanted.size()) << rerun.out;
    EXPECT_EQ(again["plan"]["summary"]["promote"], 0) << rerun.out;
    proxy->stop();
    auto after = settled_log(secured);
    for (const char* write : {"\"PUT ", "\"POST ", "\"PATCH ", "\"DELETE "}) {
        EXPECT_EQ(count_lines(after, write), count_lines(before, write)) << write;
    }
}

// A large layer streams from one download into two destination registries at once. One
// of them drops the connection of the first chunk it is sent: that upload leaves the shared
// download, which goes on feeding the other; the failed edge is run again, reading the
// source on its own, and both destinations end complete.
TEST_F(FaultInjection, AFailingUploadDoesNotStopTheOthersSharingItsDownload) {
    // Layers of 20 MiB, above the 16 MiB held whole: two registries share the download.
    auto pushed = testsupport::push_single_layer_images(*source, "staging-large", 1, 20u << 20, 23);
    ASSERT_EQ(pushed.size(), 1u);
    testkit::fault_options options;
    options.reset_before = 1.0;
    options.methods = {"PATCH"};
    options.max_faults = 1;
    auto proxy = start_proxy(*destination, options);
    fs::path promo = *work / "shared-download";
    testkit::write_thin_manifests(
        promo, "staging", source->host_port() + "/staging-large",
        {proxy->host_port() + "/shared-faulty", destination->host_port() + "/shared-direct"},
        pushed);
    auto report_path = *work / "shared-download.json";
    auto run = promote(promo, report_path);
    auto report = read_report(report_path);
    EXPECT_EQ(proxy->injected(testkit::fault_kind::reset_before), 1u) << describe(*proxy);
    expect_done(run, report, *proxy, 2);
    // Only the edge whose upload failed is run again: the other's upload went on.
    EXPECT_EQ(report["promote"]["edge_retries"], 1) << report["promote"].dump();
    // Two layers of 20 MiB (the image's own and the base), each read once for both
    // registries, and again by the retry when it had not landed in the failed one: at most
    // four reads, where one download per registry would make six.
    EXPECT_LT(report["promote"]["source_bytes_read"].get<std::uint64_t>(), 81u << 20)
        << report["promote"].dump();
    proxy->stop();
    expect_copied("staging-large", pushed[0].repository + ":" + pushed[0].tag,
                  {"shared-faulty", "shared-direct"});
}

// The same shared download, cut halfway through its body: the source answers the large
// layers' first GETs, sends half of each, and then either goes silent past hoist's 2 s
// request timeout (stall_body) or resets the connection (reset_body). Every upload fed by
// such a download fails, its edge is run again with a new download, and both registries
// end complete and byte for byte.
void FaultInjection::download_cut_halfway(fault_kind cut, const std::string& name) {
    auto pushed =
        testsupport::push_single_layer_images(*source, "staging-" + name, 1, 20u << 20, 37);
    ASSERT_EQ(pushed.size(), 1u);
    const auto& image = pushed.front();
    std::string reference = image.repository + ":" + image.tag;
    auto expected = testsupport::skopeo_raw(source->host_port(), source->ca_file().string(),
                                            "staging-" + name + "/" + reference);
    testkit::fault_options options;
    (cut == fault_kind::reset_body ? options.reset_body : options.stall_body) = 1.0;
    options.methods = {"GET"};
    options.max_consecutive = 1;
    auto manifest = nlohmann::json::parse(expected);
    for (const auto& layer : manifest["layers"]) {
        options.targets.push_back(layer["digest"].get<std::string>());
    }
    ASSERT_EQ(options.targets.size(), 2u) << expected;
    auto cutting_source = start_proxy(*source, options);
    auto second_registry = start_proxy(*destination, testkit::fault_options{});
    fs::path promo = *work / name;
    testkit::write_thin_manifests(promo, "staging",
                                  cutting_source->host_port() + "/staging-" + name,
                                  {second_registry->host_port() + "/" + name + "-a",
                                   destination->host_port() + "/" + name + "-b"},
                                  pushed);
    auto report_path = *work / (name + ".json");
    auto run = promote(promo, report_path);
    auto report = read_report(report_path);
    EXPECT_GE(cutting_source->injected(cut), 1u) << describe(*cutting_source);
    expect_done(run, report, *cutting_source, 2);
    EXPECT_GE(report["promote"]["edge_retries"].get<int>(), 1) << report["promote"].dump();
    cutting_source->stop();
    second_registry->stop();
    expect_copied("staging-" + name, reference, {name + "-a", name + "-b"});
}

TEST_F(FaultInjection, ADownloadThatStopsHalfwayIsRunAgain) {
    download_cut_halfway(fault_kind::stall_body, "halfway");
}

TEST_F(FaultInjection, ADownloadResetHalfwayIsRunAgain) {
    download_cut_halfway(fault_kind::reset_body, "cut");
}

// A blob read whole (a signature payload, an attestation bundle, a layer kept in memory
// for several registries) whose answer is reset halfway through its body is read again
// from the start: the second GET goes through and the bytes come back whole.
TEST_F(FaultInjection, AWholeBlobCutHalfwayIsReadAgain) {
    testkit::fault_options options;
    options.reset_body = 1.0;
    options.methods = {"GET"};
    options.targets = {"/blobs/"};
    options.max_consecutive = 1;
    auto proxy = start_proxy(*source, options);
    struct outcome {
        bool pushed = false;
        net::result<std::string> read = net::fail(net::errc::cancelled, "not read");
    };
    static const std::string blob(300u << 10, 'b');
    static std::string proxied;
    proxied = proxy->host_port();
    testsupport::client_setup setup;
    setup.ca_files = {source->ca_file().string()};
    setup.insecure_registries = {proxied};
    auto got = testsupport::run_client<outcome>(
        setup, [](reg::registry_client& client) -> asio::awaitable<outcome> {
            outcome o;
            auto until = net::deadline::from_now(std::chrono::seconds(60));
            auto digest = crypto::digest_of(blob);
            auto size = static_cast<std::int64_t>(blob.size());
            reg::memory_blob_source bytes(blob);
            const reg::repository_ref direct{source->host_port(), "whole/blob"};
            const reg::repository_ref through_proxy{proxied, "whole/blob"};
            auto put = co_await client.push_blob(direct, digest, size, bytes, until);
            o.pushed = put.has_value();
            if (o.pushed) {
                o.read = co_await client.read_blob(through_proxy, digest, size, size, until);
            }
            co_return o;
        });
    ASSERT_TRUE(got.pushed);
    ASSERT_TRUE(got.read.has_value()) << got.read.error().message() << describe(*proxy);
    EXPECT_TRUE(*got.read == blob) << got.read->size() << " bytes";
    EXPECT_EQ(proxy->injected(fault_kind::reset_body), 1u) << describe(*proxy);
}

// The first request hoist sends to a registry, GET /v2/, faulted once (`options` says
// how): the destination's proxy sees the fault, and the run still completes.
void FaultInjection::ping_fault_is_survived(testkit::fault_options options,
                                            const std::string& name) {
    options.max_faults = 1;
    auto proxy = start_proxy(*destination, options);
    std::vector<testkit::staging_image> wanted(images->begin(), images->begin() + 3);
    fs::path promo = *work / name;
    testkit::write_thin_manifests(promo, "staging", source->host_port() + "/staging",
                                  {proxy->host_port() + "/" + name}, wanted);
    auto report_path = *work / (name + ".json");
    auto run = promote(promo, report_path);
    auto log = proxy->fault_log();
    ASSERT_EQ(log.size(), 1u) << describe(*proxy) << run.out;
    EXPECT_EQ(log.front(), std::string(fault_name(options.stall > 0 ? fault_kind::stall
                                                                    : fault_kind::rate_limit)) +
                               " GET /v2/");
    expect_done(run, read_report(report_path), *proxy, wanted.size());
    proxy->stop();
    expect_promoted(name, wanted);
}

// Answered 429: a registry that is busy for a moment must not fail the whole run.
TEST_F(FaultInjection, RegistryPingSurvivesA429) {
    testkit::fault_options options;
    options.rate_limit = 1.0;
    ping_fault_is_survived(options, "ping");
}

// Unanswered past the request timeout (2 s). The proxy speaks plain http, so hoist's TLS
// probe fails first; the plain ping that stalls is asked again, where it used to leave the
// handshake failure to end the run.
TEST_F(FaultInjection, APlainRegistryStallingItsFirstPingIsAskedAgain) {
    testkit::fault_options options;
    options.stall = 1.0;
    options.stall_time = std::chrono::seconds(3);
    ping_fault_is_survived(options, "ping-stall");
}

// Every GET of the source is answered 429 with Retry-After twice before it goes through.
// Blob downloads stream, so the session's retry loop does not carry them: they are asked
// again in place, after the pause the registry asked for (the proxy's log shows when each
// request came), and no edge has to start over.
TEST_F(FaultInjection, A429OnABlobDownloadIsAskedAgainAfterRetryAfter) {
    testkit::fault_options options;
    options.rate_limit = 1.0;
    options.methods = {"GET"};
    options.max_consecutive = 2;
    auto proxy = start_proxy(*source, options);
    std::vector<testkit::staging_image> wanted(images->begin(), images->begin() + 1);
    fs::path promo = *work / "blob-429";
    testkit::write_thin_manifests(promo, "staging", proxy->host_port() + "/staging",
                                  {destination->host_port() + "/blob-429"}, wanted);
    auto report_path = *work / "blob-429.json";
    auto run = promote(promo, report_path);
    auto report = read_report(report_path);
    std::size_t blob_faults = 0;
    for (const auto& line : proxy->fault_log()) {
        blob_faults += line.find("/blobs/sha256:") != std::string::npos ? 1 : 0;
    }
    EXPECT_GT(blob_faults, 0u) << describe(*proxy) << run.out;
    expect_done(run, report, *proxy, wanted.size());
    EXPECT_EQ(report["promote"]["edge_retries"], 0) << report["promote"].dump() << describe(*proxy);
    // Retry-After: 1 asks for a second; the jittered backoff alone would be far shorter.
    auto seen = proxy->request_log();
    std::size_t waits = 0;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (seen[i].fault != testkit::fault_kind::rate_limit) {
            continue;
        }
        auto again = std::find_if(seen.begin() + static_cast<std::ptrdiff_t>(i) + 1, seen.end(),
                                  [&](const testkit::seen_request& later) {
                                      return later.method == seen[i].method &&
                                             later.target == seen[i].target;
                                  });
        ASSERT_NE(again, seen.end()) << seen[i].target << " was not asked again";
        EXPECT_GE(again->at - seen[i].at, std::chrono::milliseconds(990))
            << seen[i].method << " " << seen[i].target << " asked again too soon";
        ++waits;
    }
    EXPECT_GT(waits, 2u) << describe(*proxy);
    proxy->stop();
    expect_promoted("blob-429", wanted);
}

// The first blob commit (PUT …/blobs/uploads/<id>?digest=) reaches the registry, which
// stores the blob, but its answer is lost with the connection. Retrying the same PUT
// gets 404 BLOB_UPLOAD_UNKNOWN (the session is gone); the blob is there all the same.
TEST_F(FaultInjection, BlobCommitWhoseAnswerIsLostIsNotAFailure) {
    testkit::fault_options options;
    options.reset_after = 1.0;
    options.methods = {"PUT"};
    options.max_faults = 1;
    auto proxy = start_proxy(*destination, options);
    std::vector<testkit::staging_image> wanted(images->begin(), images->begin() + 4);
    fs::path promo = *work / "commit";
    testkit::write_thin_manifests(promo, "staging", source->host_port() + "/staging",
                                  {proxy->host_port() + "/commit"}, wanted);
    auto report_path = *work / "commit.json";
    auto run = promote(promo, report_path);
    auto log = proxy->fault_log();
    ASSERT_EQ(log.size(), 1u) << describe(*proxy) << run.out;
    EXPECT_TRUE(log.front().starts_with("reset_after PUT /v2/commit/img-")) << log.front();
    EXPECT_NE(log.front().find("/blobs/uploads/"), std::string::npos) << log.front();
    expect_done(run, read_report(report_path), *proxy, wanted.size());
    proxy->stop();
    expect_promoted("commit", wanted);
}

// The proxy itself, with curl as an independent client: faults only for the listed
// methods, at most max_consecutive in a row per request, at most max_faults in all; HEAD
// answers without a body but with the length; Location rewritten to the proxy.
TEST_F(FaultInjection, ProxyFaultsOnlyWhatItIsToldAndRewritesLocation) {
    testkit::fault_options options;
    options.rate_limit = 1.0;
    options.methods = {"HEAD"};
    options.max_consecutive = 1;
    options.max_faults = 2;
    auto proxy = start_proxy(*destination, options);
    std::string base = proxy->base_url();
    auto curl = [](const std::string& arguments) {
        int status = -1;
        auto out = run_process("curl -sS -m 10 " + arguments + " 2>&1", &status);
        EXPECT_EQ(status, 0) << arguments << ": " << out;
        return out;
    };

    auto limited = curl("-I " + base + "/v2/");
    EXPECT_NE(limited.find("HTTP/1.1 429"), std::string::npos) << limited;
    EXPECT_NE(limited.find("retry-after: 1"), std::string::npos) << limited;
    EXPECT_NE(limited.find("content-length: "), std::string::npos) << limited;
    auto again = curl("-I " + base + "/v2/");  // not twice in a row for the same request
    EXPECT_NE(again.find("HTTP/1.1 200"), std::string::npos) << again;
    EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' " + base + "/v2/"), "200");  // GET: not listed

    // An upload: Location must lead back through the proxy, a chunked request body must
    // arrive whole, and the blob must come back byte for byte.
    auto upload = curl("-i -X POST " + base + "/v2/proxy-check/blobs/uploads/");
    EXPECT_NE(upload.find("HTTP/1.1 202"), std::string::npos) << upload;
    auto at = upload.find("location: " + base + "/v2/proxy-check/blobs/uploads/");
    ASSERT_NE(at, std::string::npos) << upload;
    std::string location = upload.substr(at + 10, upload.find('\r', at) - at - 10);
    fs::path blob = *work / "proxy-blob";
    std::ofstream(blob, std::ios::binary) << "bytes that cross the fault proxy\n";
    std::string digest = "sha256:" + run_process("sha256sum " + blob.string()).substr(0, 64);
    auto put = curl(
        "-o /dev/null -w '%{http_code}' -X PUT -H 'Transfer-Encoding: chunked' "
        "-H 'Content-Type: application/octet-stream' --data-binary @" +
        blob.string() + " '" + location + "&digest=" + digest + "'");
    EXPECT_EQ(put, "201");
    std::string blob_url = base + "/v2/proxy-check/blobs/" + digest;
    EXPECT_EQ(curl(blob_url), "bytes that cross the fault proxy\n");

    auto second = curl("-I " + blob_url);
    EXPECT_NE(second.find("HTTP/1.1 429"), std::string::npos) << second;
    auto capped = curl("-I " + base + "/v2/proxy-check/manifests/nothing");  // over max_faults
    EXPECT_NE(capped.find("HTTP/1.1 404"), std::string::npos) << capped;
    auto head = curl("-I " + blob_url);
    EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
    EXPECT_NE(head.find("content-length: 33\r"), std::string::npos) << head;

    auto counts = proxy->counts();
    EXPECT_EQ(counts.rate_limit, 2u) << counts.to_string();
    EXPECT_EQ(counts.faults(), 2u) << counts.to_string();
    EXPECT_EQ(counts.requests, 9u) << counts.to_string();
    EXPECT_EQ(counts.forwarded, 7u) << counts.to_string();
    EXPECT_EQ(counts.upstream_errors, 0u) << counts.to_string();
}

// Waits until `file` appears in its directory (the proxy renames it into place once it
// listens) or `child` exits, woken by inotify and the child's pidfd rather than by polling.
bool wait_for_file(const fs::path& file, testkit::child_process& child,
                   std::chrono::milliseconds timeout) {
    int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (watch < 0) {
        return false;
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_watch{watch};
    if (::inotify_add_watch(watch, file.parent_path().c_str(), IN_MOVED_TO | IN_CREATE) < 0) {
        return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!fs::exists(file)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd fds[2] = {{watch, POLLIN, 0}, {child.exit_fd(), POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(left.count())) < 0 || (fds[1].revents & POLLIN)) {
            return fs::exists(file);
        }
        std::array<char, 4096> events{};
        while (::read(watch, events.data(), events.size()) > 0) {
        }
    }
    return true;
}

TEST_F(FaultInjection, CommandLineProxyRunsUntilSigterm) {
    fs::path env_file = *work / "proxy.env";
    fs::path log_file = *work / "proxy.log";
    testkit::spawn_options options;
    options.argv = {HOIST_FAULTPROXY_BINARY,
                    "--upstream",
                    destination->host_port(),
                    "--ca-file",
                    destination->ca_file().string(),
                    "--rate-limit",
                    "1",
                    "--max-consecutive",
                    "2",
                    "--env-file",
                    env_file.string()};
    options.output_file = log_file;
    auto child = testkit::child_process::spawn(options);
    ASSERT_TRUE(child.has_value()) << child.error().message();
    ASSERT_TRUE(wait_for_file(env_file, *child, std::chrono::seconds(10)))
        << run_process("cat " + log_file.string());

    std::ifstream env(env_file);
    std::string line;
    std::string proxy;
    while (std::getline(env, line)) {
        if (line.starts_with("PROXY=")) {
            proxy = line.substr(6);
        }
    }
    ASSERT_TRUE(proxy.starts_with("127.0.0.1:")) << proxy;
    // Rate-limited twice in a row for the same request, then let through.
    std::string codes;
    for (int i = 0; i < 3; ++i) {
        codes +=
            run_process("curl -s -m 10 -o /dev/null -w '%{http_code} ' http://" + proxy + "/v2/");
    }
    EXPECT_EQ(codes, "429 429 200 ");

    EXPECT_EQ(child->terminate(std::chrono::seconds(10)), 0);
    std::ifstream log(log_file);
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_NE(text.str().find("requests=3 forwarded=1 upstream_errors=0 rate_limit=2"),
              std::string::npos)
        << text.str();
    EXPECT_FALSE(fs::exists(env_file));
}

}  // namespace
}  // namespace hoist
