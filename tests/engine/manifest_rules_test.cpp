// SPDX-License-Identifier: Apache-2.0
// Plain manifests: decoding (strict keys and kinds), the validation rules V2-V10, the
// digest and tag vectors, the overlap rule E1 and the merging of repeated image names.
// Every failure is checked for its file, line, column and the words that explain it.

#include "engine/manifest/loader.hpp"
#include "engine/manifest/manifest.hpp"
#include "engine/manifest/validate.hpp"
#include "engine/manifest/yaml_tree.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
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

/// Test YAML with "$A", "$B", "$C" and "$0" standing for the 71-character digests (and
/// "$S" for one digit short of that), so that the texts below stay one literal each.
std::string expand(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '$' && i + 1 < text.size()) {
            switch (text[i + 1]) {
                case 'A':
                    out += kDigestA;
                    ++i;
                    continue;
                case 'B':
                    out += kDigestB;
                    ++i;
                    continue;
                case 'C':
                    out += kDigestC;
                    ++i;
                    continue;
                case '0':
                    out += kDigestZero;
                    ++i;
                    continue;
                case 'S':
                    out += "sha256:" + std::string(63, '5');
                    ++i;
                    continue;
                default:
                    break;
            }
        }
        out += text[i];
    }
    return out;
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

struct checked {
    bool parsed = false;
    promotion_manifest manifest;
    diagnostics problems;
};

/// What the plain loader does, on text: parse, decode, validate (no merging).
checked check(std::string_view text, const std::string& file = "m.yaml") {
    checked c;
    yaml_document document = load_yaml(text, file, c.problems);
    c.parsed = document.valid;
    if (document.valid) {
        c.manifest = decode_plain_manifest(document, file, c.problems);
        validate_manifest(c.manifest, c.problems);
    }
    c.problems.sort();
    return c;
}

/// Registries of a valid manifest; "images:" follows on line 5, so the first image entry
/// is on line 6.
constexpr std::string_view kRegistries =
    "registries:\n"                 // 1
    "- name: gcr.io/foo-staging\n"  // 2
    "  src: true\n"                 // 3
    "- name: us.gcr.io/foo-prod\n"  // 4
    "images:\n";                    // 5

std::string with_images(std::string_view images) {
    return std::string(kRegistries) + expand(images);
}

/// One image "foo" with one digest (line 8, column 5) tagged 1.0.
std::string with_digest(std::string_view digest) {
    return with_images("- name: foo\n  dmap:\n    \"" + std::string(digest) + "\": [\"1.0\"]\n");
}

/// One image "foo", the all-zero digest, one tag on a line of its own (line 9, column 7).
std::string with_tag(std::string_view tag) {
    return with_images("- name: foo\n  dmap:\n    \"$0\":\n    - \"" + std::string(tag) + "\"\n");
}

/// A temporary directory, removed with everything in it at the end of the test.
class scratch {
public:
    scratch() {
        std::string pattern = (fs::temp_directory_path() / "hoist-rules-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed";
        }
        dir_ = pattern;
    }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;

    std::string write(const std::string& name, std::string_view text) const {
        fs::path path = dir_ / name;
        fs::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary);
        out << text;
        return path.string();
    }
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
};

// ---------------------------------------------------------------------------------------
// Digests and tags

TEST(PromotionDigest, TestVectors) {
    EXPECT_TRUE(is_valid_promotion_digest(digest_of('0')));
    EXPECT_TRUE(is_valid_promotion_digest(digest_of('f')));
    EXPECT_TRUE(is_valid_promotion_digest(
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));

    EXPECT_FALSE(is_valid_promotion_digest(""));
    EXPECT_FALSE(is_valid_promotion_digest("sha256:0"));
    EXPECT_FALSE(is_valid_promotion_digest("sha256:" + std::string(65, '0')));
    EXPECT_FALSE(is_valid_promotion_digest("sha256:" + std::string(63, '0')));
    EXPECT_FALSE(is_valid_promotion_digest("sha256:" + std::string(63, '0') + "g"));
    EXPECT_FALSE(is_valid_promotion_digest(std::string(64, '0')));
    EXPECT_FALSE(is_valid_promotion_digest("sha256:" + std::string(63, '0') + "A"));
    EXPECT_FALSE(is_valid_promotion_digest("SHA256:" + std::string(64, '0')));
    EXPECT_FALSE(is_valid_promotion_digest("sha512:" + std::string(128, '0')));
    EXPECT_FALSE(is_valid_promotion_digest("sha256:" + std::string(64, '0') + "\n"));
    EXPECT_FALSE(is_valid_promotion_digest(" sha256:" + std::string(64, '0')));
}

TEST(PromotionTag, TestVectors) {
    const std::vector<std::string> valid = {"a",
                                            "_",
                                            "latest",
                                            "_latest",
                                            "_____----hello........",
                                            std::string(128, 'x'),
                                            "v" + std::string(127, '.'),
                                            "1.0",
                                            "A-Z_09.x"};
    for (const auto& tag : valid) {
        EXPECT_TRUE(is_valid_promotion_tag(tag)) << tag;
    }
    const std::vector<std::string> invalid = {
        "",   ".",  "-",   "안녕", "a안녕", "a b", std::string(129, 'x'),
        ".a", "-a", "a/b", "a:b",  "a+b",   "a@b"};
    for (const auto& tag : invalid) {
        EXPECT_FALSE(is_valid_promotion_tag(tag)) << tag;
    }
}

TEST(RegistryName, Vectors) {
    for (std::string_view name : {"gcr.io", "gcr.io/foo-staging",
                                  "us-central1-docker.pkg.dev/k8s-artifacts-prod/images/kops",
                                  "localhost:5000/x", "127.0.0.1:5000", "r.example/a/b_c/d.e"}) {
        EXPECT_TRUE(is_valid_registry_name(name)) << name;
    }
    for (std::string_view name :
         {"", "/x", "gcr.io/Foo", "gcr.io//x", "gcr.io/x/", "gc r.io", "gcr.io/x y", "gcr.io/-x"}) {
        EXPECT_FALSE(is_valid_registry_name(name)) << name;
    }
}

