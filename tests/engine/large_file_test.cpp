// SPDX-License-Identifier: Apache-2.0
// Large images.yaml files are parsed in pieces on several threads: the result and every
// reported position must be the same as a whole-file parse, including where a piece
// boundary cannot stand on its own.
#include "engine/manifest/loader.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace hoist::engine {
namespace {

namespace fs = std::filesystem;

std::string hex64(std::size_t n) {
    char text[65];
    std::snprintf(text, sizeof text, "%064zx", n);
    return text;
}

class LargeImagesFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "hoist-large-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root = pattern;
        fs::create_directories(root / "manifests/p");
        fs::create_directories(root / "images/p");
        std::ofstream(root / "manifests/p/promoter-manifest.yaml")
            << "registries:\n- name: gcr.io/staging\n  src: true\n- name: us.gcr.io/prod\n";
    }
    void TearDown() override { fs::remove_all(root); }

    /// About 1 MB: 4000 images of 3 digests each; line numbers are predictable.
    static std::string big_images(const std::string& odd_entry = {}) {
        std::string text = "# generated\n";
        for (std::size_t i = 0; i < 4000; ++i) {
            text += "- name: image-" + std::to_string(i) + "\n  dmap:\n";
            for (std::size_t d = 0; d < 3; ++d) {
                text +=
                    "    \"sha256:" + hex64(i * 3 + d) + "\": [\"v" + std::to_string(d) + "\"]\n";
            }
            if (i == 2000 && !odd_entry.empty()) {
                text += odd_entry;
            }
        }
        return text;
    }

    manifest_set load(const std::string& images, unsigned threads) {
        std::ofstream(root / "images/p/images.yaml", std::ios::trunc) << images;
        load_options options;
        options.threads = threads;
        return load_thin_manifests(root.string(), options);
    }

    fs::path root;
};

TEST_F(LargeImagesFile, PiecesGiveTheSameManifestAsOneThread) {
    auto text = big_images();
    ASSERT_GT(text.size(), 512u * 1024);
    auto parallel = load(text, 4);
    auto serial = load(text, 1);
    ASSERT_TRUE(parallel.ok());
    ASSERT_EQ(parallel.manifests.size(), 1u);
    const auto& images = parallel.manifests[0].images;
    ASSERT_EQ(images.size(), 4000u);
    EXPECT_EQ(images[3999].name, "image-3999");
    // Line of "- name: image-i" is 2 + 5 * i.
    EXPECT_EQ(images[3999].at.line, 2u + 5 * 3999);
    EXPECT_EQ(images[3999].dmap[2].at.line, 2u + 5 * 3999 + 4);
    for (std::size_t i = 0; i < images.size(); i += 97) {
        EXPECT_EQ(images[i].name, serial.manifests[0].images[i].name);
        EXPECT_EQ(images[i].at.line, serial.manifests[0].images[i].at.line);
        EXPECT_EQ(images[i].dmap[1].digest, serial.manifests[0].images[i].dmap[1].digest);
    }
}

TEST_F(LargeImagesFile, ErrorsDeepInsideKeepTheirLines) {
    auto text = big_images();
    // Break the digest of image 3000 (line 2 + 5 * 3000 + 2).
    auto at = text.find("\"sha256:" + hex64(9000) + "\"");
    ASSERT_NE(at, std::string::npos);
    text.replace(at + 1, 6, "sha512");
    auto set = load(text, 4);
    ASSERT_EQ(set.problems.size(), 1u);
    EXPECT_EQ(set.problems.items()[0].at.line, 2u + 5 * 3000 + 2);
    EXPECT_EQ(set.problems.items()[0].at.column, 5u);
}

TEST_F(LargeImagesFile, AQuotedScalarAcrossACutFallsBackToTheWholeFile) {
    // A double-quoted image name spanning lines, with continuation lines that look like
    // new sequence items: a piece cut there cannot parse alone.
    std::string odd = "- name: \"odd\n";
    for (int i = 0; i < 40000; ++i) {
        odd += "- x\n";
    }
    odd += "- end\"\n  dmap:\n    \"sha256:" + hex64(999999) + "\": [\"odd\"]\n";
    auto parallel = load(big_images(odd), 4);
    auto serial = load(big_images(odd), 1);
    // The name is not a valid repository path; both loads must say so at the same line.
    ASSERT_EQ(parallel.problems.size(), serial.problems.size());
    ASSERT_FALSE(parallel.problems.empty());
    EXPECT_EQ(parallel.problems.items()[0].at.line, serial.problems.items()[0].at.line);
    EXPECT_NE(parallel.problems.items()[0].message.find("invalid image name"), std::string::npos)
        << parallel.problems.items()[0].message;
}

}  // namespace
}  // namespace hoist::engine
