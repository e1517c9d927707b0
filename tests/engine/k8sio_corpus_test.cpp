// SPDX-License-Identifier: Apache-2.0
// The real thin manifests of registry.k8s.io (kubernetes/k8s.io at 576d58a4, copied
// under tests/data/k8sio): hoist must find exactly the three defects kpromo lets
// through, and once they are corrected load the whole corpus with the figures of
// tests/data/k8sio/STATS.md.

#include "engine/manifest/loader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {
namespace {

namespace fs = std::filesystem;

const std::string kCorpus = std::string(HOIST_TEST_DATA) + "/k8sio";

/// The 63-digit digest of images/k8s-staging-ingress-nginx/images.yaml:152.
const std::string kShortDigest =
    "sha256:23eb4b1775fbaa2adca55c73cf0341e1224d6308689b6f4b3aa1523312eb81c";

/// Digests given to the two null dmaps of k8s-staging-sig-storage when correcting.
const std::string kAddedController = "sha256:" + std::string(60, '0') + "c0de";
const std::string kAddedSidecar = "sha256:" + std::string(60, '0') + "51de";

std::string listing(const diagnostics& problems) {
    std::string out;
    for (const auto& d : problems.items()) {
        out += "  " + to_string(d) + "\n";
    }
    return out.empty() ? "  (no diagnostics)\n" : out;
}

/// Everything a load produced, as text, to compare two loads.
std::string summary(const manifest_set& set) {
    std::ostringstream out;
    for (const auto& m : set.manifests) {
        out << "project " << m.project << " " << m.file << " " << m.images_file << "\n";
        for (const auto& r : m.registries) {
            out << " r " << r.name << " " << r.src << " " << r.service_account << " " << r.at.line
                << ":" << r.at.column << "\n";
        }
        for (const auto& image : m.images) {
            out << " i " << image.name << " " << image.dmap_null << " " << image.at.line << ":"
                << image.at.column << "\n";
            for (const auto& entry : image.dmap) {
                out << "  " << entry.digest << " " << entry.at.line << ":" << entry.at.column;
                for (std::size_t i = 0; i < entry.tags.size(); ++i) {
                    out << " " << entry.tags[i] << "@" << entry.tag_at[i].line << ":"
                        << entry.tag_at[i].column;
                }
                out << "\n";
            }
        }
    }
    for (const auto& d : set.problems.items()) {
        out << "problem " << to_string(d) << "\n";
    }
    for (const auto& d : set.warnings.items()) {
        out << "warning " << to_string(d) << "\n";
    }
    return out.str();
}

const promotion_manifest* find_project(const manifest_set& set, std::string_view project) {
    for (const auto& m : set.manifests) {
        if (m.project == project) {
            return &m;
        }
    }
    return nullptr;
}

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Replaces the one occurrence of `from` in the file with `to`.
void replace_once(const fs::path& path, const std::string& from, const std::string& to) {
    std::string text = read_all(path);
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << path << " lacks " << from;
    ASSERT_EQ(text.find(from, at + 1), std::string::npos) << path << " has " << from << " twice";
    text.replace(at, from.size(), to);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good());
}

manifest_set load_with_threads(const std::string& root, unsigned threads) {
    load_options options;
    options.threads = threads;
    return load_thin_manifests(root, options);
}

TEST(K8sioCorpus, ReportsExactlyTheThreeKnownDefects) {
    manifest_set set = load_thin_manifests(kCorpus);
    EXPECT_FALSE(set.ok());
    EXPECT_TRUE(set.warnings.empty()) << listing(set.warnings);
    EXPECT_EQ(set.manifests.size(), 75u);

    const std::string nginx = kCorpus + "/images/k8s-staging-ingress-nginx/images.yaml";
    const std::string storage = kCorpus + "/images/k8s-staging-sig-storage/images.yaml";
    ASSERT_EQ(set.problems.size(), 3u) << listing(set.problems);
    const auto& items = set.problems.items();

    EXPECT_EQ(items[0].file, nginx);
    EXPECT_EQ(items[0].at.line, 152u);
    EXPECT_EQ(items[0].at.column, 5u);
    EXPECT_NE(items[0].message.find("image \"e2e-test-httpbin\": invalid digest \"" + kShortDigest +
                                    "\""),
              std::string::npos)
        << to_string(items[0]);
    EXPECT_NE(items[0].message.find("63 hex digits"), std::string::npos) << to_string(items[0]);

    EXPECT_EQ(items[1].file, storage);
    EXPECT_EQ(items[1].at.line, 258u);
    EXPECT_EQ(items[1].at.column, 3u);
    EXPECT_NE(items[1].message.find("image \"objectstorage-controller\": dmap is missing or null"),
              std::string::npos)
        << to_string(items[1]);

    EXPECT_EQ(items[2].file, storage);
    EXPECT_EQ(items[2].at.line, 260u);
    EXPECT_EQ(items[2].at.column, 3u);
    EXPECT_NE(items[2].message.find("image \"objectstorage-sidecar\": dmap is missing or null"),
              std::string::npos)
        << to_string(items[2]);

    // The same in the form a user reads.
    EXPECT_EQ(to_string(items[1]).rfind(storage + ":258:3: image \"objectstorage-controller\"", 0),
              0u);
}

