// SPDX-License-Identifier: Apache-2.0
// Thin manifest trees (manifests/<p>/promoter-manifest.yaml + images/<p>/images.yaml):
// kpromo's legacy fixtures, re-created under tests/data/manifests/, and the directory
// rules T1-T6, plus what hoist does differently (rules applied to thin manifests too,
// trailing slash accepted, results independent of the number of threads).

#include "engine/manifest/loader.hpp"
#include "engine/manifest/validate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {
namespace {

namespace fs = std::filesystem;

std::string digest_of(char c) {
    return "sha256:" + std::string(64, c);
}

const std::string kDigestA = digest_of('a');
const std::string kDigestB = digest_of('b');
const std::string kDigestC = digest_of('c');
const std::string kDigestZero = digest_of('0');
const std::string kSingletonDigest =
    "sha256:c3d310f49d1e5b7a3c2f80641e9d7b5a3c1f08e6d4b2a09f7e5c3b1a0d8e28c1";

std::string fixture(std::string_view name) {
    return std::string(HOIST_TEST_DATA) + "/manifests/" + std::string(name);
}

std::string listing(const diagnostics& problems) {
    std::string out;
    for (const auto& d : problems.items()) {
        out += "  " + to_string(d) + "\n";
    }
    return out.empty() ? "  (no diagnostics)\n" : out;
}

/// "file:line:column", or "file" for a problem about a whole file.
std::string where(const diagnostic& d) {
    if (d.at.line == 0) {
        return d.file;
    }
    return d.file + ":" + std::to_string(d.at.line) + ":" + std::to_string(d.at.column);
}

/// One expected diagnostic: where it is ("file:line:column" or "file") and words its
/// message must hold.
struct want {
    std::string at;
    std::vector<std::string> words;
};

/// `got` holds exactly `expected`, in that order.
::testing::AssertionResult holds_exactly(const diagnostics& got,
                                         const std::vector<want>& expected) {
    if (got.size() != expected.size()) {
        return ::testing::AssertionFailure()
               << "expected " << expected.size() << " diagnostics, got " << got.size() << ":\n"
               << listing(got);
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const diagnostic& d = got.items()[i];
        if (where(d) != expected[i].at) {
            return ::testing::AssertionFailure() << "diagnostic " << i << " is at " << where(d)
                                                 << ", expected " << expected[i].at << "\n"
                                                 << listing(got);
        }
        for (const auto& word : expected[i].words) {
            if (d.message.find(word) == std::string::npos) {
                return ::testing::AssertionFailure()
                       << "diagnostic " << i << " lacks \"" << word << "\":\n"
                       << listing(got);
            }
        }
    }
    return ::testing::AssertionSuccess();
}

/// Everything a load produced, as text, to compare two loads.
std::string summary(const manifest_set& set) {
    std::ostringstream out;
    auto pos = [&](source_position at) { out << "@" << at.line << ":" << at.column; };
    for (const auto& m : set.manifests) {
        out << "project " << m.project << "\n  file " << m.file << "\n  images " << m.images_file
            << "\n";
        for (const auto& r : m.registries) {
            out << "  registry " << r.name << " src=" << r.src << " sa=" << r.service_account;
            pos(r.at);
            out << "\n";
        }
        for (const auto& image : m.images) {
            out << "  image " << image.name << " null=" << image.dmap_null;
            pos(image.at);
            out << "\n";
            for (const auto& entry : image.dmap) {
                out << "    " << entry.digest;
                pos(entry.at);
                for (std::size_t i = 0; i < entry.tags.size(); ++i) {
                    out << " " << entry.tags[i];
                    pos(entry.tag_at[i]);
                }
                out << "\n";
            }
        }
    }
    for (const auto& d : set.problems.items()) {
        out << "problem " << to_string(d) << "\n";
    }
    return out.str();
}

std::vector<std::string> projects_of(const manifest_set& set) {
    std::vector<std::string> names;
    for (const auto& m : set.manifests) {
        names.push_back(m.project);
    }
    return names;
}

std::set<std::string> warning_files(const manifest_set& set) {
    std::set<std::string> files;
    for (const auto& w : set.warnings.items()) {
        files.insert(w.file);
    }
    return files;
}

/// A temporary thin tree, removed at the end of the test.
class scratch_tree {
public:
    scratch_tree() {
        std::string pattern = (fs::temp_directory_path() / "hoist-thin-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed";
        }
        root_ = pattern;
    }
    ~scratch_tree() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    scratch_tree(const scratch_tree&) = delete;
    scratch_tree& operator=(const scratch_tree&) = delete;