TEST(ManifestDigests, ValidDigestsPass) {
    const std::vector<std::string> digests = {
        digest_of('0'), digest_of('f'),
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    for (const auto& digest : digests) {
        auto c = check(with_digest(digest));
        EXPECT_TRUE(c.parsed);
        EXPECT_TRUE(holds_exactly(c.problems, {})) << digest;
        ASSERT_EQ(c.manifest.images.size(), 1u);
        ASSERT_EQ(c.manifest.images[0].dmap.size(), 1u);
        EXPECT_EQ(c.manifest.images[0].dmap[0].digest, digest);
    }
}

TEST(ManifestDigests, InvalidDigestsNameFileLineAndColumnOfTheKey) {
    struct vector {
        std::string digest;
        std::string why;
    };
    const std::vector<vector> vectors = {
        {"", "it is empty"},
        {"sha256:0", "it has 1 hex digits after \"sha256:\"; expected exactly 64"},
        {"sha256:" + std::string(65, '0'), "it has 65 hex digits"},
        {"sha256:" + std::string(63, '0'), "it has 63 hex digits"},
        {"sha256:" + std::string(63, '0') + "g", "'g' is not a hex digit"},
        {std::string(64, '0'), "expected it to start with \"sha256:\""},
        {"sha512:" + std::string(128, '0'), "expected it to start with \"sha256:\""},
        {"sha256:" + std::string(62, '0') + "A0", "upper-case hex digit 'A'"},
    };
    for (const auto& v : vectors) {
        auto c = check(with_digest(v.digest));
        EXPECT_TRUE(c.parsed);
        const std::string what = "image \"foo\": invalid digest \"" + v.digest + "\"";
        EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml:8:5", {what, v.why}}}))
            << "digest: " << v.digest;
    }
}

TEST(ManifestDigests, PlainDigestKeyIsCheckedToo) {
    auto c = check(
        with_images("- name: foo\n  dmap:\n    sha256:" + std::string(63, 'e') + ": [\"1.0\"]\n"));
    EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml:8:5", {"63 hex digits"}}}));
}

TEST(ManifestTags, ValidTagsPass) {
    const std::vector<std::string> tags = {
        "a", "_", "latest", "_latest", "_____----hello........", std::string(128, 't')};
    for (const auto& tag : tags) {
        auto c = check(with_tag(tag));
        EXPECT_TRUE(holds_exactly(c.problems, {})) << tag;
        ASSERT_EQ(c.manifest.images.size(), 1u);
        ASSERT_EQ(c.manifest.images[0].dmap.size(), 1u);
        EXPECT_EQ(c.manifest.images[0].dmap[0].tags, (std::vector<std::string>{tag}));
    }
}

TEST(ManifestTags, InvalidTagsNameFileLineAndColumnOfTheTag) {
    struct vector {
        std::string tag;
        std::string why;
    };
    const std::vector<vector> vectors = {
        {"", "it is empty"},
        {".", "expected it to start with a letter, digit or '_'"},
        {"-", "expected it to start with a letter, digit or '_'"},
        {"안녕", "expected it to start with a letter, digit or '_'"},
        {"a b", "expected only letters, digits, '_', '.' and '-'"},
        {"v1+build", "expected only letters, digits"},
        {std::string(129, 't'), "it has 129 characters; at most 128 allowed"},
    };
    for (const auto& v : vectors) {
        auto c = check(with_tag(v.tag));
        const std::string what = "image \"foo\": invalid tag \"" + v.tag + "\"";
        EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml:9:7", {what, v.why}}})) << "tag: " << v.tag;
    }
}

TEST(ManifestTags, PlainScalarsStayTheStringsTheyLookLike) {
    auto c =
        check(with_images("- name: foo\n"
                          "  dmap:\n"
                          "    \"$0\": [1.0, 1.10, 010, 1e3, true, v2]\n"));
    EXPECT_TRUE(holds_exactly(c.problems, {}));
    ASSERT_EQ(c.manifest.images.size(), 1u);
    ASSERT_EQ(c.manifest.images[0].dmap.size(), 1u);
    EXPECT_EQ(c.manifest.images[0].dmap[0].tags,
              (std::vector<std::string>{"1.0", "1.10", "010", "1e3", "true", "v2"}));
}

TEST(ManifestTags, TaglessDigestsAcceptEmptyListOrNull) {
    auto c =
        check(with_images("- name: foo\n"
                          "  dmap:\n"
                          "    \"$A\": []\n"
                          "    \"$B\":\n"
                          "    \"$C\": ~\n"));
    EXPECT_TRUE(holds_exactly(c.problems, {}));
    ASSERT_EQ(c.manifest.images.size(), 1u);
    const auto& dmap = c.manifest.images[0].dmap;
    ASSERT_EQ(dmap.size(), 3u);
    for (const auto& entry : dmap) {
        EXPECT_TRUE(entry.tags.empty()) << entry.digest;
        EXPECT_TRUE(entry.tag_at.empty()) << entry.digest;
    }
    EXPECT_EQ(dmap[0].digest, kDigestA);  // in file order
    EXPECT_EQ(dmap[1].digest, kDigestB);
    EXPECT_EQ(dmap[2].digest, kDigestC);
}

// ---------------------------------------------------------------------------------------
// Decoding: what a plain manifest holds

TEST(PlainManifest, DecodesEveryField) {
    auto c = check(expand("registries:\n"                             // 1
                          "- name: gcr.io/foo-staging\n"              // 2
                          "  src: true\n"                             // 3
                          "  service-account: sa@robot.com\n"         // 4
                          "- name: us.gcr.io/foo-prod/sub\n"          // 5
                          "  service-account: \"other@robot.com\"\n"  // 6
                          "images:\n"                                 // 7
                          "- name: sub/path/foo\n"                    // 8
                          "  dmap:\n"                                 // 9
                          "    \"$A\": [\"1.0\", \"latest\"]\n"       // 10
                          "    $B:\n"                                 // 11
                          "    - v2\n"),                              // 12
                   "dir/plain.yaml");
    ASSERT_TRUE(c.parsed);
    ASSERT_TRUE(holds_exactly(c.problems, {}));
    const promotion_manifest& m = c.manifest;
    EXPECT_EQ(m.file, "dir/plain.yaml");
    EXPECT_EQ(m.images_file, "dir/plain.yaml");
    EXPECT_EQ(m.project, "plain.yaml");
    ASSERT_EQ(m.registries.size(), 2u);
    EXPECT_EQ(m.registries[0].name, "gcr.io/foo-staging");
    EXPECT_TRUE(m.registries[0].src);
    EXPECT_EQ(m.registries[0].service_account, "sa@robot.com");
    EXPECT_EQ(m.registries[0].at.line, 2u);
    EXPECT_EQ(m.registries[0].at.column, 3u);
    EXPECT_EQ(m.registries[1].name, "us.gcr.io/foo-prod/sub");
    EXPECT_FALSE(m.registries[1].src);
    EXPECT_EQ(m.registries[1].service_account, "other@robot.com");
    EXPECT_EQ(m.registries[1].at.line, 5u);
    ASSERT_NE(m.source(), nullptr);
    EXPECT_EQ(m.source(), &m.registries[0]);

    ASSERT_EQ(m.images.size(), 1u);
    const image_entry& image = m.images[0];
    EXPECT_EQ(image.name, "sub/path/foo");
    EXPECT_FALSE(image.dmap_null);
    EXPECT_EQ(image.at.line, 8u);
    EXPECT_EQ(image.at.column, 3u);
    ASSERT_EQ(image.dmap.size(), 2u);
    EXPECT_EQ(image.dmap[0].digest, kDigestA);
    EXPECT_EQ(image.dmap[0].at.line, 10u);
    EXPECT_EQ(image.dmap[0].at.column, 5u);
    EXPECT_EQ(image.dmap[0].tags, (std::vector<std::string>{"1.0", "latest"}));
    ASSERT_EQ(image.dmap[0].tag_at.size(), 2u);
    EXPECT_EQ(image.dmap[0].tag_at[0].line, 10u);
    EXPECT_EQ(image.dmap[0].tag_at[0].column, 81u);
    EXPECT_EQ(image.dmap[0].tag_at[1].column, 88u);
    EXPECT_EQ(image.dmap[1].digest, kDigestB);
    EXPECT_EQ(image.dmap[1].tags, (std::vector<std::string>{"v2"}));
    ASSERT_EQ(image.dmap[1].tag_at.size(), 1u);
    EXPECT_EQ(image.dmap[1].tag_at[0].line, 12u);
    EXPECT_EQ(image.dmap[1].tag_at[0].column, 7u);
}

TEST(PlainManifest, EmptyImagesListIsValid) {
    auto next_line = check(with_images("  []\n"));
    EXPECT_TRUE(holds_exactly(next_line.problems, {}));
    EXPECT_TRUE(next_line.manifest.images.empty());

    auto inline_form = check(
        "registries:\n"
        "- name: gcr.io/a\n"
        "  src: true\n"
        "- name: us.gcr.io/b\n"
        "images: []\n");
    EXPECT_TRUE(holds_exactly(inline_form.problems, {}));
    EXPECT_TRUE(inline_form.manifest.images.empty());

    auto missing = check("registries:\n- name: gcr.io/a\n  src: true\n");
    EXPECT_TRUE(holds_exactly(missing.problems, {}));
}

TEST(PlainManifest, Yaml11BooleansAreAcceptedForSrc) {
    for (std::string_view word :
         {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}) {
        auto c = check("registries:\n- name: gcr.io/a\n  src: " + std::string(word) +
                       "\n- name: us.gcr.io/b\nimages: []\n");
        EXPECT_TRUE(holds_exactly(c.problems, {})) << word;
        ASSERT_EQ(c.manifest.registries.size(), 2u);
        EXPECT_TRUE(c.manifest.registries[0].src) << word;
    }
    for (std::string_view word :
         {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N", "~", ""}) {
        auto c = check("registries:\n- name: gcr.io/a\n  src: true\n- name: us.gcr.io/b\n  src: " +
                       std::string(word) + "\nimages: []\n");
        EXPECT_TRUE(holds_exactly(c.problems, {})) << word;
        ASSERT_EQ(c.manifest.registries.size(), 2u);
        EXPECT_FALSE(c.manifest.registries[1].src) << word;
    }
}

// ---------------------------------------------------------------------------------------
// The rules

TEST(ManifestRules, V2TwoSourceRegistries) {
    auto c = check(
        "registries:\n"          // 1
        "- name: gcr.io/a\n"     // 2
        "  src: true\n"          // 3
        "- name: gcr.io/b\n"     // 4
        "  src: yes\n"           // 5
        "- name: us.gcr.io/p\n"  // 6
        "images: []\n");
    EXPECT_TRUE(holds_exactly(
        c.problems, {{"m.yaml:4:3",
                      {"second source registry \"gcr.io/b\"", "the first is \"gcr.io/a\" at line 2",
                       "exactly one registry with src: true"}}}));
    ASSERT_NE(c.manifest.source(), nullptr);
    EXPECT_EQ(c.manifest.source()->name, "gcr.io/a");  // the first wins
}

TEST(ManifestRules, V3NoSourceRegistry) {
    auto c = check(
        "registries:\n"
        "- name: gcr.io/a\n"
        "- name: us.gcr.io/p\n"
        "  src: false\n"
        "images: []\n");
    EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml:2:3", {"no source registry", "src: true"}}}));
    EXPECT_EQ(c.manifest.source(), nullptr);
}

TEST(ManifestRules, V4EmptyRegistries) {
    for (std::string_view text :
         {"registries: []\nimages: []\n", "registries:\nimages: []\n", "images: []\n"}) {
        auto c = check(text);
        EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml", {"'registries' is empty"}}})) << text;
    }
}

TEST(ManifestRules, V4EmptyOrCommentOnlyFile) {
    scratch tmp;
    for (std::string_view text : {"", "\n", "# nothing here\n"}) {
        std::string path = tmp.write("empty.yaml", text);
        manifest_set set = load_plain_manifest(path);
        EXPECT_FALSE(set.ok());
        ASSERT_TRUE(holds_exactly(set.problems, {{path, {"'registries' is empty"}}}))
            << "\"" << text << "\"";
        EXPECT_EQ(to_string(set.problems.items()[0]).rfind(path + ": 'registries' is empty", 0),
                  0u);
    }
}

TEST(ManifestRules, V5RegistryWithoutName) {
    auto c = check(
        "registries:\n"          // 1
        "- name: \"\"\n"         // 2
        "  src: true\n"          // 3
        "- src: false\n"         // 4
        "- name: us.gcr.io/p\n"  // 5
        "images: []\n");
    EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml:2:3", {"registry without a name"}},
                                           {"m.yaml:4:3", {"registry without a name"}}}));
}

