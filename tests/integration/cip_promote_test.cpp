// SPDX-License-Identifier: Apache-2.0
// `hoist cip --confirm` against real registries: a multi-arch staging set promoted to two
// destination registries, checked byte for byte by skopeo; a rerun that writes nothing;
// refused plans that write nothing.
#include "crypto/sha256.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/skopeo.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/staging_set.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::registry_instance;
using testsupport::run_process;

using testsupport::start_registry;

std::size_t count_lines(const registry_instance& registry, const std::string& what) {
    std::size_t n = 0;
    for (const auto& line : testsupport::settled_log(registry)) {
        if (line.find(what) != std::string::npos) {
            ++n;
        }
    }
    return n;
}

class CipPromote : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        source = new registry_instance(start_registry());
        first = new registry_instance(start_registry());
        second = new registry_instance(start_registry());
        std::string pattern = (fs::temp_directory_path() / "hoist-promote-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        work = new fs::path(pattern);

        spec.repositories = 4;
        spec.tags = 2;
        spec.index_every = 2;  // img-000 and img-002 hold two-platform indexes
        spec.seed = 5;
        testsupport::client_setup setup;
        setup.ca_files = {source->ca_file().string()};
        auto pushed = testsupport::run_client<net::result<std::vector<testkit::staging_image>>>(
            setup, [](reg::registry_client& client) {
                return testkit::push_staging_set(client, source->host_port() + "/staging", spec, 8,
                                                 net::deadline::from_now(std::chrono::seconds(60)));
            });
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
        images = new std::vector<testkit::staging_image>(std::move(*pushed));
        testkit::write_thin_manifests(*work / "promo", "staging", source->host_port() + "/staging",
                                      {first->host_port() + "/prod", second->host_port() + "/prod"},
                                      *images);
    }
    static void TearDownTestSuite() {
        fs::remove_all(*work);
        delete work;
        delete images;
        delete source;
        delete first;
        delete second;
    }

    struct run_result {
        int status = -1;
        std::string out;
    };

    /// Runs hoist; killed after `seconds` (0: never), which then shows as status 124.
    static run_result hoist(const std::string& arguments, int seconds = 0) {
        std::string trust = " --ca-file " + source->ca_file().string() + " --ca-file " +
                            first->ca_file().string() + " --ca-file " + second->ca_file().string() +
                            " ";
        std::string limit = seconds > 0 ? "timeout " + std::to_string(seconds) + " " : "";
        run_result r;
        r.out =
            run_process(limit + std::string(HOIST_BINARY) + trust + arguments + " 2>&1", &r.status);
        return r;
    }

    /// Pushes `blobs`, then `manifest` as `repository:tag`, to the source registry.
    static net::result<std::string> push_to_source(const std::string& repository,
                                                   const std::string& tag,
                                                   std::vector<std::string> blobs,
                                                   const std::string& manifest,
                                                   const std::string& media_type) {
        testsupport::client_setup setup;
        setup.ca_files = {source->ca_file().string()};
        return testsupport::run_client<net::result<std::string>>(
            setup, [&](reg::registry_client& client) -> asio::awaitable<net::result<std::string>> {
                reg::repository_ref repo{source->host_port(), repository};
                auto until = net::deadline::from_now(std::chrono::seconds(60));
                for (const auto& blob : blobs) {
                    reg::memory_blob_source bytes(blob);
                    auto put = co_await client.push_blob(repo, crypto::digest_of(blob),
                                                         static_cast<std::int64_t>(blob.size()),
                                                         bytes, until);
                    if (!put) {
                        co_return put.error();
                    }
                }
                co_return co_await client.put_manifest(repo, tag, manifest, media_type, until);
            });
    }

    /// Promotes the one image `name:tag`, whose manifest is `body`, from
    /// `<source>/staging-<set>` to `<first>/<set>-prod` with `cip`, checks that it arrived
    /// byte for byte, and returns the run's report (null when the run failed).
    static nlohmann::json promote_single_image(const std::string& set, const std::string& name,
                                               const std::string& tag, const std::string& body) {
        testkit::write_thin_manifests(
            *work / set, "staging-" + set, source->host_port() + "/staging-" + set,
            {first->host_port() + "/" + set + "-prod"}, {{name, tag, crypto::digest_of(body)}});
        auto report_path = *work / (set + ".json");
        auto run = hoist("cip --confirm --sign=false --thin-manifest-dir " +
                         (*work / set).string() + " --report " + report_path.string());
        EXPECT_EQ(run.status, 0) << run.out;
        if (run.status != 0) {
            return nlohmann::json();
        }
        EXPECT_EQ(testsupport::skopeo_raw(first->host_port(), first->ca_file().string(),
                                          set + "-prod/" + name + ":" + tag),
                  body);
        return read_report(report_path);
    }

    static nlohmann::json read_report(const fs::path& path) {
        std::ifstream in(path);
        return nlohmann::json::parse(in);
    }

    static inline registry_instance* source = nullptr;
    static inline registry_instance* first = nullptr;
    static inline registry_instance* second = nullptr;
    static inline fs::path* work = nullptr;
    static inline testkit::staging_set_spec spec;
    static inline std::vector<testkit::staging_image>* images = nullptr;
};