    std::string write(const std::string& relative, std::string_view text) const {
        fs::path path = root_ / relative;
        fs::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary);
        out << text;
        return path.string();
    }
    std::string mkdir(const std::string& relative) const {
        fs::create_directories(root_ / relative);
        return (root_ / relative).string();
    }
    /// Writes both files of a project; returns nothing, paths via manifest()/images().
    void project(const std::string& name, std::string_view manifest_text,
                 std::string_view images_text) const {
        write("manifests/" + name + "/promoter-manifest.yaml", manifest_text);
        write("images/" + name + "/images.yaml", images_text);
    }
    std::string manifest(const std::string& name) const {
        return (root_ / "manifests" / name / "promoter-manifest.yaml").string();
    }
    std::string images(const std::string& name) const {
        return (root_ / "images" / name / "images.yaml").string();
    }
    std::string path() const { return root_.string(); }

private:
    fs::path root_;
};

/// A promoter manifest: source gcr.io/<name>-staging (line 2), one destination (line 4).
std::string manifest_text(const std::string& name) {
    std::string text = "registries:\n";
    text += "- name: gcr.io/" + name + "-staging\n";
    text += "  src: true\n";
    text += "- name: us.gcr.io/some-prod/" + name + "\n";
    return text;
}

/// An images file with one image, one digest (line 3, column 5) and one tag (line 4,
/// column 7).
std::string images_text(const std::string& image, const std::string& digest,
                        const std::string& tag) {
    return "- name: " + image + "\n  dmap:\n    \"" + digest + "\":\n    - \"" + tag + "\"\n";
}

// ---------------------------------------------------------------------------------------
// kpromo's legacy fixtures

TEST(ThinLegacyFixtures, EmptyTreeFailsOnTheImagesDirectory) {
    const std::string root = fixture("empty");
    manifest_set set = load_thin_manifests(root);
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(set.manifests.empty());
    EXPECT_TRUE(holds_exactly(
        set.problems,
        {{root + "/images", {"cannot read directory", "No such file or directory"}},
         {root + "/manifests", {"cannot read directory", "No such file or directory"}}}));
}