TEST(ManifestRules, InvalidRegistryName) {
    auto c = check(
        "registries:\n"
        "- name: gcr.io/Foo-Staging\n"
        "  src: true\n"
        "- name: us.gcr.io//p\n"
        "images: []\n");
    EXPECT_TRUE(
        holds_exactly(c.problems, {{"m.yaml:2:3", {"invalid registry name \"gcr.io/Foo-Staging\""}},
                                   {"m.yaml:4:3", {"invalid registry name \"us.gcr.io//p\""}}}));
}

TEST(ManifestRules, V6ImageWithoutName) {
    auto c =
        check(with_images("- name: \"\"\n"                    // 6
                          "  dmap: {\"$A\": [\"1.0\"]}\n"     // 7
                          "- dmap: {\"$B\": [\"1.0\"]}\n"     // 8
                          "- name: Upper/Case\n"              // 9
                          "  dmap: {\"$C\": [\"1.0\"]}\n"));  // 10
    EXPECT_TRUE(holds_exactly(c.problems, {{"m.yaml:6:3", {"image without a name"}},
                                           {"m.yaml:8:3", {"image without a name"}},
                                           {"m.yaml:9:3", {"invalid image name \"Upper/Case\""}}}));
}

TEST(ManifestRules, V7EmptyOrNullDmap) {
    auto c =
        check(with_images("- name: empty\n"       // 6
                          "  dmap: {}\n"          // 7
                          "- name: null-map\n"    // 8
                          "  dmap:\n"             // 9
                          "- name: tilde\n"       // 10
                          "  dmap: ~\n"           // 11
                          "- name: missing\n"));  // 12
    EXPECT_TRUE(holds_exactly(c.problems,
                              {{"m.yaml:6:3", {"image \"empty\": dmap is empty"}},
                               {"m.yaml:8:3", {"image \"null-map\": dmap is missing or null"}},
                               {"m.yaml:10:3", {"image \"tilde\": dmap is missing or null"}},
                               {"m.yaml:12:3", {"image \"missing\": dmap is missing or null"}}}));
    ASSERT_EQ(c.manifest.images.size(), 4u);
    EXPECT_FALSE(c.manifest.images[0].dmap_null);
    EXPECT_TRUE(c.manifest.images[1].dmap_null);
    EXPECT_TRUE(c.manifest.images[2].dmap_null);
    EXPECT_TRUE(c.manifest.images[3].dmap_null);
}

