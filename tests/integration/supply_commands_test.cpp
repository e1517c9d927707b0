// SPDX-License-Identifier: Apache-2.0
// `hoist sign`, `verify`, `attest` and `verify-attestation` against a real docker-registry
// (2.8: no referrers API, so bundles go through the referrers tag): what they write is
// read back from the registry and checked by containers/image's rules and by sigstore-js,
// an independent verifier.
#include "crypto/bundle.hpp"
#include "crypto/ec_key.hpp"
#include "crypto/encoding.hpp"
#include "crypto/sha256.hpp"
#include "crypto/signature_image.hpp"
#include "crypto/simple_signing.hpp"
#include "engine/supply/signatures.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/sigstore_js.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/staging_set.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
namespace sigstore_js = testsupport::sigstore_js;
using testkit::registry_instance;
using testsupport::run_process;

constexpr std::string_view cosign_sign_type = "https://sigstore.dev/cosign/sign/v1";
constexpr std::string_view slsa_v1_type = "https://slsa.dev/provenance/v1";

using testsupport::start_registry;

std::string file_contents(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, std::string_view contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::set<std::string> keys_of(const nlohmann::json& object) {
    std::set<std::string> keys;
    for (const auto& item : object.items()) {
        keys.insert(item.key());
    }
    return keys;
}

std::string hex_of(const std::string& digest) {
    return digest.substr(digest.find(':') + 1);
}

std::string sig_tag(const std::string& digest) {
    return "sha256-" + hex_of(digest) + ".sig";
}

/// One layer of a `.sig` image, read back from the registry.
struct signature_layer {
    std::string payload;
    std::string signature_base64;
    nlohmann::json descriptor;
};

struct signature_image {
    std::string content_type;  ///< as the registry serves the manifest
    std::string digest;
    nlohmann::json manifest;
    std::vector<signature_layer> layers;
};

class SupplyCommands : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ASSERT_TRUE(sigstore_js::installed());
        registry = new registry_instance(start_registry());
        std::string pattern = (fs::temp_directory_path() / "hoist-supply-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        work = new fs::path(pattern);

        // img-000, img-003 and img-006 are two-platform indexes, the others single images.
        testkit::staging_set_spec spec;
        spec.repositories = 8;
        spec.tags = 1;
        spec.index_every = 3;
        spec.layers = 1;
        spec.layer_size = 512;
        spec.seed = 17;
        auto pushed = with_client<net::result<std::vector<testkit::staging_image>>>(
            [&](reg::registry_client& client) {
                return testkit::push_staging_set(client, registry->host_port() + "/supply", spec, 8,
                                                 deadline());
            });
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message();
        images = new std::vector<testkit::staging_image>(std::move(*pushed));

        auto key = crypto::ec_private_key::generate();
        auto other = crypto::ec_private_key::generate();
        ASSERT_TRUE(key && other);
        signing_key = new crypto::ec_private_key(*key);
        write_file(key_file(), key->to_pkcs8_pem());
        write_file(public_file(), key->public_key_pem());
        write_file(other_public_file(), other->public_key_pem());
        write_file(*work / "other.key", other->to_pkcs8_pem());
    }
    static void TearDownTestSuite() {
        fs::remove_all(*work);
        delete work;
        delete images;
        delete signing_key;
        delete registry;
    }

    static net::deadline deadline() { return net::deadline::from_now(std::chrono::seconds(30)); }
    static fs::path key_file() { return *work / "cosign.key"; }
    static fs::path public_file() { return *work / "cosign.pub"; }
    static fs::path other_public_file() { return *work / "other.pub"; }

    template <class T>
    static T with_client(std::function<asio::awaitable<T>(reg::registry_client&)> body) {
        testsupport::client_setup setup;
        setup.ca_files = {registry->ca_file().string()};
        return testsupport::run_client<T>(setup, std::move(body));
    }

    static const testkit::staging_image& image(std::size_t r) { return (*images)[r]; }
    static std::string repository(std::size_t r) {
        return registry->host_port() + "/supply/" + image(r).repository;
    }
    static std::string tagged(std::size_t r) { return repository(r) + ":" + image(r).tag; }
    static reg::repository_ref repo_ref(std::size_t r) {
        return {registry->host_port(), "supply/" + image(r).repository};
    }

    struct run_result {
        int status = -1;
        std::string out;  ///< stdout
        std::string err;  ///< stderr
    };

    static run_result hoist(const std::string& arguments, const std::string& environment = {}) {
        auto err_file = *work / "stderr.txt";
        run_result r;
        r.out = run_process(environment + " " + std::string(HOIST_BINARY) + " --ca-file " +
                                registry->ca_file().string() + " " + arguments + " 2>" +
                                err_file.string(),
                            &r.status);
        r.err = file_contents(err_file);
        return r;
    }

    static net::result<reg::fetched_manifest> fetch_manifest(const reg::repository_ref& repo,
                                                             const std::string& reference) {
        return with_client<net::result<reg::fetched_manifest>>(
            [&](reg::registry_client& c) { return c.get_manifest(repo, reference, deadline()); });
    }

    static std::string fetch_blob(const reg::repository_ref& repo, const std::string& digest,
                                  std::int64_t size) {
        auto blob = with_client<net::result<std::string>>([&](reg::registry_client& c) {
            return engine::read_small_blob(c, repo, digest, size, deadline());
        });
        EXPECT_TRUE(blob.has_value()) << blob.error().message();
        return blob ? *blob : std::string();
    }

    static std::vector<reg::descriptor> referrers(const reg::repository_ref& repo,
                                                  const std::string& digest) {
        auto listed = with_client<net::result<std::vector<reg::descriptor>>>(
            [&](reg::registry_client& c) { return c.referrers(repo, digest, "", deadline()); });
        EXPECT_TRUE(listed.has_value()) << listed.error().message();
        return listed ? *listed : std::vector<reg::descriptor>();
    }

    static signature_image read_signature_image(const reg::repository_ref& repo,
                                                const std::string& digest) {
        signature_image image;
        auto fetched = fetch_manifest(repo, sig_tag(digest));
        EXPECT_TRUE(fetched.has_value()) << fetched.error().message();
        if (!fetched) {
            return image;
        }
        image.content_type = fetched->media_type;
        image.digest = fetched->digest;
        image.manifest = nlohmann::json::parse(fetched->body);
        for (const auto& layer : image.manifest["layers"]) {
            signature_layer read;
            read.descriptor = layer;
            read.payload = fetch_blob(repo, layer["digest"].get<std::string>(),
                                      layer["size"].get<std::int64_t>());
            read.signature_base64 =
                layer["annotations"].value(std::string(crypto::cosign_signature_annotation), "");
            image.layers.push_back(std::move(read));
        }
        return image;
    }

    /// containers/image's rules for a `.sig` image (skopeo-sigstore.md §5.3), then
    /// sigstore-js on every layer's payload and signature.
    static void expect_accepted_signature_image(const signature_image& image,
                                                const std::string& digest,
                                                const std::string& identity,
                                                const nlohmann::json& optional) {
        EXPECT_EQ(image.content_type, crypto::oci_manifest_media_type);
        EXPECT_EQ(image.manifest.value("mediaType", ""),
                  std::string(crypto::oci_manifest_media_type));
        ASSERT_FALSE(image.layers.empty());
        for (std::size_t i = 0; i < image.layers.size(); ++i) {
            SCOPED_TRACE("layer " + std::to_string(i) + " of " + sig_tag(digest));
            const auto& layer = image.layers[i];
            EXPECT_EQ(layer.descriptor["mediaType"],
                      std::string(crypto::simple_signing_media_type));
            auto payload = nlohmann::json::parse(layer.payload);
            EXPECT_EQ(keys_of(payload), (std::set<std::string>{"critical", "optional"}));
            const auto& critical = payload["critical"];
            EXPECT_EQ(keys_of(critical), (std::set<std::string>{"identity", "image", "type"}));
            EXPECT_EQ(keys_of(critical["identity"]), std::set<std::string>{"docker-reference"});
            EXPECT_EQ(keys_of(critical["image"]), std::set<std::string>{"docker-manifest-digest"});
            EXPECT_EQ(critical["type"], "cosign container image signature");
            EXPECT_EQ(critical["image"]["docker-manifest-digest"], digest);
            EXPECT_EQ(critical["identity"]["docker-reference"], identity);
            EXPECT_EQ(payload["optional"], optional);

            auto payload_file = *work / "payload.json";
            write_file(payload_file, layer.payload);
            auto verdict =
                sigstore_js::verify_message(payload_file, layer.signature_base64, public_file());
            EXPECT_TRUE(verdict.ok) << verdict;
        }
    }

    /// The one bundle referrer of `digest`, checked as cosign writes it, and sigstore-js's
    /// verdicts on the bundle and on its statement. Returns the statement.
    static nlohmann::json expect_one_verified_bundle(const reg::repository_ref& repo,
                                                     const std::string& digest,
                                                     std::string_view predicate_type) {
        auto listed = referrers(repo, digest);
        EXPECT_EQ(listed.size(), 1u);
        if (listed.size() != 1) {
            return {};
        }
        auto fetched = fetch_manifest(repo, listed[0].digest);
        EXPECT_TRUE(fetched.has_value()) << fetched.error().message();
        if (!fetched) {
            return {};
        }
        auto manifest = nlohmann::json::parse(fetched->body);
        EXPECT_EQ(manifest["artifactType"], std::string(crypto::bundle_v03_media_type));
        EXPECT_EQ(manifest["subject"]["digest"], digest);
        EXPECT_EQ(manifest["annotations"][std::string(crypto::bundle_predicate_type_annotation)],
                  std::string(predicate_type));
        EXPECT_EQ(manifest["layers"].size(), 1u);
        const auto& layer = manifest["layers"][0];
        EXPECT_EQ(layer["mediaType"], std::string(crypto::bundle_v03_media_type));
        auto bundle_text =
            fetch_blob(repo, layer["digest"].get<std::string>(), layer["size"].get<std::int64_t>());
        auto bundle_file = *work / "bundle.json";
        write_file(bundle_file, bundle_text);
        auto bundle_verdict = sigstore_js::verify_bundle(bundle_file, public_file());
        EXPECT_TRUE(bundle_verdict.ok) << bundle_verdict;

        auto bundle = nlohmann::json::parse(bundle_text);
        auto envelope_file = *work / "envelope.json";
        write_file(envelope_file, bundle["dsseEnvelope"].dump());
        auto statement_verdict = sigstore_js::verify_statement(envelope_file, public_file(),
                                                               hex_of(digest), predicate_type);
        EXPECT_TRUE(statement_verdict.ok) << statement_verdict;
        auto payload = crypto::base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>());
        EXPECT_TRUE(payload.has_value());
        return payload ? nlohmann::json::parse(*payload) : nlohmann::json();
    }

    static std::vector<std::string> children_of(std::size_t r) {
        auto fetched = fetch_manifest(repo_ref(r), image(r).digest);
        EXPECT_TRUE(fetched.has_value());
        std::vector<std::string> children;
        if (fetched) {
            auto index = nlohmann::json::parse(fetched->body);
            for (const auto& child : index["manifests"]) {
                children.push_back(child["digest"].get<std::string>());
            }
        }
        EXPECT_EQ(children.size(), 2u);
        return children;
    }

    static inline registry_instance* registry = nullptr;
    static inline fs::path* work = nullptr;
    static inline std::vector<testkit::staging_image>* images = nullptr;
    static inline crypto::ec_private_key* signing_key = nullptr;
};