TEST(ThinLegacyFixtures, Singleton) {
    const std::string root = fixture("singleton");
    manifest_set set = load_thin_manifests(root);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    EXPECT_TRUE(set.warnings.empty()) << listing(set.warnings);
    ASSERT_EQ(set.manifests.size(), 1u);
    const promotion_manifest& m = set.manifests[0];
    EXPECT_EQ(m.project, "a");
    EXPECT_EQ(m.file, root + "/manifests/a/promoter-manifest.yaml");
    EXPECT_EQ(m.images_file, root + "/images/a/images.yaml");

    ASSERT_EQ(m.registries.size(), 4u);
    EXPECT_EQ(m.registries[0].name, "gcr.io/foo-staging");
    EXPECT_TRUE(m.registries[0].src);
    EXPECT_EQ(m.registries[0].service_account, "sa@robot.com");
    EXPECT_EQ(m.registries[0].at.line, 2u);
    EXPECT_EQ(m.registries[0].at.column, 3u);
    const char* hosts[] = {"us", "eu", "asia"};
    for (std::size_t i = 1; i < 4; ++i) {
        EXPECT_EQ(m.registries[i].name, std::string(hosts[i - 1]) + ".gcr.io/some-prod");
        EXPECT_FALSE(m.registries[i].src);
        EXPECT_EQ(m.registries[i].service_account, "sa@robot.com");
        EXPECT_EQ(m.registries[i].at.line, 3 + 2 * i);
    }
    ASSERT_NE(m.source(), nullptr);
    EXPECT_EQ(m.source()->name, "gcr.io/foo-staging");

    ASSERT_EQ(m.images.size(), 1u);
    const image_entry& image = m.images[0];
    EXPECT_EQ(image.name, "foo-controller");
    EXPECT_FALSE(image.dmap_null);
    EXPECT_EQ(image.at.line, 1u);
    EXPECT_EQ(image.at.column, 3u);
    ASSERT_EQ(image.dmap.size(), 1u);
    EXPECT_TRUE(is_valid_promotion_digest(kSingletonDigest));
    EXPECT_EQ(image.dmap[0].digest, kSingletonDigest);
    EXPECT_EQ(image.dmap[0].at.line, 3u);
    EXPECT_EQ(image.dmap[0].at.column, 5u);
    EXPECT_EQ(image.dmap[0].tags, (std::vector<std::string>{"1.0"}));
    ASSERT_EQ(image.dmap[0].tag_at.size(), 1u);
    EXPECT_EQ(image.dmap[0].tag_at[0].line, 3u);
    EXPECT_EQ(image.dmap[0].tag_at[0].column, 81u);
}

TEST(ThinLegacyFixtures, MultipleRebases) {
    const std::string root = fixture("multiple-rebases");
    manifest_set set = load_thin_manifests(root);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 2u);
    const struct {
        const char* project;
        const char* source;
        const char* suffix;
        const char* image;
        const std::string& digest;
    } expected[] = {{"a", "gcr.io/foo-staging", "/foo", "foo-controller", kDigestA},
                    {"b", "gcr.io/bar-staging", "/bar", "bar-controller", kDigestB}};
    for (std::size_t i = 0; i < 2; ++i) {
        const promotion_manifest& m = set.manifests[i];
        EXPECT_EQ(m.project, expected[i].project);
        ASSERT_EQ(m.registries.size(), 4u);
        EXPECT_EQ(m.registries[0].name, expected[i].source);
        EXPECT_EQ(m.registries[1].name, std::string("us.gcr.io/some-prod") + expected[i].suffix);
        EXPECT_EQ(m.registries[2].name, std::string("eu.gcr.io/some-prod") + expected[i].suffix);
        EXPECT_EQ(m.registries[3].name, std::string("asia.gcr.io/some-prod") + expected[i].suffix);
        ASSERT_EQ(m.images.size(), 1u);
        EXPECT_EQ(m.images[0].name, expected[i].image);
        ASSERT_EQ(m.images[0].dmap.size(), 1u);
        EXPECT_EQ(m.images[0].dmap[0].digest, expected[i].digest);
        EXPECT_EQ(m.images[0].dmap[0].tags, (std::vector<std::string>{"1.0"}));
    }
}

TEST(ThinLegacyFixtures, BasicThinIgnoresImagesPath) {
    const std::string root = fixture("basic-thin");
    manifest_set set = load_thin_manifests(root);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    EXPECT_TRUE(set.warnings.empty()) << listing(set.warnings);
    ASSERT_EQ(set.manifests.size(), 4u);
    const struct {
        const char* project;
        const char* image;
        const std::string& digest;
    } expected[] = {{"a", "foo-controller", kDigestA},
                    {"b", "bar-controller", kDigestB},
                    {"c", "cat-controller", kDigestC},
                    {"d", "qux-controller", kDigestZero}};
    for (std::size_t i = 0; i < 4; ++i) {
        const promotion_manifest& m = set.manifests[i];
        EXPECT_EQ(m.project, expected[i].project);
        // a's imagesPath names images/d/images.yaml; the images still come from images/a.
        EXPECT_EQ(m.images_file,
                  root + "/images/" + std::string(expected[i].project) + "/images.yaml");
        ASSERT_EQ(m.images.size(), 1u) << m.project;
        EXPECT_EQ(m.images[0].name, expected[i].image);
        ASSERT_EQ(m.images[0].dmap.size(), 1u);
        EXPECT_EQ(m.images[0].dmap[0].digest, expected[i].digest);
        // imagesPath is line 1 in a-c, so their registries start one line lower than d's.
        EXPECT_EQ(m.registries.at(0).at.line, i < 3 ? 3u : 2u) << m.project;
    }
}

