// SPDX-License-Identifier: Apache-2.0
// `hoist cip` planning against real registries: every edge decided (promote, present,
// tag move, lost), the requests it took, shards, snapshots that read back, and nothing
// sent to any registry when the manifests are invalid.
#include "tests/support/client_harness.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
using testkit::registry_instance;
using testsupport::run_process;

using testsupport::start_registry;

struct run_result {
    int status = -1;
    std::string out;
};

fs::path make_temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "hoist-cip-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) {
        ADD_FAILURE() << "mkdtemp failed";
        std::abort();
    }
    return made;
}

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

/// destination@digest → outcome, from a --report file.
std::map<std::string, std::string> outcomes(const nlohmann::json& report) {
    std::map<std::string, std::string> out;
    for (const auto& edge : report["plan"]["edges"]) {
        out[edge["destination"].get<std::string>() + "@" + edge["digest"].get<std::string>()] =
            edge["outcome"].get<std::string>();
    }
    return out;
}

class CipPlan : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        source = new registry_instance(start_registry());
        destination = new registry_instance(start_registry());
        images = new std::vector<testkit::built_image>();
        for (std::uint64_t seed : {101, 102, 103, 104}) {
            testkit::image_spec spec;
            spec.seed = seed;
            spec.layers = 1;
            spec.base_seed = 7;
            if (seed == 101) {
                spec.platforms = {"linux/amd64", "linux/arm64"};
            }
            images->push_back(testkit::build_image(spec));
        }
        // Source: app:1.0 = image 0 (an index), app:1.1 = image 1, tagless = image 2 by
        // digest. Image 3 is nowhere in the source.
        push(*source, "staging/app", "1.0", 0);
        push(*source, "staging/app", "1.1", 1);
        push(*source, "staging/tagless", "", 2);
        // Destination prod-a already has app:1.0 and the tagless digest; prod-b is empty.
        push(*destination, "prod-a/app", "1.0", 0);
        push(*destination, "prod-a/tagless", "", 2);
        work = new fs::path(make_temp_dir());
    }
    static void TearDownTestSuite() {
        fs::remove_all(*work);
        delete work;
        delete images;
        delete source;
        delete destination;
    }

    static void push(registry_instance& registry, const std::string& repository,
                     const std::string& tag, std::size_t image) {
        testsupport::client_setup setup;
        setup.ca_files = {registry.ca_file().string()};
        const auto& built = (*images)[image];
        auto pushed =
            testsupport::run_client<net::result<std::string>>(setup, [&](reg::registry_client& c) {
                return testkit::push_image(c, {registry.host_port(), repository}, tag, built,
                                           net::deadline::from_now(std::chrono::seconds(30)));
            });
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    }

    static const std::string& digest(std::size_t image) { return (*images)[image].top.digest; }

    static std::string src() { return source->host_port() + "/staging"; }
    static std::string dst_a() { return destination->host_port() + "/prod-a"; }
    static std::string dst_b() { return destination->host_port() + "/prod-b"; }

    static std::string manifest(const std::string& images_yaml) {
        return "registries:\n- name: " + src() + "\n  src: true\n- name: " + dst_a() +
               "\n- name: " + dst_b() + "\nimages:\n" + images_yaml;
    }

    static std::string standard_images() {
        return "- name: app\n  dmap:\n    \"" + digest(0) + "\": [\"1.0\"]\n    \"" + digest(1) +
               "\": [\"1.1\"]\n- name: tagless\n  dmap:\n    \"" + digest(2) + "\": []\n";
    }

    /// Runs hoist with both registries trusted; `redirect` chooses what `out` holds.
    static run_result hoist(const std::string& arguments, const std::string& redirect = " 2>&1") {
        std::string trust = " --ca-file " + source->ca_file().string() + " --ca-file " +
                            destination->ca_file().string() + " ";
        run_result r;
        r.out = run_process(std::string(HOIST_BINARY) + trust + arguments + redirect, &r.status);
        return r;
    }

    static fs::path file(const std::string& name) { return *work / name; }

    static inline registry_instance* source = nullptr;
    static inline registry_instance* destination = nullptr;
    static inline std::vector<testkit::built_image>* images = nullptr;
    static inline fs::path* work = nullptr;
};