TEST_F(SupplyCommands, SignRecursiveWritesWhatContainersImageAcceptsAndVerifies) {
    auto signed_now = hoist("sign " + tagged(0) + " --key " + key_file().string() +
                            " --recursive -a team=release");
    ASSERT_EQ(signed_now.status, 0) << signed_now.out << signed_now.err;
    auto targets = children_of(0);
    targets.insert(targets.begin(), image(0).digest);
    ASSERT_EQ(targets.size(), 3u);
    EXPECT_EQ(lines_of(signed_now.out).size(), 3u) << signed_now.out;
    for (const auto& digest : targets) {
        EXPECT_NE(
            signed_now.out.find("signed " + repository(0) + "@" + digest + ": signature added to " +
                                repository(0) + ":" + sig_tag(digest)),
            std::string::npos)
            << signed_now.out;
        auto sig = read_signature_image(repo_ref(0), digest);
        EXPECT_EQ(sig.layers.size(), 1u);
        expect_accepted_signature_image(sig, digest, repository(0), {{"team", "release"}});
    }

    auto verified = hoist("verify " + tagged(0) + " --key " + public_file().string());
    ASSERT_EQ(verified.status, 0) << verified.err;
    auto printed = lines_of(verified.out);
    ASSERT_EQ(printed.size(), 1u) << verified.out;
    auto payload = nlohmann::json::parse(printed[0]);
    EXPECT_EQ(payload["critical"]["image"]["docker-manifest-digest"], image(0).digest);
    EXPECT_EQ(payload["optional"]["team"], "release");

    auto child = hoist("verify " + repository(0) + "@" + targets[2] + " --key " +
                       public_file().string() + " -a team=release");
    EXPECT_EQ(child.status, 0) << child.err;

    auto wrong_annotation =
        hoist("verify " + tagged(0) + " --key " + public_file().string() + " -a team=other");
    EXPECT_EQ(wrong_annotation.status, 1);
    EXPECT_EQ(wrong_annotation.out, "");
    EXPECT_NE(wrong_annotation.err.find("lacks annotation team=other"), std::string::npos)
        << wrong_annotation.err;

    auto other_key = hoist("verify " + tagged(0) + " --key " + other_public_file().string());
    EXPECT_EQ(other_key.status, 1);
    EXPECT_EQ(other_key.out, "");
    EXPECT_NE(other_key.err.find("by another key"), std::string::npos) << other_key.err;

    auto either_key = hoist("verify " + tagged(0) + " --key " + other_public_file().string() +
                            " --key " + public_file().string());
    EXPECT_EQ(either_key.status, 0) << either_key.err;

    auto unsigned_image = hoist("verify " + tagged(5) + " --key " + public_file().string());
    EXPECT_EQ(unsigned_image.status, 1);
    EXPECT_NE(unsigned_image.err.find("none found"), std::string::npos) << unsigned_image.err;
}