TEST(ManifestRules, UnknownKeysAreErrors) {
    auto c =
        check(expand("registries:\n"                  // 1
                     "- name: gcr.io/a\n"             // 2
                     "  src: true\n"                  // 3
                     "  token: secret\n"              // 4
                     "- name: us.gcr.io/p\n"          // 5
                     "srcregistry: gcr.io/a\n"        // 6
                     "filepath: here\n"               // 7
                     "imagesPath: images\n"           // 8
                     "images:\n"                      // 9
                     "- name: foo\n"                  // 10
                     "  tags: [\"1.0\"]\n"            // 11
                     "  dmap: {\"$A\": [\"1.0\"]}\n"  // 12
                     ));
    EXPECT_TRUE(holds_exactly(
        c.problems,
        {{"m.yaml:4:3",
          {"registry: unknown key \"token\"", "\"name\", \"src\" and \"service-account\""}},
         {"m.yaml:6:1", {"manifest: unknown key \"srcregistry\"", "\"registries\" and \"images\""}},
         {"m.yaml:7:1", {"manifest: unknown key \"filepath\""}},
         {"m.yaml:8:1", {"manifest: unknown key \"imagesPath\""}},
         {"m.yaml:11:3", {"image: unknown key \"tags\"", "\"name\" and \"dmap\""}}}));
    // The known parts are still decoded.
    ASSERT_EQ(c.manifest.registries.size(), 2u);
    EXPECT_TRUE(c.manifest.registries[0].src);
    ASSERT_EQ(c.manifest.images.size(), 1u);
    EXPECT_EQ(c.manifest.images[0].dmap.size(), 1u);
}

TEST(ManifestRules, DuplicateKeysRefuseTheFile) {
    scratch tmp;
    std::string path = tmp.write("dup.yaml", with_images("- name: foo\n"            // 6
                                                         "  dmap:\n"                // 7
                                                         "    \"$A\": [\"1.0\"]\n"  // 8
                                                         "    \"$A\": [\"1.1\"]\n"  // 9
                                                         "  name: bar\n"));         // 10
    manifest_set set = load_plain_manifest(path);
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(set.manifests.empty());
    EXPECT_TRUE(holds_exactly(
        set.problems, {{path + ":9:5", {"duplicate key \"" + kDigestA + "\" (first at line 8)"}},
                       {path + ":10:3", {"duplicate key \"name\" (first at line 6)"}}}));

    std::string top = tmp.write("top.yaml", "images: []\nregistries: []\nimages: []\n");
    EXPECT_TRUE(holds_exactly(load_plain_manifest(top).problems,
                              {{top + ":3:1", {"duplicate key \"images\" (first at line 1)"}}}));
}

