// SPDX-License-Identifier: Apache-2.0
// The hoist command line as users run it: output, exit codes (0 done, 1 failed, 2 bad
// invocation) and error messages, against real registries.
#include "crypto/cosign_key.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/sigstore_js.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hoist {
namespace {

namespace reg = net::registry;
using testkit::registry_instance;
using testkit::registry_options;
using testsupport::run_process;

using testsupport::start_registry;

struct run_result {
    int status = -1;
    std::string out;  ///< stdout and stderr together
};

class Cli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        source = new registry_instance(start_registry());
        destination = new registry_instance(start_registry());
        testkit::image_spec spec;
        spec.platforms = {"linux/amd64", "linux/arm64"};
        spec.seed = 31;
        image = new testkit::built_image(testkit::build_image(spec));
        testsupport::client_setup setup;
        setup.ca_files = {source->ca_file().string()};
        auto pushed =
            testsupport::run_client<net::result<std::string>>(setup, [&](reg::registry_client& c) {
                return testkit::push_image(c, {source->host_port(), "cli/app"}, "1.0", *image,
                                           net::deadline::from_now(std::chrono::seconds(30)));
            });
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
    }
    static void TearDownTestSuite() {
        delete source;
        delete destination;
        delete image;
    }

    static run_result hoist(const std::string& arguments) {
        std::string trust = " --ca-file " + source->ca_file().string() + " --ca-file " +
                            destination->ca_file().string() + " ";
        run_result r;
        r.out = run_process(std::string(HOIST_BINARY) + trust + arguments + " 2>&1", &r.status);
        return r;
    }

    static inline registry_instance* source = nullptr;
    static inline registry_instance* destination = nullptr;
    static inline testkit::built_image* image = nullptr;
};

TEST_F(Cli, DigestManifestTagsCatalog) {
    auto digest = hoist("digest " + source->host_port() + "/cli/app:1.0");
    EXPECT_EQ(digest.status, 0) << digest.out;
    EXPECT_EQ(digest.out, image->top.digest + "\n");

    auto manifest = hoist("manifest " + source->host_port() + "/cli/app:1.0");
    EXPECT_EQ(manifest.status, 0);
    EXPECT_EQ(manifest.out, image->top.body);

    auto child =
        hoist("manifest " + source->host_port() + "/cli/app@" + image->manifests[1].digest);
    EXPECT_EQ(child.status, 0);
    EXPECT_EQ(child.out, image->manifests[1].body);

    auto tags = hoist("tags " + source->host_port() + "/cli/app");
    EXPECT_EQ(tags.status, 0);
    EXPECT_EQ(tags.out, "1.0\n");

    auto catalog = hoist("catalog " + source->host_port());
    EXPECT_EQ(catalog.status, 0);
    EXPECT_NE(catalog.out.find("cli/app\n"), std::string::npos) << catalog.out;
}

TEST_F(Cli, CopyAllKeepsTheIndexDigest) {
    auto copied = hoist("copy --all " + source->host_port() + "/cli/app:1.0 " +
                        destination->host_port() + "/cli/app:1.0");
    EXPECT_EQ(copied.status, 0) << copied.out;
    EXPECT_NE(copied.out.find(image->top.digest), std::string::npos) << copied.out;
    auto digest = hoist("digest " + destination->host_port() + "/cli/app:1.0");
    EXPECT_EQ(digest.out, image->top.digest + "\n");
}

TEST_F(Cli, CopyWithoutAllTakesOnePlatform) {
    auto copied = hoist("copy --platform linux/arm64 " + source->host_port() + "/cli/app:1.0 " +
                        destination->host_port() + "/cli/arm:1.0");
    EXPECT_EQ(copied.status, 0) << copied.out;
    auto digest = hoist("digest " + destination->host_port() + "/cli/arm:1.0");
    EXPECT_EQ(digest.out, image->manifests[1].digest + "\n");
}

TEST_F(Cli, BadInvocationExitsTwo) {
    EXPECT_EQ(hoist("").status, 2);
    EXPECT_EQ(hoist("copy onlyone").status, 2);
    EXPECT_EQ(hoist("frobnicate").status, 2);
    auto bad_ref = hoist("digest 'UPPER/Case:tag'");
    EXPECT_EQ(bad_ref.status, 2);
    EXPECT_NE(bad_ref.out.find("invalid repository"), std::string::npos) << bad_ref.out;
    EXPECT_EQ(hoist("digest x/y@sha256:abc").status, 2);
    for (const auto& [budget, says] : std::vector<std::pair<std::string, std::string>>{
             {"timeout=0", "timeout must be at least"},
             {"promote:frob=1", "unknown key \"frob\""},
             {"nophase:rate=1", "unknown phase \"nophase\""},
             {"rate=-1", "is not a number >= 0"}}) {
        auto bad_budget = hoist("cip --budget " + budget + " --thin-manifest-dir .");
        EXPECT_EQ(bad_budget.status, 2) << budget;
        EXPECT_NE(bad_budget.out.find(says), std::string::npos) << bad_budget.out;
    }
}