TEST(ThinLegacyFixtures, ValidOverlappingSourceRegistries) {
    manifest_set set = load_thin_manifests(fixture("overlapping-src-registries"));
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 2u);
    EXPECT_EQ(set.manifests[0].source()->name, set.manifests[1].source()->name);
    EXPECT_EQ(set.manifests[0].images[0].name, set.manifests[1].images[0].name);
    EXPECT_NE(set.manifests[0].images[0].dmap[0].digest, set.manifests[1].images[0].dmap[0].digest);
}

TEST(ThinLegacyFixtures, ValidOverlappingDestinationsWithTheSameDigest) {
    manifest_set set = load_thin_manifests(fixture("overlapping-destination-vertices-same-digest"));
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 2u);
    EXPECT_NE(set.manifests[0].source()->name, set.manifests[1].source()->name);
}

TEST(ThinLegacyFixtures, ValidSingularManifestDirectoryIsIgnored) {
    // manifest/a/promoter-manifest.yaml holds broken YAML: it must never be read.
    const std::string root = fixture("malformed-directory-tree-structure-bad-prefix-is-ignored");
    manifest_set set = load_thin_manifests(root);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    EXPECT_TRUE(set.warnings.empty()) << listing(set.warnings);
    EXPECT_EQ(projects_of(set), (std::vector<std::string>{"a"}));
}

TEST(ThinLegacyFixtures, InvalidOverlappingDestinationsWithDifferentDigests) {
    const std::string root = fixture("overlapping-destination-vertices-different-digest");
    manifest_set set = load_thin_manifests(root);
    EXPECT_FALSE(set.ok());
    ASSERT_TRUE(holds_exactly(
        set.problems,
        {{root + "/images/b/images.yaml:3:81",
          {"/some-prod/foo-controller:1.0 is claimed by " + kDigestB + " here and by " + kDigestA,
           "(" + root + "/images/a/images.yaml:3)", "a tag can point at only one digest"}}}));
    const std::string& message = set.problems.items()[0].message;
    EXPECT_TRUE(message.rfind("destination us.gcr.io/some-prod/foo-controller:1.0", 0) == 0 ||
                message.rfind("destination eu.gcr.io/some-prod/foo-controller:1.0", 0) == 0 ||
                message.rfind("destination asia.gcr.io/some-prod/foo-controller:1.0", 0) == 0)
        << message;
    EXPECT_EQ(set.manifests.size(), 2u);
}

TEST(ThinLegacyFixtures, InvalidMissingImagesFile) {
    const std::string root = fixture("malformed-directory-tree-structure");
    manifest_set set = load_thin_manifests(root);
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(holds_exactly(
        set.problems,
        {{root + "/images/b/images.yaml",
          {"does not exist", "manifests/b/promoter-manifest.yaml", "images/b/images.yaml"}}}));
    EXPECT_EQ(projects_of(set), (std::vector<std::string>{"a"}));
}

TEST(ThinLegacyFixtures, InvalidNestedManifest) {
    // manifests/b/c/promoter-manifest.yaml would find its images at
    // manifests/b/c/../../images/c/images.yaml under kpromo's path arithmetic, and that
    // decoy exists: the depth rule, not a missing file, is what must reject it.
    const std::string root = fixture("malformed-directory-tree-structure-nested");
    ASSERT_TRUE(fs::exists(root + "/manifests/images/c/images.yaml"));
    manifest_set set = load_thin_manifests(root);
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(holds_exactly(set.problems, {{root + "/manifests/b/c/promoter-manifest.yaml",
                                              {"unexpected manifest path",
                                               "manifests/<project>/promoter-manifest.yaml"}}}));
    EXPECT_EQ(projects_of(set), (std::vector<std::string>{"a"}));
    EXPECT_EQ(warning_files(set),
              (std::set<std::string>{root + "/manifests/b", root + "/manifests/images"}));
}