// A value of the wrong kind is reported once, where it is; the rules it would then break
// ("'registries' is empty", "no source registry", …) are not echoed.
TEST(ManifestRules, RegistriesAsAScalar) {
    auto c = check("registries: gcr.io/foo\nimages: []\n");
    EXPECT_TRUE(holds_exactly(
        c.problems,
        {{"m.yaml:1:13", {"registries: expected a list of registries, found a plain scalar"}}}));
}

TEST(ManifestRules, SrcThatIsNotABoolean) {
    auto plain = check(
        "registries:\n"
        "- name: gcr.io/a\n"
        "  src: yes-please\n"
        "- name: us.gcr.io/p\n"
        "images: []\n");
    EXPECT_TRUE(holds_exactly(
        plain.problems,
        {{"m.yaml:3:8", {"registry src: expected true or false, found a plain scalar"}}}));

    auto quoted = check(
        "registries:\n"
        "- name: gcr.io/a\n"
        "  src: \"yes-please\"\n"
        "- name: us.gcr.io/p\n"
        "images: []\n");
    EXPECT_TRUE(holds_exactly(
        quoted.problems,
        {{"m.yaml:3:8", {"registry src: expected true or false, found a quoted string"}}}));

    // yaml.v2 does not read a quoted "true" as a boolean either.
    auto quoted_true = check(
        "registries:\n"
        "- name: gcr.io/a\n"
        "  src: \"true\"\n");
    EXPECT_TRUE(holds_exactly(quoted_true.problems, {{"m.yaml:3:8", {"found a quoted string"}}}));

    auto list = check("registries:\n- name: gcr.io/a\n  src: [true]\n");
    EXPECT_TRUE(holds_exactly(list.problems, {{"m.yaml:3:8", {"found a sequence"}}}));
}

TEST(ManifestRules, OtherWrongKinds) {
    auto root_list = check("- registries: []\n");
    EXPECT_TRUE(
        holds_exactly(root_list.problems,
                      {{"m.yaml:1:1",
                        {"manifest: expected a mapping with keys \"registries\" and \"images\"",
                         "found a sequence"}}}));

    auto registry_scalar = check(
        "registries:\n"
        "- gcr.io/a\n"
        "- name: gcr.io/b\n"
        "  src: true\n");
    EXPECT_TRUE(
        holds_exactly(registry_scalar.problems,
                      {{"m.yaml:2:3", {"registry: expected a mapping", "found a plain scalar"}}}));

    auto name_list = check("registries:\n- name: [gcr.io/a]\n  src: true\n");
    EXPECT_TRUE(
        holds_exactly(name_list.problems,
                      {{"m.yaml:2:9", {"registry name: expected a string, found a sequence"}}}));

    auto images_map = check(with_images("  foo: {}\n"));
    EXPECT_TRUE(
        holds_exactly(images_map.problems,
                      {{"m.yaml:6:3", {"images: expected a list of images", "found a mapping"}}}));

    auto dmap_list = check(with_images("- name: foo\n  dmap: [\"$A\"]\n"));
    EXPECT_TRUE(holds_exactly(dmap_list.problems,
                              {{"m.yaml:7:9", {"dmap: expected a mapping", "found a sequence"}}}));

    auto tags_scalar = check(with_images("- name: foo\n  dmap:\n    \"$A\": \"1.0\"\n"));
    EXPECT_TRUE(holds_exactly(
        tags_scalar.problems,
        {{"m.yaml:8:80",
          {"tags of " + kDigestA + ": expected a list of tags", "found a quoted string"}}}));

    auto tag_map =
        check(with_images("- name: foo\n"   // 6
                          "  dmap:\n"       // 7
                          "    \"$A\":\n"   // 8
                          "    - {a: b}\n"  // 9
                          "    - ~\n"));    // 10
    EXPECT_TRUE(holds_exactly(tag_map.problems,
                              {{"m.yaml:9:7", {"tag: expected a string, found a mapping"}},
                               {"m.yaml:10:7", {"tag: expected a string, found nothing (null)"}}}));
}

TEST(ManifestRules, AllProblemsOfAFileAreReportedTogetherSortedByLine) {
    scratch tmp;
    // Decoding finds line 5; validation, which runs afterwards, finds lines 2 and 9.
    std::string path = tmp.write("three.yaml", expand("registries:\n"             // 1
                                                      "- name: \"\"\n"            // 2
                                                      "  src: true\n"             // 3
                                                      "- name: us.gcr.io/prod\n"  // 4
                                                      "  token: secret\n"         // 5
                                                      "images:\n"                 // 6
                                                      "- name: foo\n"             // 7
                                                      "  dmap:\n"                 // 8
                                                      "    \"$S\": [\"1.0\"]\n"   // 9
                                                      ));
    manifest_set set = load_plain_manifest(path);
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(holds_exactly(set.problems, {{path + ":2:3", {"registry without a name"}},
                                             {path + ":5:3", {"unknown key \"token\""}},
                                             {path + ":9:5", {"63 hex digits"}}}));
}

// ---------------------------------------------------------------------------------------
// The plain loader

