// SPDX-License-Identifier: Apache-2.0
// Snapshot rendering (kpromo's images.yaml and CSV forms), its round trip through the
// manifest loader, and the manifest-based snapshot of a destination.
#include "engine/plan/snapshot.hpp"
#include "engine/manifest/manifest.hpp"
#include "engine/manifest/validate.hpp"
#include "engine/manifest/yaml_tree.hpp"
#include "engine/plan/edges.hpp"

#include <gtest/gtest.h>

namespace hoist::engine {
namespace {

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');
const std::string digest_c = "sha256:" + std::string(64, 'c');

snapshot sample() {
    snapshot images;
    images["zeta"][digest_b] = {"v2", "latest"};
    images["alpha/sub"][digest_a] = {"1.0"};
    images["alpha/sub"][digest_c] = {};
    return images;
}

TEST(Snapshot, YamlIsSortedAndQuotedAsKpromoPrintsIt) {
    EXPECT_EQ(render_snapshot_yaml(sample()),
              "- name: alpha/sub\n"
              "  dmap:\n"
              "    \"" +
                  digest_a +
                  "\": [\"1.0\"]\n"
                  "    \"" +
                  digest_c +
                  "\": []\n"
                  "- name: zeta\n"
                  "  dmap:\n"
                  "    \"" +
                  digest_b + "\": [\"latest\", \"v2\"]\n");
}

TEST(Snapshot, CsvHasALinePerTagAndADashForTagless) {
    EXPECT_EQ(render_snapshot_csv(sample()),
              "alpha/sub@" + digest_a + ",alpha/sub:1.0\n" + "alpha/sub@" + digest_c + ",-\n" +
                  "zeta@" + digest_b + ",zeta:latest\n" + "zeta@" + digest_b + ",zeta:v2\n");
}

TEST(Snapshot, YamlReadsBackAsTheSameImages) {
    auto text = render_snapshot_yaml(sample()) + "\n";  // kpromo adds an empty line
    diagnostics problems;
    auto document = load_yaml(text, "snapshot.yaml", problems);
    ASSERT_TRUE(document.valid);
    auto images = decode_images(document, "snapshot.yaml", problems);
    ASSERT_TRUE(problems.empty()) << to_string(problems.items().front());
    snapshot back;
    for (const auto& image : images) {
        for (const auto& entry : image.dmap) {
            auto& tags = back[image.name][entry.digest];
            tags.insert(entry.tags.begin(), entry.tags.end());
            EXPECT_TRUE(is_valid_promotion_digest(entry.digest));
        }
    }
    EXPECT_EQ(back, sample());
}

TEST(Snapshot, KeepTaggedKeepsAllTagsOfMatchingDigests) {
    auto images = sample();
    keep_tagged(images, "v2");
    snapshot expected;
    expected["zeta"][digest_b] = {"v2", "latest"};
    EXPECT_EQ(images, expected);
}

promotion_manifest parse(const std::string& text) {
    diagnostics problems;
    auto document = load_yaml(text, "m.yaml", problems);
    auto manifest = decode_plain_manifest(document, "m.yaml", problems);
    EXPECT_TRUE(problems.empty());
    return manifest;
}

TEST(Snapshot, ManifestBasedSnapshotOfADestination) {
    std::vector<promotion_manifest> manifests{
        parse("registries:\n- name: gcr.io/staging\n  src: true\n- name: r.example/prod\n"
              "- name: r.example/prod/nested\n- name: r.example/production\n"
              "images:\n- name: app\n  dmap:\n    \"" +
              digest_a + "\": [\"1.0\"]\n    \"" + digest_b +
              "\": []\n- name: app\n  dmap:\n    \"" + digest_b + "\": [\"2.0\"]\n")};
    merge_repeated_images(manifests[0]);
    auto edges = compute_edges(manifests);
    auto images = manifest_based_snapshot(edges, "r.example/prod/");
    snapshot expected;
    // r.example/production does not start at a path boundary: it is another registry.
    // The tagless entry does not erase the tag another entry gives the same digest.
    expected["app"][digest_a] = {"1.0"};
    expected["app"][digest_b] = {"2.0"};
    expected["nested/app"][digest_a] = {"1.0"};
    expected["nested/app"][digest_b] = {"2.0"};
    EXPECT_EQ(images, expected);
}

}  // namespace
}  // namespace hoist::engine