// ---------------------------------------------------------------------------------------
// Directory rules

TEST(ThinTree, TrailingSlashIsAccepted) {
    const std::string root = fixture("singleton");
    manifest_set plain = load_thin_manifests(root);
    ASSERT_TRUE(plain.ok()) << listing(plain.problems);
    for (const std::string& spelling : {root + "/", root + "//", root + "/."}) {
        manifest_set set = load_thin_manifests(spelling);
        ASSERT_TRUE(set.ok()) << spelling << "\n" << listing(set.problems);
        EXPECT_EQ(summary(set), summary(plain)) << spelling;
    }

    // Diagnostics name the same paths as without the slash.
    const std::string broken = fixture("malformed-directory-tree-structure");
    manifest_set with_slash = load_thin_manifests(broken + "/");
    EXPECT_TRUE(holds_exactly(with_slash.problems,
                              {{broken + "/images/b/images.yaml", {"does not exist"}}}));
}

TEST(ThinTree, SubdirectoryWithoutManifestIsOnlyAWarning) {
    scratch_tree tree;
    tree.project("a", manifest_text("a"), images_text("foo", kDigestA, "1.0"));
    tree.write("manifests/notes/README.txt", "not a project\n");
    tree.mkdir("manifests/empty");  // git cannot hold empty directories: made here
    tree.write("manifests/README.md", "a plain file in manifests/ is skipped silently\n");
    tree.write("manifests/a/other.yaml", "other file names are ignored\n");
    manifest_set set = load_thin_manifests(tree.path());
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    EXPECT_EQ(projects_of(set), (std::vector<std::string>{"a"}));
    EXPECT_EQ(warning_files(set), (std::set<std::string>{tree.path() + "/manifests/empty",
                                                         tree.path() + "/manifests/notes"}));
    for (const auto& w : set.warnings.items()) {
        EXPECT_NE(w.message.find("no promoter-manifest.yaml"), std::string::npos) << to_string(w);
        EXPECT_EQ(w.at.line, 0u);
    }
}

TEST(ThinTree, NoManifestsAtAll) {
    scratch_tree tree;
    tree.mkdir("manifests");
    tree.mkdir("images");
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(set.manifests.empty());
    EXPECT_TRUE(holds_exactly(set.problems, {{tree.path(), {"no manifests found"}}}));

    // Only directories without the file: still none, plus a warning for the directory.
    tree.mkdir("manifests/a");
    tree.write("images/a/images.yaml", "[]\n");
    manifest_set again = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(again.problems, {{tree.path(), {"no manifests found"}}}));
    EXPECT_EQ(warning_files(again), (std::set<std::string>{tree.path() + "/manifests/a"}));
}

TEST(ThinTree, ManifestsOrImagesThatAreNotDirectories) {
    scratch_tree tree;
    tree.write("manifests", "a file\n");
    tree.mkdir("images");
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(
        holds_exactly(set.problems, {{tree.path() + "/manifests", {"is not a directory"}}}));

    scratch_tree other;
    other.write("images", "a file\n");
    other.mkdir("manifests/a");
    manifest_set set2 = load_thin_manifests(other.path());
    EXPECT_TRUE(holds_exactly(set2.problems, {{other.path() + "/images", {"is not a directory"}}}));

    manifest_set missing = load_thin_manifests(other.path() + "/absent");
    EXPECT_FALSE(missing.ok());
    EXPECT_EQ(missing.problems.size(), 2u) << listing(missing.problems);
}