TEST(PlainLoader, LoadsAValidManifest) {
    scratch tmp;
    std::string path = tmp.write("promoter.yaml", with_images("- name: foo\n"
                                                              "  dmap:\n"
                                                              "    \"$A\": [\"1.0\"]\n"
                                                              "- name: bar\n"
                                                              "  dmap:\n"
                                                              "    \"$B\": []\n"));
    manifest_set set = load_plain_manifest(path);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    EXPECT_TRUE(set.warnings.empty());
    ASSERT_EQ(set.manifests.size(), 1u);
    const auto& m = set.manifests[0];
    EXPECT_EQ(m.project, "promoter.yaml");
    EXPECT_EQ(m.file, path);
    EXPECT_EQ(m.images_file, path);
    ASSERT_EQ(m.images.size(), 2u);
    EXPECT_EQ(m.images[0].name, "foo");
    EXPECT_EQ(m.images[1].name, "bar");
    ASSERT_NE(m.source(), nullptr);
    EXPECT_EQ(m.source()->name, "gcr.io/foo-staging");
}

TEST(PlainLoader, MissingFile) {
    scratch tmp;
    std::string path = (tmp.dir() / "absent.yaml").string();
    manifest_set set = load_plain_manifest(path);
    EXPECT_TRUE(set.manifests.empty());
    EXPECT_TRUE(holds_exactly(set.problems, {{path, {"cannot read", "No such file"}}}));
}

// An ifstream opens a directory without complaint (and tellg() then reports a huge size
// on ext4): the loader must refuse it with a diagnostic, not throw.
TEST(PlainLoader, DirectoryInsteadOfAFileIsReported) {
    scratch tmp;
    tmp.write("sub/file.txt", "x");
    std::string path = (tmp.dir() / "sub").string();
    manifest_set set;
    EXPECT_NO_THROW(set = load_plain_manifest(path));
    EXPECT_FALSE(set.ok());
    ASSERT_EQ(set.problems.size(), 1u) << listing(set.problems);
    EXPECT_EQ(set.problems.items()[0].file, path);
}

TEST(PlainLoader, RepeatedImageNamesAreMerged) {
    scratch tmp;
    std::string path =
        tmp.write("merge.yaml", with_images("- name: foo\n"
                                            "  dmap: {\"$A\": [\"1.0\"]}\n"
                                            "- name: bar\n"
                                            "  dmap: {\"$C\": [\"3.0\"]}\n"
                                            "- name: foo\n"
                                            "  dmap: {\"$B\": [\"2.0\"], \"$A\": [\"1.1\"]}\n"));
    manifest_set set = load_plain_manifest(path);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 1u);
    const auto& images = set.manifests[0].images;
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images[0].name, "foo");
    ASSERT_EQ(images[0].dmap.size(), 2u);
    EXPECT_EQ(images[0].dmap[0].digest, kDigestA);
    EXPECT_EQ(images[0].dmap[0].tags, (std::vector<std::string>{"1.0", "1.1"}));
    EXPECT_EQ(images[0].dmap[1].digest, kDigestB);
    EXPECT_EQ(images[1].name, "bar");
}

TEST(PlainLoader, OnlyDigestsNarrowsAndDropsEmptiedImages) {
    scratch tmp;
    std::string path =
        tmp.write("narrow.yaml", with_images("- name: foo\n"
                                             "  dmap: {\"$A\": [\"1.0\"], \"$B\": [\"2.0\"]}\n"
                                             "- name: bar\n"
                                             "  dmap: {\"$C\": [\"3.0\"]}\n"));
    load_options options;
    options.only_digests = std::set<std::string>{kDigestA};
    manifest_set set = load_plain_manifest(path, options);
    ASSERT_TRUE(set.ok()) << listing(set.problems);
    ASSERT_EQ(set.manifests.size(), 1u);
    const auto& images = set.manifests[0].images;
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].name, "foo");
    ASSERT_EQ(images[0].dmap.size(), 1u);
    EXPECT_EQ(images[0].dmap[0].digest, kDigestA);
    EXPECT_EQ(set.manifests[0].registries.size(), 2u);

    options.only_digests = std::set<std::string>{};
    manifest_set none = load_plain_manifest(path, options);
    ASSERT_TRUE(none.ok());
    ASSERT_EQ(none.manifests.size(), 1u);
    EXPECT_TRUE(none.manifests[0].images.empty());
}

TEST(PlainLoader, OverlapInsideOneFileIsReported) {
    scratch tmp;
    std::string path = tmp.write("overlap.yaml", with_images("- name: foo\n"       // 6
                                                             "  dmap:\n"           // 7
                                                             "    \"$A\":\n"       // 8
                                                             "    - \"1.0\"\n"     // 9
                                                             "    \"$B\":\n"       // 10
                                                             "    - \"1.0\"\n"));  // 11
    manifest_set set = load_plain_manifest(path);
    EXPECT_TRUE(holds_exactly(
        set.problems,
        {{path + ":11:7",
          {"tag \"1.0\" is claimed by " + kDigestB + " and by " + kDigestA, "(" + path + ":9)"}}}));
}

// ---------------------------------------------------------------------------------------
// E1: overlapping destination tags

/// A manifest with one source and the given destinations; "images:" is the line after
/// the last destination.
checked manifest_of(const std::string& file, const std::string& source,
                    const std::vector<std::string>& destinations, std::string_view images) {
    std::string text = "registries:\n- name: " + source + "\n  src: true\n";
    for (const auto& d : destinations) {
        text += "- name: " + d + "\n";
    }
    text += "images:\n";
    text += expand(images);
    auto c = check(text, file);
    EXPECT_TRUE(holds_exactly(c.problems, {})) << file;
    return c;
}

/// One image with one digest: "- name:", "  dmap:", the digest, then one line per tag
/// (a tag on the third line of the block is at column 7 of the fourth).
std::string image_block(std::string_view name, std::string_view digest,
                        const std::vector<std::string>& tags) {
    std::string text =
        "- name: " + std::string(name) + "\n  dmap:\n    \"" + std::string(digest) + "\":";
    if (tags.empty()) {
        return text + " []\n";
    }
    text += "\n";
    for (const auto& t : tags) {
        text += "    - \"" + t + "\"\n";
    }
    return text;
}