TEST_F(SupplyCommands, SigningAgainAddsNothingAndAnotherIdentityAddsALayer) {
    auto first = hoist("sign " + tagged(1) + " --key " + key_file().string());
    ASSERT_EQ(first.status, 0) << first.err;
    auto before = read_signature_image(repo_ref(1), image(1).digest);
    ASSERT_EQ(before.layers.size(), 1u);

    auto again =
        hoist("sign " + repository(1) + "@" + image(1).digest + " --key " + key_file().string());
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.out.find("already signed"), std::string::npos) << again.out;
    auto after = read_signature_image(repo_ref(1), image(1).digest);
    EXPECT_EQ(after.digest, before.digest);
    EXPECT_EQ(after.layers.size(), 1u);

    auto renamed = hoist("sign " + tagged(1) + " --key " + key_file().string() +
                         " --identity registry.example/prod/app");
    EXPECT_EQ(renamed.status, 0) << renamed.err;
    auto both = read_signature_image(repo_ref(1), image(1).digest);
    ASSERT_EQ(both.layers.size(), 2u);
    EXPECT_EQ(both.layers[0].payload, before.layers[0].payload);
    auto second = nlohmann::json::parse(both.layers[1].payload);
    EXPECT_EQ(second["critical"]["identity"]["docker-reference"], "registry.example/prod/app");

    auto verified = hoist("verify " + tagged(1) + " --key " + public_file().string());
    EXPECT_EQ(verified.status, 0) << verified.err;
    EXPECT_EQ(lines_of(verified.out).size(), 2u) << verified.out;
}

