// SPDX-License-Identifier: Apache-2.0
// Where a manifest comes from, for the promotion predicate's `manifest` descriptor: remote
// URLs rewritten as git+https, Prow's JOB_SPEC for clones without a remote, and real git
// checkouts.
#include "engine/manifest/manifest_origin.hpp"

#include "engine/manifest/diff_digests.hpp"
#include "tests/engine/git_work_tree.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace hoist::engine {
namespace {

namespace fs = std::filesystem;

TEST(ManifestOrigin, RemotesBecomeGitHttpsUris) {
    const std::string k8s = "git+https://github.com/kubernetes/k8s.io";
    EXPECT_EQ(git_https_uri("https://github.com/kubernetes/k8s.io"), k8s);
    EXPECT_EQ(git_https_uri("https://github.com/kubernetes/k8s.io.git\n"), k8s);
    EXPECT_EQ(git_https_uri("https://github.com/kubernetes/k8s.io/"), k8s);
    EXPECT_EQ(git_https_uri("git@github.com:kubernetes/k8s.io.git"), k8s);
    EXPECT_EQ(git_https_uri("ssh://git@github.com:22/kubernetes/k8s.io.git"), k8s);
    EXPECT_EQ(git_https_uri("git+https://github.com/kubernetes/k8s.io"), k8s);
    // A token in the remote never reaches a signed record.
    EXPECT_EQ(git_https_uri("https://x-access-token:ghs_secret@github.com/kubernetes/k8s.io"), k8s);
    // The port of an https remote is the web server's.
    EXPECT_EQ(git_https_uri("https://git.example:8443/team/repo.git"),
              "git+https://git.example:8443/team/repo");
    EXPECT_EQ(git_https_uri("http://git.example/team/repo"), "git+http://git.example/team/repo");
    // Nothing a reader could fetch.
    EXPECT_EQ(git_https_uri("/srv/git/repo.git"), std::nullopt);
    EXPECT_EQ(git_https_uri("../repo"), std::nullopt);
    EXPECT_EQ(git_https_uri("./dir:with/colon"), std::nullopt);
    EXPECT_EQ(git_https_uri("file:///srv/git/repo.git"), std::nullopt);
    EXPECT_EQ(git_https_uri("https://github.com"), std::nullopt);
    EXPECT_EQ(git_https_uri(""), std::nullopt);
}

TEST(ManifestOrigin, JobSpecNamesTheRepositoryClonedThere) {
    const std::string spec = R"({"type":"postsubmit","job":"post-k8sio-image-promo",
        "refs":{"org":"kubernetes","repo":"k8s.io","base_ref":"main"},
        "extra_refs":[{"org":"kubernetes-sigs","repo":"promo-tools",
                       "repo_link":"https://github.com/kubernetes-sigs/promo-tools"},
                      {"org":"example","repo":"tools","path_alias":"example.dev/tools",
                       "repo_link":"https://git.example/example/tools"}]})";
    EXPECT_EQ(job_spec_repository(spec, "/home/prow/go/src/github.com/kubernetes/k8s.io"),
              "git+https://github.com/kubernetes/k8s.io");
    EXPECT_EQ(
        job_spec_repository(spec, "/home/prow/go/src/github.com/kubernetes-sigs/promo-tools/"),
        "git+https://github.com/kubernetes-sigs/promo-tools");
    EXPECT_EQ(job_spec_repository(spec, "/home/prow/go/src/example.dev/tools"),
              "git+https://git.example/example/tools");
    // Another clone, or one whose directory only ends like a repository's name.
    EXPECT_EQ(job_spec_repository(spec, "/workspace/other"), std::nullopt);
    EXPECT_EQ(job_spec_repository(spec, "/src/github.com/kubernetes/xk8s.io"), std::nullopt);
    EXPECT_EQ(job_spec_repository("not json", "/src/kubernetes/k8s.io"), std::nullopt);
    EXPECT_EQ(job_spec_repository(R"({"refs":{"org":"kubernetes"}})", "/src/kubernetes/"),
              std::nullopt);
}

class ManifestCheckout : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "hoist-origin-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root = fs::canonical(pattern);
        // git must not find a repository above the test's own, wherever TMPDIR is.
        ::setenv("GIT_CEILING_DIRECTORIES", root.string().c_str(), 1);
        clone = root / "src" / "kubernetes" / "k8s.io";
        fs::create_directories(clone / "registry.k8s.io" / "images" / "k8s-staging-foo");
        images = clone / "registry.k8s.io" / "images" / "k8s-staging-foo" / "images.yaml";
        std::ofstream(images) << "- name: foo\n  dmap: {}\n";
    }
    void TearDown() override {
        ::unsetenv("GIT_CEILING_DIRECTORIES");
        fs::remove_all(root);
    }

    void git(const std::string& args) { test_git::git_in(clone.string(), args); }
    std::string head() { return test_git::head_of(clone.string()); }

    fs::path root;
    fs::path clone;
    fs::path images;
};