TEST(K8sioCorpus, DefectReportDoesNotDependOnThreads) {
    manifest_set one = load_with_threads(kCorpus, 1);
    manifest_set two = load_with_threads(kCorpus, 2);
    EXPECT_EQ(one.problems.size(), 3u) << listing(one.problems);
    EXPECT_EQ(summary(one), summary(two));
}

class CorrectedK8sioCorpus : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string pattern = (fs::temp_directory_path() / "hoist-k8sio-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = new std::string(pattern);
        fs::copy(kCorpus, *root_, fs::copy_options::recursive);

        // The 63-digit digest gets its missing digit ...
        replace_once(*root_ + "/images/k8s-staging-ingress-nginx/images.yaml",
                     "\"" + kShortDigest + "\"", "\"" + kShortDigest + "f\"");
        // ... and each null dmap one digest with one tag.
        replace_once(*root_ + "/images/k8s-staging-sig-storage/images.yaml",
                     "- name: objectstorage-controller\n  dmap:\n",
                     "- name: objectstorage-controller\n  dmap:\n    \"" + kAddedController +
                         "\": [\"v0.1.0\"]\n");
        replace_once(*root_ + "/images/k8s-staging-sig-storage/images.yaml",
                     "- name: objectstorage-sidecar\n  dmap:\n",
                     "- name: objectstorage-sidecar\n  dmap:\n    \"" + kAddedSidecar +
                         "\": [\"v0.1.0\"]\n");

        one_ = new manifest_set(load_with_threads(*root_, 1));
        two_ = new manifest_set(load_with_threads(*root_, 2));
    }

    static void TearDownTestSuite() {
        if (root_ != nullptr) {
            std::error_code ec;
            fs::remove_all(*root_, ec);
        }
        delete one_;
        delete two_;
        delete root_;
        one_ = two_ = nullptr;
        root_ = nullptr;
    }

    void SetUp() override {
        ASSERT_NE(one_, nullptr);
        ASSERT_NE(two_, nullptr);
    }

    static std::string* root_;
    static manifest_set* one_;
    static manifest_set* two_;
};

std::string* CorrectedK8sioCorpus::root_ = nullptr;
manifest_set* CorrectedK8sioCorpus::one_ = nullptr;
manifest_set* CorrectedK8sioCorpus::two_ = nullptr;

TEST_F(CorrectedK8sioCorpus, LoadsClean) {
    EXPECT_TRUE(one_->ok()) << listing(one_->problems);
    EXPECT_TRUE(one_->warnings.empty()) << listing(one_->warnings);
    EXPECT_EQ(one_->manifests.size(), 75u);
}

TEST_F(CorrectedK8sioCorpus, SameResultWithOneOrTwoThreads) {
    EXPECT_TRUE(two_->ok()) << listing(two_->problems);
    EXPECT_EQ(summary(*one_), summary(*two_));
}