TEST_F(SupplyCommands, TamperedSignatureAnnotationIsRefused) {
    ASSERT_EQ(hoist("sign " + tagged(2) + " --key " + key_file().string()).status, 0);
    ASSERT_EQ(hoist("verify " + tagged(2) + " --key " + public_file().string()).status, 0);

    // A well-formed signature by the right key, over other bytes, in place of the real one.
    auto fetched = fetch_manifest(repo_ref(2), sig_tag(image(2).digest));
    ASSERT_TRUE(fetched.has_value()) << fetched.error().message();
    auto manifest = nlohmann::ordered_json::parse(fetched->body);
    auto forged = signing_key->sign_der("{\"critical\":{}}");
    ASSERT_TRUE(forged.has_value());
    manifest["layers"][0]["annotations"][std::string(crypto::cosign_signature_annotation)] =
        crypto::base64_encode(*forged);
    auto put = with_client<net::result<std::string>>([&](reg::registry_client& c) {
        return c.put_manifest(repo_ref(2), sig_tag(image(2).digest), manifest.dump(),
                              std::string(crypto::oci_manifest_media_type), deadline());
    });
    ASSERT_TRUE(put.has_value()) << put.error().message();

    auto verified = hoist("verify " + tagged(2) + " --key " + public_file().string());
    EXPECT_EQ(verified.status, 1);
    EXPECT_EQ(verified.out, "");
    EXPECT_NE(verified.err.find("refused"), std::string::npos) << verified.err;
}

