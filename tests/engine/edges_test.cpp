// SPDX-License-Identifier: Apache-2.0
// Edges from manifests: one per digest and destination, redundant promotions merged,
// and shards that partition a plan exactly.
#include "engine/plan/edges.hpp"
#include "engine/manifest/loader.hpp"
#include "engine/manifest/yaml_tree.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace hoist::engine {
namespace {

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');
const std::string digest_c = "sha256:" + std::string(64, 'c');

promotion_manifest parse(const std::string& text, const std::string& project) {
    diagnostics problems;
    auto document = load_yaml(text, project, problems);
    auto manifest = decode_plain_manifest(document, project, problems);
    EXPECT_TRUE(problems.empty()) << to_string(problems.items().front());
    manifest.project = project;
    merge_repeated_images(manifest);
    return manifest;
}

std::string manifest_text(const std::string& source, const std::vector<std::string>& destinations,
                          const std::string& images) {
    std::string text = "registries:\n- name: " + source + "\n  src: true\n";
    for (const auto& destination : destinations) {
        text += "- name: " + destination + "\n";
    }
    return text + "images:\n" + images;
}

std::set<std::string> edge_keys(const edge_set& set) {
    std::set<std::string> keys;
    for (const auto& edge : set.edges) {
        std::string key = set.destination_path(edge) + "@" + edge.digest();
        for (const auto& tag : set.tags(edge)) {
            key += " " + tag;
        }
        keys.insert(key);
    }
    return keys;
}

TEST(Edges, OnePerDigestAndDestination) {
    std::vector<promotion_manifest> manifests{
        parse(manifest_text("gcr.io/staging", {"us.gcr.io/prod", "eu.gcr.io/prod"},
                            "- name: app\n  dmap:\n    \"" + digest_a +
                                "\": [\"1.0\", \"1\"]\n    \"" + digest_b + "\": []\n"),
              "p")};
    auto set = compute_edges(manifests);
    ASSERT_EQ(set.edges.size(), 4u);
    EXPECT_EQ(edge_keys(set),
              (std::set<std::string>{
                  "us.gcr.io/prod/app@" + digest_a + " 1.0 1", "us.gcr.io/prod/app@" + digest_b,
                  "eu.gcr.io/prod/app@" + digest_a + " 1.0 1", "eu.gcr.io/prod/app@" + digest_b}));
    for (const auto& edge : set.edges) {
        EXPECT_EQ(set.source_path(edge), "gcr.io/staging/app");
        EXPECT_EQ(edge.source->name, "gcr.io/staging");
    }
    EXPECT_EQ(set.redundant, 0u);
}

TEST(Edges, TheSourceIsNeverADestination) {
    // A registry entry equal to the source (but without src: true) is skipped, as in kpromo.
    std::string text =
        "registries:\n- name: gcr.io/staging\n  src: true\n"
        "- name: gcr.io/staging\n  src: false\n- name: us.gcr.io/prod\n"
        "images:\n- name: app\n  dmap:\n    \"" +
        digest_a + "\": [\"1.0\"]\n";
    std::vector<promotion_manifest> manifests{parse(text, "p")};
    auto set = compute_edges(manifests);
    ASSERT_EQ(set.edges.size(), 1u);
    EXPECT_EQ(set.destination_path(set.edges[0]), "us.gcr.io/prod/app");
}

TEST(Edges, RedundantPromotionsMergeTheirTags) {
    std::vector<promotion_manifest> manifests{
        parse(manifest_text("gcr.io/staging-a", {"us.gcr.io/prod"},
                            "- name: app\n  dmap:\n    \"" + digest_a + "\": [\"1.0\"]\n"),
              "a"),
        parse(manifest_text("gcr.io/staging-b", {"us.gcr.io/prod"},
                            "- name: app\n  dmap:\n    \"" + digest_a + "\": [\"1.0\", \"v1\"]\n"),
              "b")};
    auto set = compute_edges(manifests);
    ASSERT_EQ(set.edges.size(), 1u);
    EXPECT_EQ(set.redundant, 1u);
    // The first manifest's edge is kept, with the union of the tags.
    EXPECT_EQ(set.edges[0].manifest->project, "a");
    EXPECT_EQ(set.tags(set.edges[0]), (std::vector<std::string>{"1.0", "v1"}));
}

TEST(Edges, NestedRegistriesMeetAtTheSameRepository) {
    std::vector<promotion_manifest> manifests{
        parse(manifest_text(
                  "gcr.io/k8s-staging-kubernetes", {"r.example/images"},
                  "- name: kubernetes/pause\n  dmap:\n    \"" + digest_a + "\": [\"3.9\"]\n"),
              "a"),
        parse(manifest_text("gcr.io/k8s-staging-other", {"r.example/images/kubernetes"},
                            "- name: pause\n  dmap:\n    \"" + digest_a + "\": [\"3.9\"]\n    \"" +
                                digest_b + "\": [\"3.10\"]\n"),
              "b")};
    auto set = compute_edges(manifests);
    EXPECT_EQ(set.redundant, 1u);
    EXPECT_EQ(edge_keys(set),
              (std::set<std::string>{"r.example/images/kubernetes/pause@" + digest_a + " 3.9",
                                     "r.example/images/kubernetes/pause@" + digest_b + " 3.10"}));
}

TEST(Edges, RepeatedImageEntriesGiveOneEdgePerDigest) {
    std::vector<promotion_manifest> manifests{
        parse(manifest_text("gcr.io/staging", {"us.gcr.io/prod"},
                            "- name: app\n  dmap:\n    \"" + digest_a + "\": [\"1.0\"]\n" +
                                "- name: app\n  dmap:\n    \"" + digest_a + "\": [\"1\"]\n    \"" +
                                digest_c + "\": [\"2.0\"]\n"),
              "p")};
    auto set = compute_edges(manifests);
    EXPECT_EQ(edge_keys(set), (std::set<std::string>{"us.gcr.io/prod/app@" + digest_a + " 1.0 1",
                                                     "us.gcr.io/prod/app@" + digest_c + " 2.0"}));
}

TEST(Edges, ShardIsStableAndInRange) {
    EXPECT_EQ(shard_of("us.gcr.io/prod/app", 7), shard_of("us.gcr.io/prod/app", 7));
    EXPECT_EQ(shard_of("anything", 1), 0u);
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 200; ++i) {
        auto shard = shard_of("r.example/repo" + std::to_string(i), 4);
        EXPECT_LT(shard, 4u);
        seen.insert(shard);
    }
    EXPECT_EQ(seen.size(), 4u) << "200 repositories should reach every one of 4 shards";
    // FNV-1a of the empty string is its offset basis; pinning it keeps shards stable
    // across releases, so n processes of different versions still agree.
    EXPECT_EQ(shard_of("", 1000), 14695981039346656037ull % 1000);
}