TEST_F(CorrectedK8sioCorpus, TotalsMatchStats) {
    std::size_t images = 0;
    std::size_t pairs = 0;
    std::size_t tags = 0;
    std::size_t destination_digests = 0;
    std::size_t destination_tags = 0;
    std::size_t destination_entries = 0;
    std::set<std::string> destinations;
    std::set<std::string> sources;
    std::set<std::string> repositories;
    for (const auto& m : one_->manifests) {
        ASSERT_NE(m.source(), nullptr) << m.project;
        sources.insert(m.source()->name);
        std::size_t dsts = 0;
        for (const auto& r : m.registries) {
            if (!r.src) {
                destinations.insert(r.name);
                ++dsts;
                for (const auto& image : m.images) {
                    repositories.insert(r.name + "/" + image.name);
                }
            }
        }
        destination_entries += dsts;
        images += m.images.size();
        for (const auto& image : m.images) {
            pairs += image.dmap.size();
            for (const auto& entry : image.dmap) {
                tags += entry.tags.size();
                destination_tags += dsts * entry.tags.size();
            }
            destination_digests += dsts * image.dmap.size();
        }
    }
    EXPECT_EQ(images, 388u);
    EXPECT_EQ(pairs, 20'017u + 2u);
    EXPECT_EQ(tags, 20'086u + 2u);
    EXPECT_EQ(destinations.size(), 1'694u);
    EXPECT_EQ(destination_entries, 1'738u);
    EXPECT_EQ(sources.size(), 75u);
    EXPECT_EQ(repositories.size(), 9'834u);
    // STATS' 718,960 and 720,478, plus the two added digests (one tag each) in 22 regions.
    EXPECT_EQ(destination_digests, 718'960u + 2u * 22u);
    EXPECT_EQ(destination_tags, 720'478u + 2u * 22u);
}

TEST_F(CorrectedK8sioCorpus, CommentOnlyImagesFilesGiveNoImages) {
    for (const char* project : {"k8s-staging-tg-exporter", "k8s-staging-wasm-scheduler",
                                "k8s-staging-win-op-rdnss", "k8s-staging-win-svc-proxy"}) {
        const promotion_manifest* m = find_project(*one_, project);
        ASSERT_NE(m, nullptr) << project;
        EXPECT_TRUE(m->images.empty()) << project;
        EXPECT_EQ(m->registries.size(), 23u) << project;
    }
}

TEST_F(CorrectedK8sioCorpus, CrlfFileParsesWithRightPositions) {
    const promotion_manifest* npd = find_project(*one_, "k8s-staging-npd");
    ASSERT_NE(npd, nullptr);
    ASSERT_EQ(npd->images.size(), 1u);
    const image_entry& image = npd->images[0];
    EXPECT_EQ(image.name, "node-problem-detector");
    ASSERT_EQ(image.dmap.size(), 16u);
    const digest_entry& last = image.dmap.back();
    EXPECT_EQ(last.digest,
              "sha256:a28d0bd3f6ecc9648ecedd7135c31c31751e340017cc9a663911f7b064a8a010");
    EXPECT_EQ(last.tags, (std::vector<std::string>{"v0.8.19"}));  // no stray '\r'
    EXPECT_EQ(last.at.line, 18u);
    EXPECT_EQ(last.at.column, 5u);
}

TEST_F(CorrectedK8sioCorpus, ImagesPathIsAccepted) {
    for (const char* project : {"k8s-staging-jobset", "k8s-staging-kueue", "k8s-staging-lws",
                                "k8s-staging-scheduler-plugins"}) {
        const promotion_manifest* m = find_project(*one_, project);
        ASSERT_NE(m, nullptr) << project;
        EXPECT_FALSE(m->images.empty()) << project;
        EXPECT_EQ(m->registries.size(), 23u) << project;
        EXPECT_EQ(m->images_file, *root_ + "/images/" + project + "/images.yaml");
    }
}

TEST_F(CorrectedK8sioCorpus, CorrectionsAreInPlace) {
    const promotion_manifest* nginx = find_project(*one_, "k8s-staging-ingress-nginx");
    ASSERT_NE(nginx, nullptr);
    bool fixed = false;
    for (const auto& image : nginx->images) {
        for (const auto& entry : image.dmap) {
            if (entry.digest == kShortDigest + "f") {
                fixed = true;
                EXPECT_EQ(image.name, "e2e-test-httpbin");
                EXPECT_EQ(entry.at.line, 152u);
            }
        }
    }
    EXPECT_TRUE(fixed);

    const promotion_manifest* storage = find_project(*one_, "k8s-staging-sig-storage");
    ASSERT_NE(storage, nullptr);
    std::map<std::string, const image_entry*> by_name;
    for (const auto& image : storage->images) {
        by_name[image.name] = &image;
    }
    ASSERT_TRUE(by_name.count("objectstorage-controller"));
    ASSERT_TRUE(by_name.count("objectstorage-sidecar"));
    ASSERT_EQ(by_name["objectstorage-controller"]->dmap.size(), 1u);
    EXPECT_EQ(by_name["objectstorage-controller"]->dmap[0].digest, kAddedController);
    ASSERT_EQ(by_name["objectstorage-sidecar"]->dmap.size(), 1u);
    EXPECT_EQ(by_name["objectstorage-sidecar"]->dmap[0].digest, kAddedSidecar);
}

TEST_F(CorrectedK8sioCorpus, RepeatedImageNamesAreMerged) {
    // dns-controller is listed in 113 entries of kops' images.yaml.
    const promotion_manifest* kops = find_project(*one_, "k8s-staging-kops");
    ASSERT_NE(kops, nullptr);
    EXPECT_EQ(kops->images.size(), 10u);
    std::set<std::string> names;
    for (const auto& image : kops->images) {
        EXPECT_TRUE(names.insert(image.name).second) << image.name << " listed twice";
    }
    const promotion_manifest* etcdadm = find_project(*one_, "k8s-staging-etcdadm");
    ASSERT_NE(etcdadm, nullptr);
    EXPECT_EQ(etcdadm->images.size(), 4u);
}

TEST_F(CorrectedK8sioCorpus, ProjectsAreInNameOrder) {
    ASSERT_FALSE(one_->manifests.empty());
    EXPECT_EQ(one_->manifests.front().project, "k8s-staging-addon-manager");
    EXPECT_EQ(one_->manifests.back().project, "k8s-staging-zeitgeist");
    for (std::size_t i = 1; i < one_->manifests.size(); ++i) {
        EXPECT_LT(one_->manifests[i - 1].project, one_->manifests[i].project);
    }
}

}  // namespace
}  // namespace hoist::engine