TEST(Overlaps, SameTagOnTwoDigestsOfOneDmap) {
    auto c = manifest_of("a.yaml", "gcr.io/a", {"us.gcr.io/prod"},
                         "- name: foo\n"      // 6
                         "  dmap:\n"          // 7
                         "    \"$A\":\n"      // 8
                         "    - \"1.0\"\n"    // 9
                         "    - \"1.1\"\n"    // 10
                         "    \"$B\":\n"      // 11
                         "    - \"1.1\"\n"    // 12
                         "    - \"2.0\"\n");  // 13
    diagnostics problems;
    check_overlaps({c.manifest}, problems);
    EXPECT_TRUE(holds_exactly(
        problems, {{"a.yaml:12:7",
                    {"image \"foo\": tag \"1.1\" is claimed by " + kDigestB + " and by " + kDigestA,
                     "(a.yaml:10)", "a tag can point at only one digest"}}}));
}

TEST(Overlaps, SameTagInTwoEntriesOfOneImageName) {
    auto c = manifest_of("a.yaml", "gcr.io/a", {"us.gcr.io/prod"},
                         image_block("foo", "$A", {"1.0"}) +      // lines 6-9
                             image_block("bar", "$C", {"1.0"}) +  // lines 10-13
                             image_block("foo", "$B", {"1.0"}));  // lines 14-17
    diagnostics problems;
    check_overlaps({c.manifest}, problems);
    EXPECT_TRUE(holds_exactly(
        problems,
        {{"a.yaml:17:7", {"image \"foo\": tag \"1.0\" is claimed by " + kDigestB, "(a.yaml:9)"}}}));

    // Merging the entries first changes nothing about the verdict.
    promotion_manifest merged = c.manifest;
    merge_repeated_images(merged);
    ASSERT_EQ(merged.images.size(), 2u);
    diagnostics after_merge;
    check_overlaps({merged}, after_merge);
    EXPECT_TRUE(holds_exactly(after_merge, {{"a.yaml:17:7", {"is claimed by " + kDigestB}}}));
}

TEST(Overlaps, SameTagSameDigestTwiceIsRedundantNotAnError) {
    auto c =
        manifest_of("a.yaml", "gcr.io/a", {"us.gcr.io/prod"},
                    image_block("foo", "$A", {"1.0"}) + image_block("foo", "$A", {"1.0", "1.1"}));
    diagnostics problems;
    check_overlaps({c.manifest}, problems);
    EXPECT_TRUE(holds_exactly(problems, {}));
}

TEST(Overlaps, SameTagOnDifferentImagesIsFine) {
    auto c = manifest_of("a.yaml", "gcr.io/a", {"us.gcr.io/prod"},
                         image_block("foo", "$A", {"1.0"}) + image_block("bar", "$B", {"1.0"}));
    diagnostics problems;
    check_overlaps({c.manifest}, problems);
    EXPECT_TRUE(holds_exactly(problems, {}));
}

TEST(Overlaps, TwoProjectsSharingADestination) {
    auto a = manifest_of("a.yaml", "gcr.io/a-staging", {"us.gcr.io/prod"},
                         image_block("foo", "$A", {"1.0"}));  // tag on line 9
    auto b = manifest_of("b.yaml", "gcr.io/b-staging", {"eu.gcr.io/other", "us.gcr.io/prod"},
                         image_block("foo", "$B", {"0.9", "1.0"}));  // 1.0 on line 11
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest}, problems);
    EXPECT_TRUE(
        holds_exactly(problems, {{"b.yaml:11:7",
                                  {"destination us.gcr.io/prod/foo:1.0 is claimed by " + kDigestB +
                                       " here and by " + kDigestA + " (a.yaml:9)",
                                   "a tag can point at only one digest"}}}));
}

TEST(Overlaps, ConflictOnSeveralSharedDestinationsIsReportedOnce) {
    const std::vector<std::string> dsts = {"us.gcr.io/prod", "eu.gcr.io/prod", "asia.gcr.io/prod"};
    auto a = manifest_of("a.yaml", "gcr.io/a-staging", dsts, image_block("foo", "$A", {"1.0"}));
    auto b = manifest_of("b.yaml", "gcr.io/b-staging", dsts, image_block("foo", "$B", {"1.0"}));
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest}, problems);
    ASSERT_TRUE(holds_exactly(problems, {{"b.yaml:11:7", {"/prod/foo:1.0 is claimed by"}}}));
    const std::string& message = problems.items()[0].message;
    bool names_one = false;
    for (const auto& d : dsts) {
        names_one = names_one || message.rfind("destination " + d + "/foo:1.0", 0) == 0;
    }
    EXPECT_TRUE(names_one) << message;
}

TEST(Overlaps, TwoProjectsSameTagSameDigestIsRedundant) {
    auto a = manifest_of("a.yaml", "gcr.io/a-staging", {"us.gcr.io/prod"},
                         image_block("foo", "$A", {"1.0"}));
    auto b = manifest_of("b.yaml", "gcr.io/b-staging", {"us.gcr.io/prod"},
                         image_block("foo", "$A", {"1.0"}));
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest}, problems);
    EXPECT_TRUE(holds_exactly(problems, {}));
}

TEST(Overlaps, DisjointDestinationsOrTagsDoNotConflict) {
    auto a = manifest_of("a.yaml", "gcr.io/a-staging", {"us.gcr.io/prod-a"},
                         image_block("foo", "$A", {"1.0"}));
    auto b = manifest_of("b.yaml", "gcr.io/b-staging", {"us.gcr.io/prod-b"},
                         image_block("foo", "$B", {"1.0"}));
    auto c = manifest_of("c.yaml", "gcr.io/c-staging", {"us.gcr.io/prod-a"},
                         image_block("foo", "$C", {"2.0"}));
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest, c.manifest}, problems);
    EXPECT_TRUE(holds_exactly(problems, {}));
}