// A genuine signature by the right key, of another image, replayed beside this one: the
// payload's docker-manifest-digest names the other image, so it signs nothing here.
TEST_F(SupplyCommands, SignatureOfAnotherDigestIsRefused) {
    std::string payload = crypto::simple_signing_payload(repository(6), image(5).digest, {});
    auto signature = signing_key->sign_der(payload);
    ASSERT_TRUE(signature.has_value());
    auto sig_image =
        crypto::build_signature_image({crypto::simple_signing_layer(payload, *signature)});
    ASSERT_TRUE(sig_image.has_value());
    auto put = with_client<
        net::result<std::string>>([&](reg::registry_client& c)
                                      -> asio::awaitable<net::result<std::string>> {
        std::vector<std::string> blobs{sig_image->config, payload};  // g++ 12: not inside co_await
        auto pushed = co_await engine::push_small_blobs(c, repo_ref(6), std::move(blobs),
                                                        "replayed signature", deadline());
        if (!pushed) {
            co_return pushed.error();
        }
        co_return co_await c.put_manifest(repo_ref(6), sig_tag(image(6).digest),
                                          sig_image->manifest,
                                          std::string(crypto::oci_manifest_media_type), deadline());
    });
    ASSERT_TRUE(put.has_value()) << put.error().message();

    auto verified = hoist("verify " + tagged(6) + " --key " + public_file().string());
    EXPECT_EQ(verified.status, 1) << verified.out;
    EXPECT_EQ(verified.out, "");
    EXPECT_NE(verified.err.find("signs " + image(5).digest + ", not " + image(6).digest),
              std::string::npos)
        << verified.err;
}

TEST_F(SupplyCommands, VerifyPrintsTheSignedPayloadAsSigned) {
    // Another signer's payload: an optional value that is not a string, keys in its own
    // order. What verify prints must be what the signature covers, not a rebuilt claim.
    const auto& target = image(7);
    std::string payload =
        R"({"critical":{"identity":{"docker-reference":"registry.example/other"},)"
        R"("image":{"docker-manifest-digest":")" +
        target.digest +
        R"("},"type":"cosign container image signature"},"optional":{"z":"last","n":3}})";
    auto signature = signing_key->sign_der(payload);
    ASSERT_TRUE(signature.has_value());
    auto image_blobs =
        crypto::build_signature_image({crypto::simple_signing_layer(payload, *signature)});
    ASSERT_TRUE(image_blobs.has_value());
    auto pushed = with_client<net::result<std::string>>(
        [&](reg::registry_client& c) -> asio::awaitable<net::result<std::string>> {
            for (const auto& blob : {payload, image_blobs->config}) {
                reg::memory_blob_source source(blob);
                auto put = co_await c.push_blob(repo_ref(7), crypto::digest_of(blob),
                                                static_cast<std::int64_t>(blob.size()), source,
                                                deadline());
                if (!put) {
                    co_return put.error();
                }
            }
            co_return co_await c.put_manifest(
                repo_ref(7), sig_tag(target.digest), image_blobs->manifest,
                std::string(crypto::oci_manifest_media_type), deadline());
        });
    ASSERT_TRUE(pushed.has_value()) << pushed.error().message();

    auto verified = hoist("verify " + tagged(7) + " --key " + public_file().string());
    ASSERT_EQ(verified.status, 0) << verified.err;
    EXPECT_EQ(lines_of(verified.out), std::vector<std::string>{payload}) << verified.out;
}