TEST_F(ManifestCheckout, OutsideAWorkTreeOnlyThePathAsGiven) {
    std::string given = images.string();
    auto origin = manifest_locator("").locate(given);
    EXPECT_EQ(origin.name, given);
    EXPECT_EQ(origin.uri, std::nullopt);
    EXPECT_EQ(origin.git_commit, std::nullopt);
}

TEST_F(ManifestCheckout, InAWorkTreeThePathFromItsRootTheCommitAndTheOrigin) {
    git("init -q");
    git("remote add origin git@github.com:kubernetes/k8s.io.git");
    git("add -A");
    git("commit -q -m images");
    // A path given through a symbolic link and with dot segments names the same file.
    fs::create_directory_symlink(clone / "registry.k8s.io", root / "link");
    auto origin =
        manifest_locator(R"({"refs":{"org":"other","repo":"k8s.io"}})")
            .locate((root / "link" / "images" / "." / "k8s-staging-foo" / "images.yaml").string());
    EXPECT_EQ(origin.name, "registry.k8s.io/images/k8s-staging-foo/images.yaml");
    EXPECT_EQ(origin.uri, "git+https://github.com/kubernetes/k8s.io");  // origin wins
    EXPECT_EQ(origin.git_commit, head());
    EXPECT_EQ(origin.git_commit->size(), 40u);
}

TEST_F(ManifestCheckout, AProwCloneWithoutARemoteTakesTheJobSpecRepository) {
    git("init -q");
    git("add -A");
    git("commit -q -m images");
    const std::string spec = R"({"refs":{"org":"kubernetes","repo":"k8s.io"}})";
    auto origin = manifest_locator(spec).locate(images.string());
    EXPECT_EQ(origin.name, "registry.k8s.io/images/k8s-staging-foo/images.yaml");
    EXPECT_EQ(origin.uri, "git+https://github.com/kubernetes/k8s.io");
    EXPECT_EQ(origin.git_commit, head());

    auto outside_a_job = manifest_locator("").locate(images.string());
    EXPECT_EQ(outside_a_job.uri, std::nullopt);
    EXPECT_EQ(outside_a_job.git_commit, head());
}

TEST_F(ManifestCheckout, AWorkTreeWithoutCommitsHasNoCommit) {
    git("init -q");
    auto origin = manifest_locator("").locate(images.string());
    EXPECT_EQ(origin.name, "registry.k8s.io/images/k8s-staging-foo/images.yaml");
    EXPECT_EQ(origin.git_commit, std::nullopt);
}

TEST_F(ManifestCheckout, OneLocatorAsksGitOncePerWorkTreeAndSeesNestedRepositories) {
    git("init -q");
    git("remote add origin https://github.com/kubernetes/k8s.io");
    git("add -A");
    git("commit -q -m images");
    std::string outer_commit = head();
    // A second manifest of the same checkout, and a repository nested in it.
    fs::create_directories(clone / "registry.k8s.io" / "images" / "k8s-staging-bar");
    std::ofstream(clone / "registry.k8s.io" / "images" / "k8s-staging-bar" / "images.yaml")
        << "[]\n";
    fs::path inner = clone / "vendor" / "inner";
    fs::create_directories(inner / "images" / "baz");
    std::ofstream(inner / "images" / "baz" / "images.yaml") << "[]\n";
    test_git::git_in(inner.string(), "init -q");
    test_git::git_in(inner.string(), "add -A");
    test_git::git_in(inner.string(), "commit -q -m inner");
    std::string inner_commit = test_git::head_of(inner.string());
    ASSERT_NE(inner_commit, outer_commit);

    manifest_locator locator("");
    auto foo = locator.locate(images.string());
    auto bar = locator.locate(
        (clone / "registry.k8s.io" / "images" / "k8s-staging-bar" / "images.yaml").string());
    auto baz = locator.locate((inner / "images" / "baz" / "images.yaml").string());
    EXPECT_EQ(foo.name, "registry.k8s.io/images/k8s-staging-foo/images.yaml");
    EXPECT_EQ(bar.name, "registry.k8s.io/images/k8s-staging-bar/images.yaml");
    EXPECT_EQ(bar.git_commit, outer_commit);
    EXPECT_EQ(bar.uri, "git+https://github.com/kubernetes/k8s.io");
    EXPECT_EQ(baz.name, "images/baz/images.yaml");
    EXPECT_EQ(baz.git_commit, inner_commit);
    EXPECT_EQ(baz.uri, std::nullopt);
    // Each work tree was asked about once, the nested one too.
    EXPECT_EQ(locator.locate((inner / "images" / "baz" / "images.yaml").string()).git_commit,
              inner_commit);
    EXPECT_EQ(locator.locate(images.string()).git_commit, outer_commit);
    EXPECT_EQ(locator.work_trees(), 2u);
    // Outside every work tree, after some are known.
    fs::create_directories(root / "loose");
    std::ofstream(root / "loose" / "images.yaml") << "[]\n";
    EXPECT_EQ(locator.locate((root / "loose" / "images.yaml").string()).git_commit, std::nullopt);
}

}  // namespace
}  // namespace hoist::engine