TEST_F(CipPromote, PromotesEveryImageByteForByteThenRerunsAsANoOp) {
    auto report_path = *work / "first.json";
    auto source_before = testsupport::settled_log(*source).size();
    std::map<const registry_instance*, std::size_t> destination_before{
        {first, testsupport::settled_log(*first).size()},
        {second, testsupport::settled_log(*second).size()}};
    auto run = hoist("cip --confirm --sign=false --thin-manifest-dir " +
                     (*work / "promo").string() + " --report " + report_path.string());
    ASSERT_EQ(run.status, 0) << run.out;
    // Each blob is read from the source once, for both destinations and for every image
    // that shares it (the others mount it where the first one put it).
    std::map<std::string, int> blob_reads;
    auto source_log = testsupport::settled_log(*source);
    for (std::size_t i = source_before; i < source_log.size(); ++i) {
        const auto& line = source_log[i];
        auto at = line.find("/blobs/sha256:");
        if (line.find("\"GET /v2/staging/") != std::string::npos && at != std::string::npos) {
            ++blob_reads[line.substr(at + 7, 71)];
        }
    }
    EXPECT_FALSE(blob_reads.empty());
    for (const auto& [digest, reads] : blob_reads) {
        EXPECT_EQ(reads, 1) << digest;
    }
    // ... and uploaded once into each destination registry: every blob is committed there
    // exactly once (the other repositories mount it).
    for (const auto& [destination, before] : destination_before) {
        std::map<std::string, int> commits;
        auto log = testsupport::settled_log(*destination);
        for (std::size_t i = before; i < log.size(); ++i) {
            const auto& line = log[i];
            auto at = line.find("digest=sha256");
            if (line.find("\"PUT /v2/prod/") != std::string::npos &&
                line.find("/blobs/uploads/") != std::string::npos && at != std::string::npos) {
                auto colon = line.find_first_of(":%", at);  // "sha256:" or "sha256%3A"
                ++commits[line.substr(colon + (line[colon] == ':' ? 1 : 3), 64)];
            }
        }
        EXPECT_EQ(commits.size(), blob_reads.size()) << destination->host_port();
        for (const auto& [hex, count] : commits) {
            EXPECT_EQ(count, 1) << destination->host_port() << " sha256:" << hex;
            EXPECT_TRUE(blob_reads.contains("sha256:" + hex)) << hex;
        }
    }
    EXPECT_NE(run.out.find("[promote] done"), std::string::npos) << run.out;

    auto report = read_report(report_path);
    EXPECT_EQ(report["status"], "done");
    EXPECT_EQ(report["plan"]["summary"]["promote"], 16);
    EXPECT_EQ(report["promote"]["edges_promoted"], 16);
    EXPECT_EQ(report["promote"]["edges_failed"], 0);
    // The base layer is uploaded once per destination registry and mounted into the
    // other repositories there.
    EXPECT_GT(report["promote"]["blobs_mounted"].get<int>(), 0);
    for (const auto& edge : report["plan"]["edges"]) {
        EXPECT_EQ(edge["result"], "promoted") << edge.dump();
    }

    // Every tag and every index child, byte for byte as skopeo reads them.
    std::string source_ca = source->ca_file().string();
    for (const auto* destination : {first, second}) {
        std::string ca = destination->ca_file().string();
        for (const auto& image : *images) {
            std::string name = image.repository + ":" + image.tag;
            auto expected =
                testsupport::skopeo_raw(source->host_port(), source_ca, "staging/" + name);
            EXPECT_EQ(testsupport::skopeo_raw(destination->host_port(), ca, "prod/" + name),
                      expected);
            auto parsed = nlohmann::json::parse(expected);
            if (parsed.contains("manifests")) {
                for (const auto& child : parsed["manifests"]) {
                    std::string at = image.repository + "@" + child["digest"].get<std::string>();
                    EXPECT_EQ(
                        testsupport::skopeo_raw(destination->host_port(), ca, "prod/" + at),
                        testsupport::skopeo_raw(source->host_port(), source_ca, "staging/" + at));
                }
            }
        }
    }

    // A second run finds everything present and writes nothing.
    auto puts_first = count_lines(*first, "\"PUT /v2/prod/");
    auto puts_second = count_lines(*second, "\"PUT /v2/prod/");
    EXPECT_GT(puts_first, 0u);  // the log shows the first run's writes (only it writes prod/)
    EXPECT_GT(puts_second, 0u);
    auto posts = count_lines(*first, "\"POST ") + count_lines(*second, "\"POST ");
    auto rerun = hoist("cip --confirm --sign=false --thin-manifest-dir " +
                       (*work / "promo").string() + " --report " + (*work / "rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    auto again = read_report(*work / "rerun.json");
    EXPECT_EQ(again["plan"]["summary"]["present"], 16);
    EXPECT_EQ(again["plan"]["summary"]["promote"], 0);
    EXPECT_EQ(count_lines(*first, "\"PUT /v2/prod/"), puts_first);
    EXPECT_EQ(count_lines(*second, "\"PUT /v2/prod/"), puts_second);
    EXPECT_EQ(count_lines(*first, "\"POST ") + count_lines(*second, "\"POST "), posts);
}

TEST_F(CipPromote, RefusedPlansWriteNothing) {
    // img-001:v1.0.0 at the destination is another image: the manifest below asks to move
    // that tag, and also names a digest the source does not have.
    fs::path promo = *work / "refused";
    // A third edge could go on its own: the refusal must stop it all the same.
    std::vector<testkit::staging_image> wanted{(*images)[2], (*images)[3], (*images)[0]};
    wanted[0].tag = (*images)[3].tag;  // img-001 tag v1.1.0 → the digest of another tag
    wanted[1].digest = "sha256:" + std::string(64, 'd');
    wanted[1].tag = "v9";
    testkit::write_thin_manifests(promo, "staging", source->host_port() + "/staging",
                                  {first->host_port() + "/fresh"}, wanted);
    // First put the real v1.1.0 in place, then try to move it.
    std::vector<testkit::staging_image> real{(*images)[3]};
    testkit::write_thin_manifests(*work / "real", "staging", source->host_port() + "/staging",
                                  {first->host_port() + "/fresh"}, real);
    ASSERT_EQ(
        hoist("cip --confirm --sign=false --thin-manifest-dir " + (*work / "real").string()).status,
        0);

    auto puts = count_lines(*first, "\"PUT ");
    auto posts = count_lines(*first, "\"POST ");
    auto run = hoist("cip --confirm --sign=false --thin-manifest-dir " + promo.string() +
                     " --report " + (*work / "refused.json").string());
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_NE(run.out.find("refused: "), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("lost: "), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("[plan] refused"), std::string::npos) << run.out;
    auto report = read_report(*work / "refused.json");
    EXPECT_EQ(report["status"], "refused");
    EXPECT_EQ(report["plan"]["summary"]["promote"], 1) << report["plan"].dump();
    EXPECT_FALSE(report.contains("promote"));
    EXPECT_EQ(count_lines(*first, "\"PUT "), puts);
    EXPECT_EQ(count_lines(*first, "\"POST "), posts);
}

// A copy that streams holds two requests at once: the download, and the upload it feeds.
// With one place in the budget for everything, the upload must not queue for a place its
// own download holds (it did, and the run hung until its deadline).
TEST_F(CipPromote, ABudgetOfOneRequestStillStreamsLargeBlobs) {
    // Above the 8 MiB of a single PUT: PATCHes fed by a GET.
    auto pushed = testsupport::push_single_layer_images(*source, "staging-big", 2, 12u << 20, 6);
    ASSERT_EQ(pushed.size(), 2u);
    testkit::write_thin_manifests(*work / "big", "staging-big",
                                  source->host_port() + "/staging-big",
                                  {first->host_port() + "/big"}, pushed);

    auto report_path = *work / "big.json";
    auto run = hoist(
        "cip --confirm --sign=false --budget inflight=1,host-inflight=1 "
        "--thin-manifest-dir " +
            (*work / "big").string() + " --report " + report_path.string(),
        60);
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(report_path);
    EXPECT_EQ(report["promote"]["edges_promoted"], 2) << report["promote"].dump();
    std::string ca = first->ca_file().string();
    for (const auto& image : pushed) {
        std::string name = image.repository + ":" + image.tag;
        EXPECT_EQ(testsupport::skopeo_raw(first->host_port(), ca, "big/" + name),
                  testsupport::skopeo_raw(source->host_port(), source->ca_file().string(),
                                          "staging-big/" + name));
    }
}

// A layer too large to keep in memory (above 16 MiB), promoted into two registries: one
// download feeds both uploads at once, so the source serves it once. Each upload still
// verifies what it sends; the manifests arrive byte for byte.
TEST_F(CipPromote, ALargeBlobIsReadOnceForEveryDestinationRegistry) {
    auto pushed = testsupport::push_single_layer_images(*source, "staging-fanout", 1, 24u << 20, 8);
    ASSERT_EQ(pushed.size(), 1u);
    testkit::write_thin_manifests(
        *work / "fanout", "staging-fanout", source->host_port() + "/staging-fanout",
        {first->host_port() + "/fanout", second->host_port() + "/fanout"}, pushed);
    auto source_before = testsupport::settled_log(*source).size();
    auto report_path = *work / "fanout.json";
    auto run = hoist("cip --confirm --sign=false --thin-manifest-dir " +
                         (*work / "fanout").string() + " --report " + report_path.string(),
                     60);
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(report_path);
    EXPECT_EQ(report["promote"]["edges_promoted"], 2) << report["promote"].dump();
    // Two layers of 24 MiB (its own and the base layer) and a config, each read once.
    EXPECT_LT(report["promote"]["source_bytes_read"].get<std::uint64_t>(), 49u << 20)
        << report["promote"].dump();

    std::map<std::string, int> blob_reads;
    auto log = testsupport::settled_log(*source);
    for (std::size_t i = source_before; i < log.size(); ++i) {
        auto at = log[i].find("/blobs/sha256:");
        if (log[i].find("\"GET /v2/staging-fanout/") != std::string::npos &&
            at != std::string::npos) {
            ++blob_reads[log[i].substr(at + 7, 71)];
        }
    }
    EXPECT_EQ(blob_reads.size(), 3u);
    for (const auto& [digest, reads] : blob_reads) {
        EXPECT_EQ(reads, 1) << digest;
    }
    EXPECT_EQ(report["promote"]["blobs_uploaded"], 2 * blob_reads.size())
        << report["promote"].dump();
    const auto& image = pushed[0];
    std::string name = image.repository + ":" + image.tag;
    auto expected = testsupport::skopeo_raw(source->host_port(), source->ca_file().string(),
                                            "staging-fanout/" + name);
    for (const auto* destination : {first, second}) {
        EXPECT_EQ(testsupport::skopeo_raw(destination->host_port(), destination->ca_file().string(),
                                          "fanout/" + name),
                  expected);
    }
}

// A source blob whose stored bytes no longer hash to its digest (the source registry
// serves what it has without checking): every edge of its image fails, whether the blob
// is held whole for two destinations or streamed to one, hoist's own check says why,
// nothing is tagged, and a failure that a retry cannot mend is not retried. The other
// image goes through.
TEST_F(CipPromote, ACorruptSourceBlobFailsItsEdgesAndNothingIsTagged) {
    auto pushed =
        testsupport::push_single_layer_images(*source, "staging-corrupt", 2, 64 << 10, 31);
    ASSERT_EQ(pushed.size(), 2u);
    auto layers_of = [&](const testkit::staging_image& image) {
        auto manifest = nlohmann::json::parse(
            testsupport::skopeo_raw(source->host_port(), source->ca_file().string(),
                                    "staging-corrupt/" + image.repository + ":" + image.tag));
        std::set<std::string> digests;
        for (const auto& layer : manifest["layers"]) {
            digests.insert(layer["digest"].get<std::string>());
        }
        return digests;
    };
    auto other_layers = layers_of(pushed[1]);
    std::string own;  // img-000's own layer, not the base layer both share
    for (const auto& digest : layers_of(pushed[0])) {
        if (!other_layers.contains(digest)) {
            own = digest;
        }
    }
    ASSERT_FALSE(own.empty());
    auto data = source->storage_dir() / "docker/registry/v2/blobs/sha256" / own.substr(7, 2) /
                own.substr(7) / "data";
    {
        std::fstream file(data, std::ios::in | std::ios::out | std::ios::binary);
        ASSERT_TRUE(file.good()) << data;
        file.seekp(100);
        file.put('\x5a');
    }
    for (const auto& [name, destinations] :
         std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"corrupt-two", {first->host_port() + "/corrupt", second->host_port() + "/corrupt"}},
             {"corrupt-one", {first->host_port() + "/corrupt-streamed"}}}) {
        testkit::write_thin_manifests(*work / name, "staging-corrupt",
                                      source->host_port() + "/staging-corrupt", destinations,
                                      pushed);
        auto report_path = *work / (name + ".json");
        auto run = hoist("cip --confirm --sign=false --thin-manifest-dir " +
                             (*work / name).string() + " --report " + report_path.string(),
                         60);
        EXPECT_EQ(run.status, 1) << run.out;
        auto report = read_report(report_path);
        EXPECT_EQ(report["promote"]["edge_retries"], 0) << report["promote"].dump();
        for (const auto& edge : report["plan"]["edges"]) {
            bool corrupt = edge["digest"] == pushed[0].digest;
            EXPECT_EQ(edge.value("result", ""), corrupt ? "failed" : "promoted") << edge.dump();
            if (corrupt) {
                // hoist's own check caught it, before the registry's: no upload committed.
                EXPECT_NE(edge.value("error", "").find(own.substr(0, 19)), std::string::npos)
                    << edge.dump();
                EXPECT_NE(edge.value("error", "").find("content hashes to"), std::string::npos)
                    << edge.dump();
            }
        }
        for (const auto& destination : destinations) {
            for (const auto& image : pushed) {
                auto tagged =
                    hoist("digest " + destination + "/" + image.repository + ":" + image.tag);
                EXPECT_EQ(tagged.status == 0, image.digest != pushed[0].digest)
                    << destination << "/" << image.repository << ": " << tagged.out;
            }
        }
    }
}