class CorpusEdges : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        corpus = new manifest_set(load_thin_manifests(HOIST_TEST_DATA "/k8sio"));
    }
    static void TearDownTestSuite() { delete corpus; }
    static inline manifest_set* corpus = nullptr;
};

TEST_F(CorpusEdges, CountsMatchTheCorpusStatistics) {
    // STATS.md: 718,960 (destination path, digest) pairs and 9,834 destination
    // repositories; 388 source repositories. The two defective entries do not change
    // this: the short digest is still one digest, the null dmaps have none.
    auto set = compute_edges(corpus->manifests);
    EXPECT_EQ(set.edges.size(), 718'960u);
    EXPECT_EQ(set.repositories.size(), 9'834u + 388u);
    EXPECT_EQ(set.redundant, 0u);
}

TEST_F(CorpusEdges, ShardsPartitionThePlan) {
    auto whole = compute_edges(corpus->manifests);
    constexpr std::uint32_t count = 5;
    std::size_t total = 0;
    std::map<std::string, std::uint32_t> shard_of_repository;
    std::set<std::pair<std::uint32_t, const digest_entry*>> seen;
    for (std::uint32_t index = 0; index < count; ++index) {
        auto shard = compute_edges(corpus->manifests);
        keep_shard(shard, index, count);
        total += shard.edges.size();
        EXPECT_GT(shard.edges.size(), whole.edges.size() / (3 * count)) << "shard " << index;
        for (const auto& edge : shard.edges) {
            EXPECT_TRUE(seen.emplace(edge.destination_repository, edge.entry).second)
                << "edge in two shards: " << shard.destination_path(edge);
            auto [it, inserted] =
                shard_of_repository.try_emplace(shard.destination_path(edge), index);
            EXPECT_EQ(it->second, index) << "repository split across shards";
        }
    }
    EXPECT_EQ(total, whole.edges.size());
    EXPECT_EQ(seen.size(), whole.edges.size());
}

}  // namespace
}  // namespace hoist::engine