TEST_F(SupplyCommands, AttestThenVerifyAttestationByType) {
    auto predicate_file = *work / "provenance.json";
    write_file(predicate_file, R"({"buildDefinition":{"buildType":"https://example.com/build/v1",)"
                               R"("externalParameters":{"repository":"https://example.com/app"}},)"
                               R"("runDetails":{"builder":{"id":"https://example.com/builder"}}})");
    std::string attest = "attest " + tagged(4) + " --key " + key_file().string() + " --predicate " +
                         predicate_file.string() + " --type slsaprovenance1";
    auto attested = hoist(attest);
    ASSERT_EQ(attested.status, 0) << attested.err;
    EXPECT_NE(attested.out.find("attached as referrer sha256:"), std::string::npos) << attested.out;

    auto statement = expect_one_verified_bundle(repo_ref(4), image(4).digest, slsa_v1_type);
    EXPECT_EQ(statement["_type"], "https://in-toto.io/Statement/v1");
    ASSERT_EQ(statement["subject"].size(), 1u);
    EXPECT_EQ(statement["subject"][0]["name"], repository(4));
    EXPECT_EQ(statement["subject"][0]["digest"]["sha256"], hex_of(image(4).digest));
    EXPECT_EQ(statement["predicate"]["runDetails"]["builder"]["id"], "https://example.com/builder");

    auto again = hoist(attest);
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.out.find("already attested"), std::string::npos) << again.out;
    EXPECT_EQ(referrers(repo_ref(4), image(4).digest).size(), 1u);

    auto verified = hoist("verify-attestation " + tagged(4) + " --key " + public_file().string() +
                          " --type slsaprovenance1");
    ASSERT_EQ(verified.status, 0) << verified.err;
    auto printed = lines_of(verified.out);
    ASSERT_EQ(printed.size(), 1u) << verified.out;
    EXPECT_EQ(nlohmann::json::parse(printed[0]), statement);

    // cosign's default type is `custom`: a provenance statement is not one.
    auto default_type =
        hoist("verify-attestation " + tagged(4) + " --key " + public_file().string());
    EXPECT_EQ(default_type.status, 1);
    EXPECT_EQ(default_type.out, "");
    EXPECT_NE(default_type.err.find("predicate type https://slsa.dev/provenance/v1, not "
                                    "https://cosign.sigstore.dev/attestation/v1"),
              std::string::npos)
        << default_type.err;

    // cosign's other short names stand for their URIs, as in cosign.
    auto as_sbom = hoist("verify-attestation " + tagged(4) + " --key " + public_file().string() +
                         " --type cyclonedx");
    EXPECT_EQ(as_sbom.status, 1) << as_sbom.err;
    EXPECT_NE(as_sbom.err.find("not https://cyclonedx.org/bom"), std::string::npos) << as_sbom.err;

    auto other_key = hoist("verify-attestation " + tagged(4) + " --key " +
                           other_public_file().string() + " --type " + std::string(slsa_v1_type));
    EXPECT_EQ(other_key.status, 1);
    EXPECT_NE(other_key.err.find("signed by another key"), std::string::npos) << other_key.err;
}

