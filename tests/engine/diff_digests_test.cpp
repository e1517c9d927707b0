// SPDX-License-Identifier: Apache-2.0
// The diff-restricted modes: which digests a git change names, with Prow's variables or a
// --manifest-diff-since window, in a real git repository.
#include "engine/manifest/diff_digests.hpp"
#include "tests/engine/git_work_tree.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace hoist::engine {
namespace {

namespace fs = std::filesystem;

const std::string digest_old = "sha256:" + std::string(64, '0');
const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');

TEST(DiffDigests, OneQuotedDigestPerLineCounts) {
    std::string diff =
        "diff --git a/images.yaml b/images.yaml\n"
        "+    \"" +
        digest_a +
        "\": [\"1.0\"]\n"
        "-    \"" +
        digest_b +
        "\": [\"0.9\"]\n"
        "+    \"" +
        digest_old + "\" \"" + digest_a +
        "\"\n"  // two: ignored
        "+    " +
        digest_old +
        ": [\"1.0\"]\n"  // unquoted
        "+    \"sha256:" +
        std::string(63, 'c') + "\": []\n";  // too short
    EXPECT_EQ(digests_in_diff(diff), (std::set<std::string>{digest_a, digest_b}));
}

class GitRepository : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "hoist-diff-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root = pattern;
        git("init -q");
        write("images.yaml", "- name: app\n  dmap:\n    \"" + digest_old + "\": [\"0.1\"]\n");
        commit("2020-01-01T00:00:00Z", "old");
        old_commit = head();
        append("    \"" + digest_a + "\": [\"1.0\"]\n");
        commit(hours_ago(2), "add a");
        append("    \"" + digest_b + "\": [\"2.0\"]\n");
        commit(hours_ago(1), "add b");
        ::unsetenv("JOB_TYPE");
        ::unsetenv("PULL_BASE_SHA");
    }
    void TearDown() override {
        ::unsetenv("JOB_TYPE");
        ::unsetenv("PULL_BASE_SHA");
        fs::remove_all(root);
    }

    void git(const std::string& args) { test_git::git_in(root.string(), args); }
    void write(const std::string& name, const std::string& text) {
        std::ofstream(root / name) << text;
    }
    void append(const std::string& text) {
        std::ofstream(root / "images.yaml", std::ios::app) << text;
    }
    void commit(const std::string& date, const std::string& message) {
        ::setenv("GIT_AUTHOR_DATE", date.c_str(), 1);
        ::setenv("GIT_COMMITTER_DATE", date.c_str(), 1);
        git("add -A");
        git("commit -q -m '" + message + "'");
        ::unsetenv("GIT_AUTHOR_DATE");
        ::unsetenv("GIT_COMMITTER_DATE");
    }
    static std::string hours_ago(int hours) {
        return "@" + std::to_string(std::time(nullptr) - hours * 3600) + " +0000";
    }
    std::string head() { return test_git::head_of(root.string()); }

    fs::path root;
    std::string old_commit;
};

TEST_F(GitRepository, SinceWindowTakesTheCommitsInIt) {
    auto day = since_diff_digests(root.string(), "1 day");
    ASSERT_TRUE(day.has_value()) << day.error().message();
    EXPECT_EQ(*day, (std::set<std::string>{digest_a, digest_b}));

    auto minutes = since_diff_digests(root.string(), "90 minutes");
    ASSERT_TRUE(minutes.has_value());
    EXPECT_EQ(*minutes, (std::set<std::string>{digest_b}));

    auto none = since_diff_digests(root.string(), "1 second");
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
}

TEST_F(GitRepository, SinceWindowReachingTheFirstCommitDiffsAgainstIt) {
    auto all = since_diff_digests(root.string(), "20 years");
    ASSERT_TRUE(all.has_value()) << all.error().message();
    // The oldest commit has no parent: the diff runs against it, so its digest is not new.
    EXPECT_EQ(*all, (std::set<std::string>{digest_a, digest_b}));
}

TEST_F(GitRepository, ProwJobTypesChooseTheBase) {
    ::setenv("JOB_TYPE", "postsubmit", 1);
    auto post = prow_diff_digests(root.string());
    ASSERT_TRUE(post.has_value()) << post.error().message();
    EXPECT_EQ(*post, (std::set<std::string>{digest_b}));

    ::setenv("JOB_TYPE", "presubmit", 1);
    auto missing = prow_diff_digests(root.string());
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message().find("PULL_BASE_SHA not set"), std::string::npos);
    ::setenv("PULL_BASE_SHA", old_commit.c_str(), 1);
    auto pre = prow_diff_digests(root.string());
    ASSERT_TRUE(pre.has_value()) << pre.error().message();
    EXPECT_EQ(*pre, (std::set<std::string>{digest_a, digest_b}));

    ::setenv("JOB_TYPE", "periodic", 1);
    auto periodic = prow_diff_digests(root.string());
    ASSERT_FALSE(periodic.has_value());
    EXPECT_NE(periodic.error().message().find("unknown job type: periodic"), std::string::npos);

    ::unsetenv("JOB_TYPE");
    auto unset = prow_diff_digests(root.string());
    ASSERT_FALSE(unset.has_value());
    EXPECT_NE(unset.error().message().find("JOB_TYPE not set"), std::string::npos);
}

TEST_F(GitRepository, UncommittedChangesCount) {
    // kpromo diffs the working tree against the base.
    append("    \"sha256:" + std::string(64, 'd') + "\": [\"3.0\"]\n");
    ::setenv("JOB_TYPE", "postsubmit", 1);
    auto post = prow_diff_digests(root.string());
    ASSERT_TRUE(post.has_value());
    EXPECT_EQ(post->size(), 2u);
}

TEST(DiffDigests, OutsideARepositoryIsAnError) {
    auto result = since_diff_digests("/", "1 day");
    ASSERT_FALSE(result.has_value());
    EXPECT_NE(result.error().message().find("git rev-parse"), std::string::npos)
        << result.error().message();
}

}  // namespace
}  // namespace hoist::engine