TEST(ThinTree, ImagesFileThatIsADirectory) {
    scratch_tree tree;
    tree.write("manifests/a/promoter-manifest.yaml", manifest_text("a"));
    tree.mkdir("images/a/images.yaml");
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(set.problems, {{tree.images("a"), {"is not a regular file"}}}));
}

TEST(ThinTree, ManifestDirectlyUnderManifestsIsUnexpected) {
    scratch_tree tree;
    tree.project("a", manifest_text("a"), images_text("foo", kDigestA, "1.0"));
    std::string stray = tree.write("manifests/promoter-manifest.yaml", manifest_text("x"));
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(set.problems, {{stray, {"unexpected manifest path"}}}));
    EXPECT_EQ(projects_of(set), (std::vector<std::string>{"a"}));
}

TEST(ThinTree, CommentOnlyOrEmptyImagesFileMeansNoImages) {
    scratch_tree tree;
    tree.project("comment", manifest_text("comment"), "# No images yet\n");
    tree.project("empty", manifest_text("empty"), "");
    tree.project("list", manifest_text("list"), "[]\n");
    manifest_set set = load_thin_manifests(tree.path());
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 3u);
    for (const auto& m : set.manifests) {
        EXPECT_TRUE(m.images.empty()) << m.project;
        EXPECT_EQ(m.registries.size(), 2u) << m.project;
    }
}

TEST(ThinTree, ImagesPathIsAcceptedButMustBeAString) {
    scratch_tree tree;
    tree.project("a", "imagesPath: somewhere/else.yaml\n" + manifest_text("a"),
                 images_text("foo", kDigestA, "1.0"));
    tree.project("b", "imagesPath: [not, a, string]\n" + manifest_text("b"),
                 images_text("bar", kDigestB, "1.0"));
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(
        set.problems,
        {{tree.manifest("b") + ":1:13", {"imagesPath: expected a string, found a sequence"}}}));
    ASSERT_EQ(set.manifests.size(), 2u);
    ASSERT_EQ(set.manifests[0].images.size(), 1u);
    EXPECT_EQ(set.manifests[0].images[0].name, "foo");
}

TEST(ThinTree, UnknownKeysAndWrongShapes) {
    scratch_tree tree;
    // A plain manifest's "images" key does not belong in a promoter manifest ...
    tree.project("a", manifest_text("a") + "images: []\n", images_text("foo", kDigestA, "1.0"));
    // ... and an images file is a list, not a plain manifest.
    tree.project("b", manifest_text("b"), "registries: []\nimages: []\n");
    // Unknown keys inside images are errors too.
    tree.project("c", manifest_text("c"),
                 "- name: foo\n  dmap: {\"" + kDigestC + "\": [\"1.0\"]}\n  extra: 1\n");
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(
        set.problems,
        {{tree.images("b") + ":1:1", {"images: expected a list of images", "found a mapping"}},
         {tree.images("c") + ":3:3", {"image: unknown key \"extra\""}},
         {tree.manifest("a") + ":5:1",
          {"promoter manifest: unknown key \"images\"", "\"registries\" and \"imagesPath\""}}}));
}

TEST(ThinTree, DigestAndTagRulesApplyToThinManifests) {
    scratch_tree tree;
    tree.project("digest", manifest_text("digest"),
                 images_text("foo", "sha256:" + std::string(63, 'a'), "1.0"));
    tree.project("tag", manifest_text("tag"), images_text("bar", kDigestB, "-bad"));
    tree.project("dmap", manifest_text("dmap"), "- name: baz\n  dmap:\n");
    tree.project("good", manifest_text("good"), images_text("qux", kDigestC, "1.0"));
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(holds_exactly(
        set.problems, {{tree.images("digest") + ":3:5",
                        {"image \"foo\": invalid digest \"sha256:" + std::string(63, 'a') + "\"",
                         "63 hex digits"}},
                       {tree.images("dmap") + ":1:3", {"image \"baz\": dmap is missing or null"}},
                       {tree.images("tag") + ":4:7", {"image \"bar\": invalid tag \"-bad\""}}}));
    // Projects with problems are still listed; the set as a whole is not usable.
    EXPECT_EQ(projects_of(set), (std::vector<std::string>{"digest", "dmap", "good", "tag"}));
}