TEST_F(Cli, FailuresExitOneWithTheReference) {
    auto missing = hoist("digest " + source->host_port() + "/cli/app:nope");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.out.find("cli/app:nope"), std::string::npos) << missing.out;

    auto unknown_repo = hoist("manifest " + source->host_port() + "/cli/none:1");
    EXPECT_EQ(unknown_repo.status, 1);
    EXPECT_NE(unknown_repo.out.find("404"), std::string::npos) << unknown_repo.out;

    auto untrusted = run_process(
        std::string(HOIST_BINARY) + " digest " + source->host_port() + "/cli/app:1.0 2>&1",
        nullptr);
    EXPECT_NE(untrusted.find("not trusted"), std::string::npos) << untrusted;
}

std::string file_contents(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// No registry needed: the key pair is written to a fresh directory.
TEST(CliKeygen, WritesALoadableKeyPairAndKeepsItUnlessForced) {
    std::string pattern = (std::filesystem::temp_directory_path() / "hoist-keygen-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    const std::filesystem::path work = pattern;
    const std::string password = "correct horse";
    const auto keygen = "cd " + work.string() + " && COSIGN_PASSWORD='" + password + "' " +
                        std::string(HOIST_BINARY) + " keygen";

    int status = -1;
    auto out = run_process(keygen + " 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("cosign.key"), std::string::npos) << out;
    EXPECT_NE(out.find("cosign.pub"), std::string::npos) << out;

    const auto key_text = file_contents(work / "cosign.key");
    const auto public_text = file_contents(work / "cosign.pub");
    EXPECT_TRUE(crypto::needs_password(key_text));
    auto key = crypto::load_signing_key(key_text, password);
    ASSERT_TRUE(key) << key.error().message();
    auto public_keys = crypto::load_verification_keys(public_text);
    ASSERT_TRUE(public_keys) << public_keys.error().message();
    ASSERT_EQ(public_keys->size(), 1u);
    EXPECT_EQ(public_keys->front(), key->public_key());
    // Opened again without hoist's code, as cosign's readers do it.
    namespace js = testsupport::sigstore_js;
    ASSERT_TRUE(js::installed());
    std::ofstream(work / "password") << password;
    std::ofstream(work / "wrong") << "incorrect horse";
    auto opened = js::open_cosign_key(work / "cosign.key", work / "password", work / "cosign.pub");
    EXPECT_TRUE(opened.ok) << opened;
    auto refused = js::open_cosign_key(work / "cosign.key", work / "wrong", work / "cosign.pub");
    EXPECT_EQ(refused.code, "KEY_PASSWORD") << refused;
    struct stat info {};
    ASSERT_EQ(::stat((work / "cosign.key").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);

    auto again = run_process(keygen + " 2>&1", &status);
    EXPECT_NE(status, 0) << again;
    EXPECT_NE(again.find("--force"), std::string::npos) << again;
    EXPECT_EQ(file_contents(work / "cosign.key"), key_text);
    EXPECT_EQ(file_contents(work / "cosign.pub"), public_text);

    auto forced = run_process(keygen + " --force 2>&1", &status);
    EXPECT_EQ(status, 0) << forced;
    EXPECT_NE(file_contents(work / "cosign.pub"), public_text);

    // No COSIGN_PASSWORD and no controlling terminal (setsid): nothing to ask, usage error.
    auto no_password = run_process("cd " + work.string() + " && env -u COSIGN_PASSWORD setsid -w " +
                                       std::string(HOIST_BINARY) +
                                       " keygen --output-key-prefix other </dev/null 2>&1",
                                   &status);
    EXPECT_EQ(status, 2) << no_password;
    EXPECT_NE(no_password.find("COSIGN_PASSWORD"), std::string::npos) << no_password;
    EXPECT_FALSE(std::filesystem::exists(work / "other.key"));

    std::filesystem::remove_all(work);
}

}  // namespace
}  // namespace hoist