// A foreign (non-distributable) layer lives at its URLs, not in the registry: the source
// holds no blob for it and the destination wants none. It is neither read nor pushed, and
// the manifest goes across byte for byte, as registries and skopeo leave such layers.
TEST_F(CipPromote, ForeignLayersAreNeitherReadNorPushed) {
    std::string config =
        R"({"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":[)"
        R"("sha256:1111111111111111111111111111111111111111111111111111111111111111",)"
        R"("sha256:2222222222222222222222222222222222222222222222222222222222222222"]}})";
    std::string layer = "an ordinary layer, pushed with the image";
    const std::string foreign_digest =
        "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    nlohmann::ordered_json manifest = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
        {"config",
         {{"mediaType", "application/vnd.docker.container.image.v1+json"},
          {"size", config.size()},
          {"digest", crypto::digest_of(config)}}},
        {"layers",
         {{{"mediaType", "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"},
           {"size", 104857600},
           {"digest", foreign_digest},
           {"urls", {"https://foreign.example/layers/base.tar.gz"}}},
          {{"mediaType", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
           {"size", layer.size()},
           {"digest", crypto::digest_of(layer)}}}}};
    std::string body = manifest.dump();
    auto pushed = push_to_source("staging-foreign/win", "ltsc", {config, layer}, body,
                                 "application/vnd.docker.distribution.manifest.v2+json");
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    auto source_before = testsupport::settled_log(*source).size();
    auto first_before = testsupport::settled_log(*first).size();
    auto report = promote_single_image("foreign", "win", "ltsc", body);
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["promote"]["edges_promoted"], 1) << report["promote"].dump();
    EXPECT_EQ(report["promote"]["blobs_uploaded"], 2) << report["promote"].dump();
    // `hoist copy` leaves it alone too.
    auto copy = hoist("copy " + source->host_port() + "/staging-foreign/win:ltsc " +
                      second->host_port() + "/foreign-copy/win:ltsc");
    ASSERT_EQ(copy.status, 0) << copy.out;
    EXPECT_EQ(testsupport::skopeo_raw(second->host_port(), second->ca_file().string(),
                                      "foreign-copy/win:ltsc"),
              body);
    std::string foreign_hex = foreign_digest.substr(7);
    for (auto [instance, before] :
         {std::pair{source, source_before}, std::pair{first, first_before},
          std::pair{second, std::size_t{0}}}) {
        auto log = testsupport::settled_log(*instance);
        for (std::size_t i = before; i < log.size(); ++i) {
            EXPECT_EQ(log[i].find(foreign_hex), std::string::npos) << log[i];
        }
    }
}