TEST_F(SupplyCommands, BundleFormatSignsEveryImageOfAnIndexAndVerifies) {
    std::string sign = "sign " + tagged(3) + " --key " + key_file().string() +
                       " --signature-format bundle --recursive -a purpose=test";
    auto signed_now = hoist(sign);
    ASSERT_EQ(signed_now.status, 0) << signed_now.err;
    EXPECT_EQ(lines_of(signed_now.out).size(), 3u) << signed_now.out;

    auto statement = expect_one_verified_bundle(repo_ref(3), image(3).digest, cosign_sign_type);
    ASSERT_EQ(statement["subject"].size(), 1u);
    EXPECT_FALSE(statement["subject"][0].contains("name"));
    EXPECT_EQ(statement["subject"][0]["annotations"], nlohmann::json({{"purpose", "test"}}));
    EXPECT_EQ(statement["predicate"], nlohmann::json::object());
    for (const auto& child : children_of(3)) {
        auto listed = referrers(repo_ref(3), child);
        ASSERT_EQ(listed.size(), 1u) << child;
    }
    auto no_sig = fetch_manifest(repo_ref(3), sig_tag(image(3).digest));
    EXPECT_TRUE(!no_sig && no_sig.error().is(net::errc::not_found));

    auto verified =
        hoist("verify " + tagged(3) + " --key " + public_file().string() + " -a purpose=test");
    ASSERT_EQ(verified.status, 0) << verified.err;
    auto printed = lines_of(verified.out);
    ASSERT_EQ(printed.size(), 1u) << verified.out;
    EXPECT_EQ(nlohmann::json::parse(printed[0])["predicateType"], std::string(cosign_sign_type));

    auto other_key = hoist("verify " + tagged(3) + " --key " + other_public_file().string());
    EXPECT_EQ(other_key.status, 1);

    EXPECT_NE(other_key.err.find("signed by another key"), std::string::npos) << other_key.err;

    // Another signer's .sig beside the bundle does not hide the bundle.
    auto legacy_by_other = hoist("sign " + tagged(3) + " --key " + (*work / "other.key").string());
    ASSERT_EQ(legacy_by_other.status, 0) << legacy_by_other.err;
    auto beside = hoist("verify " + tagged(3) + " --key " + public_file().string());
    EXPECT_EQ(beside.status, 0) << beside.err;
    EXPECT_EQ(lines_of(beside.out).size(), 1u) << beside.out;

    auto again = hoist(sign);
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(referrers(repo_ref(3), image(3).digest).size(), 1u);
}

TEST_F(SupplyCommands, KeygenEncryptedKeySignsWithCosignPassword) {
    auto prefix = (*work / "encrypted").string();
    auto keygen = hoist("keygen --output-key-prefix " + prefix, "COSIGN_PASSWORD='s3cret pw'");
    ASSERT_EQ(keygen.status, 0) << keygen.err;

    auto signed_now =
        hoist("sign " + tagged(6) + " --key " + prefix + ".key", "COSIGN_PASSWORD='s3cret pw'");
    ASSERT_EQ(signed_now.status, 0) << signed_now.err;
    auto verified = hoist("verify " + tagged(6) + " --key " + prefix + ".pub");
    EXPECT_EQ(verified.status, 0) << verified.err;
    auto by_test_key = hoist("verify " + tagged(6) + " --key " + public_file().string());
    EXPECT_EQ(by_test_key.status, 1);

    auto wrong_password =
        hoist("sign " + tagged(6) + " --key " + prefix + ".key --identity elsewhere/app",
              "COSIGN_PASSWORD=wrong");
    EXPECT_EQ(wrong_password.status, 2);
    EXPECT_NE(wrong_password.err.find(prefix + ".key"), std::string::npos) << wrong_password.err;
    EXPECT_EQ(read_signature_image(repo_ref(6), image(6).digest).layers.size(), 1u);
}

TEST_F(SupplyCommands, BadInvocationsExitTwoAndWriteNothing) {
    auto array_predicate = *work / "array.json";
    write_file(array_predicate, "[1,2]");
    const std::string key = " --key " + key_file().string();
    for (const auto& arguments : {
             "sign " + tagged(5),
             "sign " + tagged(5) + key + " -a novalue",
             "sign " + tagged(5) + key + " -a k=1 -a k=2",
             "sign " + tagged(5) + key + " --signature-format bundle --identity x/y",
             "sign " + tagged(5) + key + " --signature-format cbor",
             "sign " + tagged(5) + " --key " + (*work / "absent.key").string(),
             "verify " + tagged(5) + " --key " + key_file().string(),
             "attest " + tagged(5) + key + " --predicate " + array_predicate.string(),
             "attest " + tagged(5) + key + " --predicate " + public_file().string() +
                 " --type 'not a uri'",
             "verify-attestation " + tagged(5) + " --key " + public_file().string() +
                 " --type nosuchtype",
             "verify 'UPPER/Case:1' --key " + public_file().string(),
         }) {
        auto run = hoist(arguments);
        EXPECT_EQ(run.status, 2) << arguments << "\n" << run.out << run.err;
    }
    auto no_sig = fetch_manifest(repo_ref(5), sig_tag(image(5).digest));
    EXPECT_TRUE(!no_sig && no_sig.error().is(net::errc::not_found));
    EXPECT_TRUE(referrers(repo_ref(5), image(5).digest).empty());
}

}  // namespace
}  // namespace hoist