TEST(ThinTree, SourceRegistryRulesApplyToThinManifests) {
    scratch_tree tree;
    tree.project("nosrc", "registries:\n- name: gcr.io/x\n- name: us.gcr.io/y\n",
                 images_text("foo", kDigestA, "1.0"));
    tree.project("twosrc",
                 "registries:\n- name: gcr.io/x\n  src: true\n- name: gcr.io/z\n  src: true\n",
                 images_text("foo", kDigestA, "1.0"));
    tree.project("noregs", "registries: []\n", images_text("foo", kDigestA, "1.0"));
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(
        set.problems,
        {{tree.manifest("noregs"), {"'registries' is empty"}},
         {tree.manifest("nosrc") + ":2:3", {"no source registry"}},
         {tree.manifest("twosrc") + ":4:3", {"second source registry \"gcr.io/z\""}}}));
}

TEST(ThinTree, YamlErrorsNameTheirFile) {
    scratch_tree tree;
    tree.project("a", manifest_text("a"), "- name: foo\n  dmap: {\n");
    tree.project("b", "registries:\n- name: gcr.io/b\n  src: true\n  src: false\n",
                 images_text("bar", kDigestB, "1.0"));
    manifest_set set = load_thin_manifests(tree.path());
    ASSERT_EQ(set.problems.size(), 2u) << listing(set.problems);
    EXPECT_EQ(set.problems.items()[0].file, tree.images("a"));
    EXPECT_NE(set.problems.items()[0].message.find("YAML syntax error"), std::string::npos);
    EXPECT_GE(set.problems.items()[0].at.line, 2u);
    const diagnostic& second = set.problems.items()[1];
    EXPECT_EQ(second.file, tree.manifest("b"));
    EXPECT_EQ(second.at.line, 4u);
    EXPECT_EQ(second.at.column, 3u);
    EXPECT_NE(second.message.find("duplicate key \"src\" (first at line 3)"), std::string::npos)
        << to_string(second);
}

TEST(ThinTree, CrlfImagesFile) {
    scratch_tree tree;
    tree.project("a", manifest_text("a"),
                 "# comment\r\n- name: foo\r\n  dmap:\r\n    \"sha256:" + std::string(63, 'a') +
                     "\": [\"1.0\"]\r\n");
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(set.problems, {{tree.images("a") + ":4:5", {"63 hex digits"}}}));
}

TEST(ThinTree, RepeatedImageNamesAreMerged) {
    scratch_tree tree;
    tree.project("a", manifest_text("a"),
                 images_text("foo", kDigestA, "1.0") + images_text("bar", kDigestC, "1.0") +
                     images_text("foo", kDigestB, "2.0") + images_text("foo", kDigestA, "1.1"));
    manifest_set set = load_thin_manifests(tree.path());
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 1u);
    const auto& images = set.manifests[0].images;
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images[0].name, "foo");
    ASSERT_EQ(images[0].dmap.size(), 2u);
    EXPECT_EQ(images[0].dmap[0].tags, (std::vector<std::string>{"1.0", "1.1"}));
    EXPECT_EQ(images[0].dmap[1].digest, kDigestB);
}

TEST(ThinTree, OverlapAcrossProjectsNamesBothImagesFiles) {
    scratch_tree tree;
    tree.project("etcd",
                 "registries:\n- name: gcr.io/etcd-staging\n  src: true\n"
                 "- name: r.example/images\n",
                 images_text("kubernetes/x", kDigestA, "1.0"));
    tree.project("kubernetes",
                 "registries:\n- name: gcr.io/k-staging\n  src: true\n"
                 "- name: r.example/images/kubernetes\n",
                 images_text("x", kDigestB, "1.0"));
    manifest_set set = load_thin_manifests(tree.path());
    EXPECT_TRUE(holds_exactly(
        set.problems, {{tree.images("kubernetes") + ":4:7",
                        {"destination r.example/images/kubernetes/x:1.0 is claimed by " + kDigestB +
                         " here and by " + kDigestA + " (" + tree.images("etcd") + ":4)"}}}));
}