// On a terminal the progress is one bar redrawn in place (carriage return, erase line),
// never a line per update, and it is erased before the summary.
TEST_F(CipPromote, OnATerminalProgressIsOneBarRedrawnInPlace) {
    testkit::write_thin_manifests(*work / "tty", "staging", source->host_port() + "/staging",
                                  {first->host_port() + "/tty"}, *images);
    std::string command = std::string(HOIST_BINARY) + " --ca-file " + source->ca_file().string() +
                          " --ca-file " + first->ca_file().string() +
                          " cip --confirm --sign=false --progress-interval 0.01 "
                          "--thin-manifest-dir " +
                          (*work / "tty").string();
    // script(1) gives hoist a pseudo-terminal as its output and copies what it wrote.
    run_result run;
    run.out = run_process("script -qefc '" + command + "' /dev/null </dev/null 2>&1", &run.status);
    ASSERT_EQ(run.status, 0) << run.out;
    const std::string redraw = "\r\x1b[K[promote] [";
    std::size_t redraws = 0;
    for (auto at = run.out.find(redraw); at != std::string::npos;
         at = run.out.find(redraw, at + 1)) {
        ++redraws;
    }
    EXPECT_GE(redraws, 2u) << run.out;
    EXPECT_FALSE(
        std::regex_search(run.out, std::regex(R"(\[promote\] \[[#.]{24}\][^\r\n\x1b]*\r?\n)")))
        << "a progress line ended in a newline:\n"
        << run.out;
    // The last bar is erased, then the summary follows on a clean line.
    auto summary = run.out.find("[promote] done");
    ASSERT_NE(summary, std::string::npos) << run.out;
    EXPECT_LT(run.out.rfind(redraw, summary), run.out.rfind("\r\x1b[K", summary)) << run.out;
}