TEST(Overlaps, SourceRegistriesAreNotDestinations) {
    // Both projects read from one staging registry; only destinations can clash.
    auto a = manifest_of("a.yaml", "gcr.io/staging", {"us.gcr.io/prod-a"},
                         image_block("foo", "$A", {"1.0"}));
    auto b = manifest_of("b.yaml", "gcr.io/staging", {"us.gcr.io/prod-b"},
                         image_block("foo", "$B", {"1.0"}));
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest}, problems);
    EXPECT_TRUE(holds_exactly(problems, {}));
}

TEST(Overlaps, TaglessDigestsNeverConflict) {
    auto a = manifest_of("a.yaml", "gcr.io/a-staging", {"us.gcr.io/prod"},
                         "- name: foo\n"
                         "  dmap:\n"
                         "    \"$A\": []\n"
                         "    \"$B\": []\n");
    auto b = manifest_of("b.yaml", "gcr.io/b-staging", {"us.gcr.io/prod"},
                         "- name: foo\n"
                         "  dmap:\n"
                         "    \"$C\":\n");
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest}, problems);
    EXPECT_TRUE(holds_exactly(problems, {}));
}

TEST(Overlaps, NestedRegistryNamesMeetAtTheSameRepository) {
    auto a = manifest_of("a.yaml", "gcr.io/k8s-staging-etcd", {"r.example/images"},
                         image_block("kubernetes/x", "$A", {"1.0"}));
    auto b = manifest_of("b.yaml", "gcr.io/k8s-staging-kubernetes", {"r.example/images/kubernetes"},
                         image_block("x", "$B", {"1.0"}));
    diagnostics problems;
    check_overlaps({a.manifest, b.manifest}, problems);
    EXPECT_TRUE(
        holds_exactly(problems, {{"b.yaml:9:7",
                                  {"destination r.example/images/kubernetes/x:1.0 is claimed by " +
                                   kDigestB + " here and by " + kDigestA + " (a.yaml:9)"}}}));

    // The same digest under both spellings is redundant.
    auto same = manifest_of("b.yaml", "gcr.io/k8s-staging-kubernetes",
                            {"r.example/images/kubernetes"}, image_block("x", "$A", {"1.0"}));
    diagnostics none;
    check_overlaps({a.manifest, same.manifest}, none);
    EXPECT_TRUE(holds_exactly(none, {}));
}

TEST(Overlaps, NestedRegistryNamesInsideOneManifest) {
    auto a = manifest_of("a.yaml", "gcr.io/a", {"r.example/images", "r.example/images/kubernetes"},
                         image_block("kubernetes/x", "$A", {"1.0"}) +  // tag on line 10
                             image_block("x", "$B", {"1.0"}));         // tag on line 14
    diagnostics problems;
    check_overlaps({a.manifest}, problems);
    EXPECT_TRUE(holds_exactly(
        problems,
        {{"a.yaml:14:7", {"destination r.example/images/kubernetes/x:1.0", "(a.yaml:10)"}}}));
}

// ---------------------------------------------------------------------------------------
// merge_repeated_images

TEST(MergeRepeatedImages, EntriesWithOneNameBecomeOneInFirstAppearanceOrder) {
    auto c = check(with_images(image_block("foo", "$A", {"1.0"}) +  // lines 6-9
                               image_block("bar", "$C", {"3.0"}) +  // lines 10-13
                               image_block("foo", "$B", {"2.0"}) +  // lines 14-17
                               image_block("baz", "$C", {})));      // lines 18-20
    ASSERT_TRUE(holds_exactly(c.problems, {}));
    ASSERT_EQ(c.manifest.images.size(), 4u);
    promotion_manifest m = c.manifest;
    merge_repeated_images(m);
    ASSERT_EQ(m.images.size(), 3u);
    EXPECT_EQ(m.images[0].name, "foo");
    EXPECT_EQ(m.images[1].name, "bar");
    EXPECT_EQ(m.images[2].name, "baz");
    EXPECT_EQ(m.images[0].at.line, 6u);  // the first entry's position is kept
    ASSERT_EQ(m.images[0].dmap.size(), 2u);
    EXPECT_EQ(m.images[0].dmap[0].digest, kDigestA);
    EXPECT_EQ(m.images[0].dmap[1].digest, kDigestB);
    EXPECT_EQ(m.images[0].dmap[1].at.line, 16u);
    EXPECT_EQ(m.images[0].dmap[1].tags, (std::vector<std::string>{"2.0"}));
}

TEST(MergeRepeatedImages, SameDigestTwiceKeepsTheUnionOfTags) {
    auto c = check(with_images(image_block("foo", "$A", {"1.0", "2.0"}) +  // lines 6-10
                               image_block("foo", "$A", {"2.0", "3.0"}) +  // lines 11-15
                               image_block("foo", "$A", {})));
    ASSERT_TRUE(holds_exactly(c.problems, {}));
    promotion_manifest m = c.manifest;
    merge_repeated_images(m);
    ASSERT_EQ(m.images.size(), 1u);
    ASSERT_EQ(m.images[0].dmap.size(), 1u);
    const digest_entry& entry = m.images[0].dmap[0];
    EXPECT_EQ(entry.tags, (std::vector<std::string>{"1.0", "2.0", "3.0"}));
    ASSERT_EQ(entry.tag_at.size(), 3u);
    EXPECT_EQ(entry.tag_at[0].line, 9u);
    EXPECT_EQ(entry.tag_at[1].line, 10u);
    EXPECT_EQ(entry.tag_at[2].line, 15u);  // "3.0" comes from the second entry
}

TEST(MergeRepeatedImages, DistinctNamesAreLeftAlone) {
    auto c = check(
        with_images(image_block("foo", "$A", {"1.0"}) + image_block("foo/sub", "$A", {"1.0"})));
    promotion_manifest m = c.manifest;
    merge_repeated_images(m);
    ASSERT_EQ(m.images.size(), 2u);
    EXPECT_EQ(m.images[0].name, "foo");
    EXPECT_EQ(m.images[1].name, "foo/sub");
}

}  // namespace
}  // namespace hoist::engine