TEST_F(CipPlan, DryRunDecidesEveryEdgeWithFewRequests) {
    write_file(file("plan.yaml"), manifest(standard_images()));
    auto run = hoist("cip --manifest " + file("plan.yaml").string() + " --report " +
                     file("plan.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("dry run complete"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("4 to promote, 2 present, 0 refused"), std::string::npos) << run.out;

    auto report = read_json(file("plan.json"));
    EXPECT_EQ(outcomes(report),
              (std::map<std::string, std::string>{{dst_a() + "/app@" + digest(0), "present"},
                                                  {dst_a() + "/app@" + digest(1), "promote"},
                                                  {dst_a() + "/tagless@" + digest(2), "present"},
                                                  {dst_b() + "/app@" + digest(0), "promote"},
                                                  {dst_b() + "/app@" + digest(1), "promote"},
                                                  {dst_b() + "/tagless@" + digest(2), "promote"}}));
    // Listings: the 4 destination repositories, and one source repository to probe for
    // a digest map (docker-registry has none, so the other source is not listed). HEADs:
    // prod-a app:1.0 (the listing shows the tag, not its digest), the tagless digest in
    // prod-a and prod-b (docker-registry lists no untagged manifests), and the three
    // source digests still to promote.
    const auto& requests = report["plan"]["requests"];
    EXPECT_EQ(requests["listings"], 5);
    EXPECT_EQ(requests["heads"], 6);
    EXPECT_EQ(requests["minimum"], 7);
    for (const auto& edge : report["plan"]["edges"]) {
        if (edge["outcome"] == "promote" && edge["destination"] == dst_b() + "/app") {
            EXPECT_EQ(edge["missing_tags"], edge["tags"]);
            EXPECT_EQ(edge["digest_present"], false);
        }
    }
}

TEST_F(CipPlan, TagMoveIsRefusedAndNamed) {
    // prod-a's app:1.0 is image 0; a manifest that gives 1.0 to image 1 asks for a move.
    write_file(file("move.yaml"),
               manifest("- name: app\n  dmap:\n    \"" + digest(1) + "\": [\"1.0\"]\n"));
    auto run = hoist("cip --manifest " + file("move.yaml").string() + " --report " +
                     file("move.json").string());
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_NE(run.out.find("refused: " + dst_a() + "/app wants " + digest(1)), std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("tag 1.0 points at " + digest(0)), std::string::npos) << run.out;
    auto edges = outcomes(read_json(file("move.json")));
    EXPECT_EQ(edges[dst_a() + "/app@" + digest(1)], "tag-move");
    EXPECT_EQ(edges[dst_b() + "/app@" + digest(1)], "promote");
}

TEST_F(CipPlan, LostDigestIsAnErrorNamingIt) {
    write_file(file("lost.yaml"),
               manifest("- name: app\n  dmap:\n    \"" + digest(3) + "\": [\"9.9\"]\n"));
    auto run = hoist("cip --manifest " + file("lost.yaml").string());
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_NE(run.out.find("lost: " + src() + "/app@" + digest(3)), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("missing from the source"), std::string::npos) << run.out;
}

TEST_F(CipPlan, InvalidManifestsTouchNoRegistry) {
    auto source_lines = source->access_log().size();
    auto destination_lines = destination->access_log().size();
    write_file(file("bad.yaml"),
               manifest("- name: app\n  dmap:\n    \"sha256:abc\": [\"1.0\"]\n    \"" + digest(0) +
                        "\": [\"bad tag\"]\n"));
    auto run = hoist("cip --manifest " + file("bad.yaml").string());
    EXPECT_EQ(run.status, 2) << run.out;
    EXPECT_NE(run.out.find("bad.yaml:9:5: image \"app\": invalid digest \"sha256:abc\""),
              std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("invalid tag \"bad tag\""), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("2 problems"), std::string::npos) << run.out;
    EXPECT_EQ(source->access_log().size(), source_lines);
    EXPECT_EQ(destination->access_log().size(), destination_lines);
}

TEST_F(CipPlan, ParseOnlyIsOffline) {
    // Registries nobody listens on: parsing must not try them.
    write_file(file("offline.yaml"),
               "registries:\n- name: 127.0.0.1:9/staging\n  src: true\n- name: 127.0.0.1:9/prod\n"
               "images:\n- name: app\n  dmap:\n    \"" +
                   digest(0) + "\": [\"1.0\"]\n");
    auto run = hoist("cip --parse-only --manifest " + file("offline.yaml").string());
    EXPECT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("1 edges"), std::string::npos) << run.out;
}

TEST_F(CipPlan, ShardsTogetherGiveTheWholePlan) {
    // Twelve images to spread over repositories, so that shards differ.
    std::string images_yaml;
    for (int i = 0; i < 12; ++i) {
        images_yaml +=
            "- name: app" + std::to_string(i) + "\n  dmap:\n    \"" + digest(0) + "\": [\"1.0\"]\n";
    }
    write_file(file("shards.yaml"), manifest(images_yaml));
    auto whole = hoist("cip --manifest " + file("shards.yaml").string() + " --report " +
                       file("whole.json").string());
    // app0..app11 are lost (not in the source): the plan fails, but is complete.
    ASSERT_EQ(whole.status, 1) << whole.out;
    auto expected = outcomes(read_json(file("whole.json")));
    ASSERT_EQ(expected.size(), 24u);
    std::map<std::string, std::string> united;
    for (int i = 0; i < 3; ++i) {
        auto report = file("shard" + std::to_string(i) + ".json");
        hoist("cip --manifest " + file("shards.yaml").string() + " --shard " + std::to_string(i) +
              "/3 --report " + report.string());
        auto part = outcomes(read_json(report));
        EXPECT_FALSE(part.empty()) << "shard " << i;
        for (const auto& [edge, outcome] : part) {
            EXPECT_TRUE(united.emplace(edge, outcome).second) << edge << " in two shards";
        }
    }
    EXPECT_EQ(united, expected);
    EXPECT_EQ(hoist("cip --manifest " + file("shards.yaml").string() + " --shard 3/3").status, 2);
}

TEST_F(CipPlan, SnapshotReadsBackAsAnImagesFile) {
    auto snapshot = hoist("cip --snapshot " + dst_a(), " 2>/dev/null");
    ASSERT_EQ(snapshot.status, 0) << snapshot.out;
    EXPECT_EQ(snapshot.out, "- name: app\n  dmap:\n    \"" + digest(0) +
                                "\": [\"1.0\"]\n\n");  // the tagless image has no tag to list

    // Round trip: the snapshot is the images.yaml of a thin tree that hoist parses.
    write_file(file("thin/manifests/p/promoter-manifest.yaml"),
               "registries:\n- name: " + dst_a() + "\n  src: true\n- name: " + dst_b() + "\n");
    write_file(file("thin/images/p/images.yaml"), snapshot.out);
    auto parsed = hoist("cip --parse-only --thin-manifest-dir " + file("thin").string());
    EXPECT_EQ(parsed.status, 0) << parsed.out;
    EXPECT_NE(parsed.out.find("1 images, 1 image/digest pairs, 1 tags"), std::string::npos)
        << parsed.out;

    auto csv = hoist("cip --output CSV --snapshot " + dst_a(), " 2>/dev/null");
    EXPECT_EQ(csv.out, "app@" + digest(0) + ",app:1.0\n\n");
    auto filtered = hoist("cip --snapshot " + src() + " --snapshot-tag 1.1", " 2>/dev/null");
    EXPECT_EQ(filtered.out, "- name: app\n  dmap:\n    \"" + digest(1) + "\": [\"1.1\"]\n\n");
}

TEST_F(CipPlan, ManifestBasedSnapshotNeedsNoRegistry) {
    write_file(file("mbs/manifests/p/promoter-manifest.yaml"),
               "registries:\n- name: 127.0.0.1:9/staging\n  src: true\n"
               "- name: 127.0.0.1:9/prod\n- name: 127.0.0.1:9/prod/mirror\n"
               "- name: 127.0.0.1:9/production\n");
    write_file(file("mbs/images/p/images.yaml"), "- name: app\n  dmap:\n    \"" + digest(1) +
                                                     "\": [\"1.1\", \"1\"]\n    \"" + digest(0) +
                                                     "\": []\n");
    auto run = hoist("cip --thin-manifest-dir " + file("mbs").string() +
                         " --manifest-based-snapshot-of 127.0.0.1:9/prod",
                     " 2>/dev/null");
    EXPECT_EQ(run.status, 0);
    // Digests sorted, tags sorted; the tagless entry keeps its own line.
    std::map<std::string, std::string> lines{{digest(0), "[]"}, {digest(1), "[\"1\", \"1.1\"]"}};
    std::string expected_app = "  dmap:\n";
    for (const auto& [digest_text, tags] : lines) {
        expected_app += "    \"" + digest_text + "\": " + tags + "\n";
    }
    // 127.0.0.1:9/production is another registry path, not a child of 127.0.0.1:9/prod.
    EXPECT_EQ(run.out,
              "- name: app\n" + expected_app + "- name: mirror/app\n" + expected_app + "\n");
}

TEST_F(CipPlan, DiffSinceWithNothingNewIsNothingToDo) {
    fs::path repo = file("gitrepo");
    write_file(repo / "manifests/p/promoter-manifest.yaml",
               "registries:\n- name: 127.0.0.1:9/staging\n  src: true\n- name: 127.0.0.1:9/prod\n");
    write_file(repo / "images/p/images.yaml",
               "- name: app\n  dmap:\n    \"" + digest(0) + "\": [\"1.0\"]\n");
    std::string git = "git -C " + repo.string() + " -c user.name=t -c user.email=t@invalid ";
    std::string old_date =
        "GIT_AUTHOR_DATE=2020-01-01T00:00:00Z "
        "GIT_COMMITTER_DATE=2020-01-01T00:00:00Z ";
    ASSERT_EQ(
        std::system((git + "init -q && " + git + "add -A && " + old_date + git + "commit -q -m old")
                        .c_str()),
        0);
    write_file(repo / "images/p/images.yaml", "- name: app\n  dmap:\n    \"" + digest(0) +
                                                  "\": [\"1.0\"]\n    \"" + digest(1) +
                                                  "\": [\"1.1\"]\n");
    ASSERT_EQ(std::system((git + "add -A && " + git + "commit -q -m new").c_str()), 0);

    auto none = hoist("cip --thin-manifest-dir " + repo.string() +
                      " --manifest-diff-since '1970-01-02' --parse-only");
    // Every commit is in that window; the oldest has no parent, so only the new digest
    // counts.
    EXPECT_EQ(none.status, 0) << none.out;
    EXPECT_NE(none.out.find("1 image/digest pairs"), std::string::npos) << none.out;

    auto later =
        hoist("cip --thin-manifest-dir " + repo.string() + " --manifest-diff-since '2099-01-01'");
    EXPECT_EQ(later.status, 0) << later.out;
    EXPECT_NE(later.out.find("no manifests to process"), std::string::npos) << later.out;
}

TEST_F(CipPlan, ConflictingFlagsAreUsageErrors) {
    write_file(file("flags.yaml"), manifest(standard_images()));
    auto both = hoist("cip --manifest " + file("flags.yaml").string() + " --thin-manifest-dir " +
                      work->string());
    EXPECT_EQ(both.status, 2);
    EXPECT_NE(both.out.find("cannot be used together"), std::string::npos) << both.out;
    EXPECT_EQ(hoist("cip").status, 2);
    EXPECT_EQ(hoist("cip --manifest x --output json").status, 2);
    EXPECT_EQ(hoist("cip --manifest x --no-such-flag").status, 2);
    EXPECT_EQ(hoist("cip --manifest x --log-level loud").status, 2);
}

}  // namespace
}  // namespace hoist