TEST(ThinTree, ResultsAreOrderedByProjectWhateverTheThreadCount) {
    scratch_tree tree;
    // Created out of order; a few with problems so that diagnostics from several
    // threads have to be merged.
    const std::vector<std::string> names = {"p07", "p03", "p11", "p01", "p09", "p05",
                                            "p12", "p02", "p10", "p04", "p08", "p06"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        std::string digest = "sha256:" + std::string(62, 'a') + name.substr(1);
        if (name == "p03" || name == "p08" || name == "p11") {
            digest.pop_back();  // 63 hex digits
        }
        tree.project(name, manifest_text(name), images_text("img-" + name, digest, "v1"));
    }
    manifest_set one;
    {
        load_options options;
        options.threads = 1;
        one = load_thin_manifests(tree.path(), options);
    }
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(projects_of(one), sorted);
    ASSERT_EQ(one.problems.size(), 3u) << listing(one.problems);
    EXPECT_EQ(one.problems.items()[0].file, tree.images("p03"));
    EXPECT_EQ(one.problems.items()[1].file, tree.images("p08"));
    EXPECT_EQ(one.problems.items()[2].file, tree.images("p11"));

    const std::string expected = summary(one);
    for (unsigned threads : {2u, 4u, 16u, 0u}) {
        for (int round = 0; round < 3; ++round) {
            load_options options;
            options.threads = threads;
            manifest_set set = load_thin_manifests(tree.path(), options);
            EXPECT_EQ(summary(set), expected) << "threads=" << threads;
        }
    }
}

TEST(ThinTree, OnlyDigestsNarrowsDmapsAndDropsEmptiedImages) {
    scratch_tree tree;
    tree.project("a", manifest_text("a"),
                 "- name: foo\n  dmap:\n    \"" + kDigestA + "\": [\"1.0\"]\n    \"" + kDigestB +
                     "\": [\"2.0\"]\n- name: bar\n  dmap:\n    \"" + kDigestC + "\": [\"3.0\"]\n");
    tree.project("b", manifest_text("b"), images_text("baz", kDigestC, "3.0"));
    load_options options;
    options.only_digests = std::set<std::string>{kDigestB};
    manifest_set set = load_thin_manifests(tree.path(), options);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 2u);  // a manifest left without images stays listed
    const auto& a = set.manifests[0];
    ASSERT_EQ(a.images.size(), 1u);
    EXPECT_EQ(a.images[0].name, "foo");
    ASSERT_EQ(a.images[0].dmap.size(), 1u);
    EXPECT_EQ(a.images[0].dmap[0].digest, kDigestB);
    EXPECT_EQ(a.images[0].dmap[0].tags, (std::vector<std::string>{"2.0"}));
    EXPECT_TRUE(set.manifests[1].images.empty());
}

TEST(ThinTree, OnlyDigestsSkipsOverlapsOfDigestsLeftOut) {
    // The overlap is between A and B; narrowed to C, neither edge exists any more.
    scratch_tree tree;
    tree.project("a", manifest_text("a"),
                 "- name: foo\n  dmap:\n    \"" + kDigestA + "\": [\"1.0\"]\n    \"" + kDigestB +
                     "\": [\"1.0\"]\n    \"" + kDigestC + "\": [\"2.0\"]\n");
    manifest_set full = load_thin_manifests(tree.path());
    EXPECT_EQ(full.problems.size(), 1u) << listing(full.problems);
    load_options options;
    options.only_digests = std::set<std::string>{kDigestC};
    manifest_set narrowed = load_thin_manifests(tree.path(), options);
    EXPECT_TRUE(narrowed.ok()) << listing(narrowed.problems);
}

}  // namespace
}  // namespace hoist::engine