// The report's accounting per phase and host is what the registries saw: every PUT and
// POST of Promote, counted by method and status, matches the destination's access log;
// the budgets are the ones asked for, per phase (--request-timeout the timeout of all);
// --metrics says the same in Prometheus text.
TEST_F(CipPromote, ReportAndMetricsAccountForEveryPhase) {
    std::vector<testkit::staging_image> wanted(images->begin(), images->begin() + 4);
    testkit::write_thin_manifests(*work / "accounted", "staging", source->host_port() + "/staging",
                                  {first->host_port() + "/accounted"}, wanted);
    auto before = testsupport::settled_log(*first).size();
    auto report_path = *work / "accounted.json";
    auto metrics_path = *work / "accounted.prom";
    auto run = hoist(
        "--request-timeout 45 cip --confirm --sign=false --budget promote:inflight=7,rate=0 "
        "--budget attempts=4 --thin-manifest-dir " +
        (*work / "accounted").string() + " --report " + report_path.string() + " --metrics " +
        metrics_path.string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(report_path);

    std::vector<std::string> names;
    for (const auto& phase : report["phases"]) {
        names.push_back(phase["name"]);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"setup", "plan", "provenance", "validate", "promote",
                                               "sign", "attest"}));
    const nlohmann::json* promote = nullptr;
    const nlohmann::json* plan = nullptr;
    for (const auto& phase : report["phases"]) {
        if (!phase.value("ran", false)) {
            continue;
        }
        EXPECT_EQ(phase["budget"]["attempts"], 4) << phase.dump();
        EXPECT_EQ(phase["budget"]["timeout_seconds"], 45.0) << phase.dump();
        if (phase["name"] == "promote") {
            promote = &phase;
        } else if (phase["name"] == "plan") {
            plan = &phase;
        }
    }
    ASSERT_NE(promote, nullptr) << report["phases"].dump();
    ASSERT_NE(plan, nullptr) << report["phases"].dump();
    // Setup's pings are counted too, one per registry.
    const auto& setup = report["phases"][0];
    for (const auto* registry : {source, first}) {
        EXPECT_EQ(setup["hosts"][registry->host_port()]["requests"]["GET"]["200"], 1)
            << setup.dump();
    }
    EXPECT_EQ((*promote)["budget"]["inflight"], 7);
    EXPECT_EQ((*promote)["budget"]["rate"], 0.0);
    EXPECT_EQ((*plan)["budget"]["inflight"], 512);

    // Promote's writes, as hoist counted them and as the registry logged them.
    auto log = testsupport::settled_log(*first);
    std::map<std::string, std::size_t> logged;
    for (std::size_t i = before; i < log.size(); ++i) {
        for (const char* method : {"PUT", "POST", "PATCH"}) {
            if (log[i].find(std::string("\"") + method + " /v2/accounted/") != std::string::npos) {
                ++logged[method];
            }
        }
    }
    const auto& destination = (*promote)["hosts"][first->host_port()];
    ASSERT_TRUE(destination.is_object()) << (*promote)["hosts"].dump();
    std::map<std::string, std::size_t> counted;
    for (const auto& [method, statuses] : destination["requests"].items()) {
        for (const auto& [status, count] : statuses.items()) {
            if (method != "HEAD" && method != "GET") {
                counted[method] += count.get<std::size_t>();
            }
        }
    }
    EXPECT_GT(logged["PUT"], 0u);
    EXPECT_EQ(counted, logged) << destination.dump();
    EXPECT_GT(destination["bytes_sent"].get<std::uint64_t>(), 0u);

    std::ifstream in(metrics_path);
    std::string metrics((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t put_series = 0;
    std::string prefix = "hoist_requests_total{phase=\"promote\",host=\"" + first->host_port() +
                         "\",method=\"PUT\",status=\"";
    std::size_t summed = 0;
    for (std::size_t at = metrics.find(prefix); at != std::string::npos;
         at = metrics.find(prefix, at + 1)) {
        ++put_series;
        auto value = metrics.find("} ", at);
        summed += std::stoul(metrics.substr(value + 2));
    }
    EXPECT_GT(put_series, 0u) << metrics;
    EXPECT_EQ(summed, logged["PUT"]) << metrics;
    EXPECT_NE(metrics.find("hoist_phase_duration_seconds{phase=\"promote\",status=\"done\"}"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("hoist_promoted_edges{result=\"promoted\"} 4"), std::string::npos)
        << metrics;
}

// kpromo's manifests name Docker v2 manifest lists as often as OCI indexes: one is
// promoted with its media types and bytes, and so are its children.
TEST_F(CipPromote, DockerManifestListsArePromotedByteForByte) {
    testkit::image_spec spec;
    spec.oci = false;
    spec.platforms = {"linux/amd64", "linux/arm64"};
    spec.seed = 77;
    auto image = testkit::build_image(spec);
    testsupport::client_setup setup;
    setup.ca_files = {source->ca_file().string()};
    auto pushed = testsupport::run_client<net::result<std::string>>(
        setup, [&image](reg::registry_client& client) {
            return testkit::push_image(client, {source->host_port(), "staging-docker/app"}, "v1",
                                       image, net::deadline::from_now(std::chrono::seconds(60)));
        });
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    testkit::write_thin_manifests(
        *work / "docker", "staging-docker", source->host_port() + "/staging-docker",
        {first->host_port() + "/docker-prod"}, {{"app", "v1", image.top.digest}});
    auto run =
        hoist("cip --confirm --sign=false --thin-manifest-dir " + (*work / "docker").string());
    ASSERT_EQ(run.status, 0) << run.out;
    std::string ca = first->ca_file().string();
    std::string source_ca = source->ca_file().string();
    auto list = testsupport::skopeo_raw(first->host_port(), ca, "docker-prod/app:v1");
    EXPECT_EQ(list, image.top.body);
    EXPECT_EQ(nlohmann::json::parse(list)["mediaType"],
              "application/vnd.docker.distribution.manifest.list.v2+json");
    for (const auto& child : image.manifests) {
        EXPECT_EQ(
            testsupport::skopeo_raw(first->host_port(), ca, "docker-prod/app@" + child.digest),
            child.body);
    }
}

// The workload generator behind the benchmarks and the demo: the same seed gives the same
// images, another seed others.
TEST_F(CipPromote, TheWorkloadGeneratorIsDeterministicBySeed) {
    testsupport::client_setup setup;
    setup.ca_files = {first->ca_file().string()};
    auto push = [&](const std::string& path, std::uint64_t seed) {
        auto other = spec;
        other.seed = seed;
        return testsupport::run_client<net::result<std::vector<testkit::staging_image>>>(
            setup, [&](reg::registry_client& client) {
                return testkit::push_staging_set(client, first->host_port() + "/" + path, other, 8,
                                                 net::deadline::from_now(std::chrono::seconds(60)));
            });
    };
    auto same = push("seeded-again", spec.seed);
    ASSERT_TRUE(same.has_value()) << same.error().message();
    ASSERT_EQ(same->size(), images->size());
    for (std::size_t i = 0; i < images->size(); ++i) {
        EXPECT_EQ((*same)[i].repository, (*images)[i].repository);
        EXPECT_EQ((*same)[i].tag, (*images)[i].tag);
        EXPECT_EQ((*same)[i].digest, (*images)[i].digest) << (*images)[i].repository;
    }
    auto other = push("seeded-otherwise", spec.seed + 1);
    ASSERT_TRUE(other.has_value()) << other.error().message();
    ASSERT_EQ(other->size(), images->size());
    for (std::size_t i = 0; i < images->size(); ++i) {
        EXPECT_NE((*other)[i].digest, (*images)[i].digest) << (*images)[i].repository;
    }
}

// An OCI artifact: a config of its own media type and a layer that is no filesystem. It is
// promoted byte for byte, its blobs with it.
TEST_F(CipPromote, ArtifactsWithANonImageConfigArePromotedAsTheyAre) {
    std::string config = R"({"kind":"example artifact","version":1})";
    std::string data = "not a tar: the payload of an artifact";
    nlohmann::ordered_json manifest = {{"schemaVersion", 2},
                                       {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                       {"artifactType", "application/vnd.example.artifact.v1"},
                                       {"config",
                                        {{"mediaType", "application/vnd.example.config.v1+json"},
                                         {"digest", crypto::digest_of(config)},
                                         {"size", config.size()}}},
                                       {"layers",
                                        {{{"mediaType", "application/vnd.example.data.v1"},
                                          {"digest", crypto::digest_of(data)},
                                          {"size", data.size()}}}}};
    std::string body = manifest.dump();
    auto pushed = push_to_source("staging-artifacts/art", "a1", {config, data}, body,
                                 "application/vnd.oci.image.manifest.v1+json");
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    auto report = promote_single_image("artifacts", "art", "a1", body);
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["promote"]["edges_promoted"], 1) << report["promote"].dump();
    EXPECT_EQ(report["promote"]["blobs_uploaded"], 2) << report["promote"].dump();
}

}  // namespace
}  // namespace hoist
