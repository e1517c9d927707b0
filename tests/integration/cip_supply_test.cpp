// SPDX-License-Identifier: Apache-2.0
/// `hoist cip`'s supply-chain phases (Provenance, Validate, Sign, Attest) against real
/// registries: staging images signed and given SLSA provenance through hoist's library,
/// promotions checked in the registries afterwards, and every signature hoist wrote
/// verified by sigstore-js and by containers/image's rules for `.sig` images.
#include "crypto/batch_signer.hpp"
#include "crypto/bundle.hpp"
#include "crypto/cosign_key.hpp"
#include "crypto/dsse.hpp"
#include "crypto/ec_key.hpp"
#include "crypto/encoding.hpp"
#include "crypto/intoto.hpp"
#include "crypto/sha256.hpp"
#include "crypto/signature_image.hpp"
#include "crypto/simple_signing.hpp"
#include "crypto/slsa.hpp"
#include "engine/supply/attestations.hpp"
#include "engine/supply/signatures.hpp"
#include "engine/supply/supply_phases.hpp"
#include "net/registry/manifest_parse.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/sigstore_js.hpp"
#include "tests/support/test_registries.hpp"
#include "tools/hoist/source_commit.hpp"
#include "tools/testkit/fault_proxy.hpp"
#include "tools/testkit/registry_launcher.hpp"
#include "tools/testkit/staging_set.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <regex>
#include <set>

namespace hoist {
namespace {

namespace fs = std::filesystem;
namespace reg = net::registry;
namespace js = testsupport::sigstore_js;
using nlohmann::json;
using testkit::registry_instance;
using testsupport::run_process;

constexpr char oci_manifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char oci_index[] = "application/vnd.oci.image.index.v1+json";
constexpr char simple_signing_layer[] = "application/vnd.dev.cosign.simplesigning.v1+json";
constexpr char cosign_signature_type[] = "cosign container image signature";
constexpr char signature_annotation[] = "dev.cosignproject.cosign/signature";
constexpr char predicate_type_annotation[] = "dev.sigstore.bundle.predicateType";
constexpr char bundle_media_type[] = "application/vnd.dev.sigstore.bundle.v0.3+json";
constexpr char dsse_layer_media_type[] = "application/vnd.dsse.envelope.v1+json";
constexpr char promotion_type[] = "https://k8s.io/promo-tools/promotion/v1";
constexpr char cosign_sign_type[] = "https://sigstore.dev/cosign/sign/v1";

constexpr char allowed_builder[] =
    "https://github.com/kubernetes/release/.github/workflows/image.yaml@refs/tags/v1.2.3";
constexpr char disallowed_builder[] = "https://ci.example.com/anything-goes";
constexpr char promoter_builder[] = "https://prow.k8s.io/hoist-supply-test";
constexpr char key_password[] = "integration password";

using testsupport::settled_log;
using testsupport::start_registry;

std::size_t writes_to(const registry_instance& registry) {
    std::size_t n = 0;
    for (const auto& line : settled_log(registry)) {
        for (const char* method : {"\"PUT ", "\"POST ", "\"PATCH ", "\"DELETE "}) {
            if (line.find(method) != std::string::npos) {
                ++n;
            }
        }
    }
    return n;
}

/// PUTs in `registry`'s access log so far (not waiting for it to settle) whose line
/// matches `what`.
std::size_t puts_of(const registry_instance& registry, const std::regex& what) {
    auto log = registry.access_log();
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto& line) {
        return line.find("\"PUT ") != std::string::npos && std::regex_search(line, what);
    }));
}

/// 429s, 503s and resets (on the request's head, after the work, halfway through the
/// answer) at 7% each, drawn from `seed` plus $HOIST_FAULT_SEED when set (a way to explore
/// other sequences without editing the tests). No stalls: each would cost a request timeout.
testkit::fault_options random_faults(std::uint64_t seed) {
    testkit::fault_options options;
    options.seed = seed;
    if (const char* offset = std::getenv("HOIST_FAULT_SEED")) {
        options.seed += std::strtoull(offset, nullptr, 10);
    }
    options.rate_limit = 0.07;
    options.unavailable = 0.07;
    options.reset_before = 0.07;
    options.reset_after = 0.07;
    options.reset_body = 0.07;
    return options;
}

/// The manifest reads (GET or HEAD) in `registry`'s log after its first `from` lines that
/// are of a `.sig` tag or by digest: what Sign and Attest need not ask after a first
/// promotion (the destination was listed empty, Promote read every manifest).
std::vector<std::string> avoidable_reads(const registry_instance& registry, std::size_t from) {
    std::vector<std::string> out;
    auto log = settled_log(registry);
    for (std::size_t i = from; i < log.size(); ++i) {
        const auto& line = log[i];
        bool read = line.find("\"GET /v2/") != std::string::npos ||
                    line.find("\"HEAD /v2/") != std::string::npos;
        bool avoidable = line.find(".sig HTTP") != std::string::npos ||
                         line.find("/manifests/sha256:") != std::string::npos;
        if (read && avoidable) {
            out.push_back(line);
        }
    }
    return out;
}

std::string hex_of(std::string_view digest) {
    return std::string(digest.substr(digest.find(':') + 1));
}

std::string referrers_tag(std::string_view digest) {
    return "sha256-" + hex_of(digest);
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

std::vector<std::string> sorted_keys(const json& object) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : object.items()) {
        keys.push_back(key);
    }
    return keys;  // nlohmann::json keeps objects sorted by key
}

/// One image of a promotion: its staging repository name, digest and destination tags.
struct promoted_image {
    std::string repository;
    std::string digest;
    std::vector<std::string> tags;
};

/// A thin manifest tree for one project, tags as given (several per digest allowed).
/// Each staging image, promoted under its own tag.
std::vector<promoted_image> under_their_tags(const std::vector<testkit::staging_image>& staging) {
    std::vector<promoted_image> images;
    for (const auto& image : staging) {
        images.push_back({image.repository, image.digest, {image.tag}});
    }
    return images;
}

void write_promotion(const fs::path& dir, const std::string& source_path,
                     const std::vector<std::string>& destinations,
                     const std::vector<promoted_image>& images) {
    fs::create_directories(dir / "manifests" / "supply");
    fs::create_directories(dir / "images" / "supply");
    std::string manifest = "registries:\n- name: " + source_path + "\n  src: true\n";
    for (const auto& destination : destinations) {
        manifest += "- name: " + destination + "\n";
    }
    write_file(dir / "manifests" / "supply" / "promoter-manifest.yaml", manifest);
    // One entry per repository, in order of first appearance, its digests in its dmap.
    std::vector<std::pair<std::string, std::string>> entries;  // name, dmap lines
    for (const auto& image : images) {
        auto entry = std::find_if(entries.begin(), entries.end(),
                                  [&](const auto& e) { return e.first == image.repository; });
        if (entry == entries.end()) {
            entry = entries.insert(entries.end(), {image.repository, ""});
        }
        entry->second += "    \"" + image.digest + "\": [";
        for (std::size_t i = 0; i < image.tags.size(); ++i) {
            entry->second += (i == 0 ? "\"" : ", \"") + image.tags[i] + "\"";
        }
        entry->second += "]\n";
    }
    std::string list;
    for (const auto& [name, dmap] : entries) {
        list += "- name: " + name + "\n  dmap:\n" + dmap;
    }
    write_file(dir / "images" / "supply" / "images.yaml", list);
}

constexpr std::string_view allowed_source = "https://github.com/kubernetes/release";

/// A SLSA provenance v1 predicate as GitHub Actions' generator writes it, of a build from
/// the repository `source`.
json slsa_v1_predicate(std::string_view builder, std::string_view source = allowed_source) {
    return {
        {"buildDefinition",
         {{"buildType", "https://actions.github.io/buildtypes/workflow/v1"},
          {"externalParameters",
           {{"workflow",
             {{"ref", "refs/tags/v1.2.3"},
              {"repository", std::string(source)},
              {"path", ".github/workflows/image.yaml"}}}}},
          {"resolvedDependencies",
           json::array({{{"uri", "git+" + std::string(source) + "@refs/tags/v1.2.3"},
                         {"digest", {{"gitCommit", std::string(40, 'a')}}}}})}}},
        {"runDetails",
         {{"builder", {{"id", std::string(builder)}}}, {"metadata", {{"invocationId", "run-1"}}}}}};
}

/// A DSSE-signed SLSA v1 statement about `subject_digest`.
crypto::dsse_envelope signed_provenance(const std::string& name, const std::string& subject_digest,
                                        std::string_view builder, const crypto::ec_private_key& key,
                                        std::string_view source = allowed_source) {
    auto statement =
        crypto::statement_json({{name, {{"sha256", hex_of(subject_digest)}}}},
                               crypto::slsa_provenance_v1, slsa_v1_predicate(builder, source));
    // value() throws on an error, which fails the test that asked.
    auto envelope = crypto::sign_dsse(crypto::intoto_payload_type, statement.value(), key);
    return envelope.value();
}

/// A verification by sigstore-js, run later in parallel with the others.
struct pending_check {
    std::string what;
    std::function<js::verdict()> run;
};

/// Each node process takes about 0.4 s: run a few at once.
void run_checks(std::vector<pending_check>& checks) {
    constexpr std::size_t at_once = 4;
    for (std::size_t first = 0; first < checks.size(); first += at_once) {
        std::vector<std::future<js::verdict>> running;
        std::size_t last = std::min(checks.size(), first + at_once);
        for (std::size_t i = first; i < last; ++i) {
            running.push_back(std::async(std::launch::async, checks[i].run));
        }
        for (std::size_t i = first; i < last; ++i) {
            auto verdict = running[i - first].get();
            EXPECT_TRUE(verdict.ok) << checks[i].what << ": " << verdict;
        }
    }
    checks.clear();
}

class CipSupply : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        source = new registry_instance(start_registry());
        first = new registry_instance(start_registry());
        second = new registry_instance(start_registry());
        std::string pattern = (fs::temp_directory_path() / "hoist-supply-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        work = new fs::path(pattern);

        auto generate = [] {
            return new crypto::ec_private_key(crypto::ec_private_key::generate().value());
        };
        hoist_key = generate();
        trusted_key = generate();
        untrusted_key = generate();
        write_file(*work / "hoist.key", hoist_key->to_pkcs8_pem());
        write_file(*work / "hoist.pub", hoist_key->public_key_pem());
        write_file(*work / "hoist-encrypted.key",
                   crypto::encrypt_cosign_key(*hoist_key, key_password));
        write_file(*work / "trusted.pub", trusted_key->public_key_pem());
        // A key that signed nothing, given beside the trusted one.
        write_file(*work / "spare.pub",
                   crypto::ec_private_key::generate().value().public_key_pem());
    }
    static void TearDownTestSuite() {
        fs::remove_all(*work);
        delete work;
        delete hoist_key;
        delete trusted_key;
        delete untrusted_key;
        delete source;
        delete first;
        delete second;
    }

    void SetUp() override { ASSERT_TRUE(js::installed()); }

    struct run_result {
        int status = -1;
        std::string out;
    };

    static run_result hoist(const std::string& arguments, const std::string& environment = {}) {
        std::string trust = " --ca-file " + source->ca_file().string() + " --ca-file " +
                            first->ca_file().string() + " --ca-file " + second->ca_file().string() +
                            " ";
        run_result r;
        r.out = run_process(
            environment + " " + std::string(HOIST_BINARY) + trust + arguments + " 2>&1", &r.status);
        return r;
    }

    static json read_report(const fs::path& path) {
        std::ifstream in(path);
        return json::parse(in, nullptr, false);
    }

    template <class T>
    static T with_client(std::function<asio::awaitable<T>(reg::registry_client&)> body) {
        testsupport::client_setup setup;
        setup.ca_files = {source->ca_file().string(), first->ca_file().string(),
                          second->ca_file().string()};
        return testsupport::run_client<T>(setup, std::move(body));
    }

    static net::deadline soon() { return net::deadline::from_now(std::chrono::seconds(60)); }

    /// A staging set of `repositories` repositories of `tags` images each (one tag each)
    /// under `<source>/<path>`; every `index_every`-th repository (0, n, 2n…) holds
    /// two-platform indexes, none for 0.
    static std::vector<testkit::staging_image> push_staging(const std::string& path,
                                                            std::size_t repositories,
                                                            std::size_t index_every,
                                                            std::uint64_t seed,
                                                            std::size_t tags = 1) {
        testkit::staging_set_spec spec;
        spec.repositories = repositories;
        spec.tags = tags;
        spec.index_every = index_every;
        spec.layers = 1;
        spec.layer_size = 1024;
        spec.seed = seed;
        std::string where = source->host_port() + "/" + path;
        auto pushed = with_client<std::optional<std::vector<testkit::staging_image>>>(
            [&where, spec](reg::registry_client& client)
                -> asio::awaitable<std::optional<std::vector<testkit::staging_image>>> {
                auto images = co_await testkit::push_staging_set(client, where, spec, 4, soon());
                if (!images) {
                    ADD_FAILURE() << "push " << where << ": " << images.error().message();
                    co_return std::nullopt;
                }
                co_return std::move(*images);
            });
        EXPECT_TRUE(pushed.has_value());
        return pushed.value_or(std::vector<testkit::staging_image>{});
    }

    /// Signs staging images with `key` through hoist's own Sign code path.
    static void sign_staging(const std::vector<std::pair<std::string, std::string>>& targets,
                             const crypto::ec_private_key& key) {
        bool ok = with_client<bool>([&](reg::registry_client& client) -> asio::awaitable<bool> {
            crypto::batch_signer signer(key);
            for (const auto& [repository, digest] : targets) {
                auto repo = reg::parse_repository_ref(repository);
                if (!repo) {
                    ADD_FAILURE() << repo.error().message();
                    co_return false;
                }
                engine::signing_request request{*repo, digest, repository, {}, {}, {}, true};
                auto signed_now = co_await engine::add_signature(client, signer, request, soon());
                if (!signed_now || !signed_now->signed_now) {
                    ADD_FAILURE() << "signing " << repository << "@" << digest << ": "
                                  << (signed_now ? "nothing written"
                                                 : signed_now.error().message());
                    co_return false;
                }
            }
            co_return true;
        });
        ASSERT_TRUE(ok);
    }

    /// Attaches `envelope` to `repository@digest` as a bundle referrer, as cosign v3 does.
    static void attach_provenance(const std::string& repository, const std::string& digest,
                                  const crypto::dsse_envelope& envelope,
                                  const crypto::ec_public_key& key) {
        auto bundle = crypto::dsse_bundle_json(envelope, key);
        ASSERT_TRUE(bundle.has_value());
        attach_provenance_bundle(repository, digest, *bundle);
    }

    /// Attaches the text `bundle`, well-formed or not, as a provenance bundle referrer.
    static void attach_provenance_bundle(const std::string& repository, const std::string& digest,
                                         const std::string& bundle) {
        bool ok = with_client<bool>([&](reg::registry_client& client) -> asio::awaitable<bool> {
            auto repo = reg::parse_repository_ref(repository);
            auto head = co_await client.head_manifest(*repo, digest, soon());
            if (!head || !*head) {
                ADD_FAILURE() << repository << "@" << digest << " is not there";
                co_return false;
            }
            engine::attestation_subject subject{digest, (*head)->media_type, (*head)->size};
            auto attached = co_await engine::attach_bundle(
                client, *repo, subject, bundle, std::string(crypto::slsa_provenance_v1), true,
                engine::utc_timestamp_now(), soon());
            if (!attached) {
                ADD_FAILURE() << "attach to " << repository << ": " << attached.error().message();
                co_return false;
            }
            co_return true;
        });
        ASSERT_TRUE(ok);
    }

    /// The legacy layout, built by hand as cosign v2's `attest` writes it: the image
    /// `sha256-<hex>.att` with one DSSE layer annotated with its predicate type.
    static void push_legacy_attestation(const std::string& repository, const std::string& digest,
                                        const crypto::dsse_envelope& envelope) {
        push_legacy_attestation_layer(repository, digest, crypto::to_json(envelope));
    }

    /// The same with the text `layer`, well-formed or not, as the DSSE layer.
    static void push_legacy_attestation_layer(const std::string& repository,
                                              const std::string& digest, const std::string& layer) {
        std::string layer_digest = crypto::digest_of(layer);
        std::string config =
            json{{"architecture", ""},
                 {"os", ""},
                 {"config", json::object()},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", json::array({layer_digest})}}}}
                .dump();
        json manifest = {
            {"schemaVersion", 2},
            {"mediaType", oci_manifest},
            {"config",
             {{"mediaType", "application/vnd.oci.image.config.v1+json"},
              {"size", config.size()},
              {"digest", crypto::digest_of(config)}}},
            {"layers",
             json::array({{{"mediaType", dsse_layer_media_type},
                           {"size", layer.size()},
                           {"digest", layer_digest},
                           {"annotations",
                            {{"predicateType", std::string(crypto::slsa_provenance_v1)}}}}})}};
        bool ok = with_client<bool>([&](reg::registry_client& client) -> asio::awaitable<bool> {
            auto repo = reg::parse_repository_ref(repository);
            for (const std::string* blob : {&layer, static_cast<const std::string*>(&config)}) {
                reg::memory_blob_source bytes(*blob);
                auto pushed = co_await client.push_blob(*repo, crypto::digest_of(*blob),
                                                        static_cast<std::int64_t>(blob->size()),
                                                        bytes, soon());
                if (!pushed) {
                    ADD_FAILURE() << pushed.error().message();
                    co_return false;
                }
            }
            auto put =
                co_await client.put_manifest(*repo, referrers_tag(digest) + ".att", manifest.dump(),
                                             std::string(oci_manifest), soon());
            if (!put) {
                ADD_FAILURE() << put.error().message();
                co_return false;
            }
            co_return true;
        });
        ASSERT_TRUE(ok);
    }

    /// A manifest as the registry serves it; nullopt when it is not there.
    static std::optional<reg::fetched_manifest> manifest_at(const std::string& repository,
                                                            const std::string& reference) {
        return with_client<std::optional<reg::fetched_manifest>>(
            [&](reg::registry_client& client)
                -> asio::awaitable<std::optional<reg::fetched_manifest>> {
                auto repo = reg::parse_repository_ref(repository);
                auto fetched = co_await client.get_manifest(*repo, reference, soon());
                if (!fetched) {
                    if (!fetched.error().is(net::errc::not_found)) {
                        ADD_FAILURE()
                            << repository << ":" << reference << ": " << fetched.error().message();
                    }
                    co_return std::nullopt;
                }
                co_return std::move(*fetched);
            });
    }

    static std::string blob_at(const std::string& repository, const std::string& digest) {
        return with_client<std::string>(
            [&](reg::registry_client& client) -> asio::awaitable<std::string> {
                auto repo = reg::parse_repository_ref(repository);
                auto bytes = co_await engine::read_small_blob(client, *repo, digest, -1, soon());
                if (!bytes) {
                    ADD_FAILURE() << repository << "@" << digest << ": " << bytes.error().message();
                    co_return std::string();
                }
                co_return std::move(*bytes);
            });
    }

    /// The digest itself and, for an index, each of its children.
    static std::vector<std::string> signed_digests(const std::string& repository,
                                                   const std::string& digest) {
        std::vector<std::string> digests{digest};
        auto top = manifest_at(repository, digest);
        EXPECT_TRUE(top.has_value()) << repository << "@" << digest;
        if (top) {
            auto parsed = json::parse(top->body);
            if (parsed.contains("manifests")) {
                for (const auto& child : parsed["manifests"]) {
                    digests.push_back(child["digest"].get<std::string>());
                }
            }
        }
        return digests;
    }

    struct signature_layer_read {
        json descriptor;
        std::string payload;
        json claims;
    };

    /// The layers of `repository@digest`'s `.sig` image, with containers/image's rules for
    /// the manifest and each payload checked (skopeo-sigstore.md §5.3), the signer's
    /// identity excepted: the caller checks that.
    static std::vector<signature_layer_read> read_signature_image(const std::string& repository,
                                                                  const std::string& digest) {
        std::vector<signature_layer_read> layers;
        std::string tag = referrers_tag(digest) + ".sig";
        auto fetched = manifest_at(repository, tag);
        if (!fetched) {
            ADD_FAILURE() << "no signature image " << repository << ":" << tag;
            return layers;
        }
        EXPECT_EQ(fetched->media_type, oci_manifest) << repository << ":" << tag;
        auto manifest = json::parse(fetched->body);
        EXPECT_EQ(manifest.value("mediaType", ""), oci_manifest) << fetched->body;
        for (const auto& layer : manifest["layers"]) {
            signature_layer_read read{layer, {}, {}};
            EXPECT_EQ(layer["mediaType"], simple_signing_layer) << fetched->body;
            read.payload = blob_at(repository, layer["digest"].get<std::string>());
            read.claims = json::parse(read.payload, nullptr, false);
            auto& c = read.claims;
            EXPECT_TRUE(c.is_object()) << read.payload;
            if (c.is_object()) {
                EXPECT_EQ(sorted_keys(c), (std::vector<std::string>{"critical", "optional"}))
                    << read.payload;
                EXPECT_TRUE(c["optional"].is_null() || c["optional"].is_object()) << read.payload;
                auto& critical = c["critical"];
                EXPECT_EQ(sorted_keys(critical),
                          (std::vector<std::string>{"identity", "image", "type"}))
                    << read.payload;
                EXPECT_EQ(sorted_keys(critical["identity"]),
                          std::vector<std::string>{"docker-reference"})
                    << read.payload;
                EXPECT_EQ(sorted_keys(critical["image"]),
                          std::vector<std::string>{"docker-manifest-digest"})
                    << read.payload;
                EXPECT_EQ(critical["type"], cosign_signature_type) << read.payload;
                EXPECT_EQ(critical["image"]["docker-manifest-digest"], digest) << read.payload;
            }
            layers.push_back(std::move(read));
        }
        return layers;
    }

    /// Queues sigstore-js's check of one `.sig` layer: its signature over the exact
    /// payload bytes, with `key`.
    static void check_layer_signature(std::vector<pending_check>& checks,
                                      const signature_layer_read& layer, const fs::path& key,
                                      const std::string& what) {
        static std::size_t serial = 0;
        auto payload = *work / ("payload-" + std::to_string(++serial) + ".json");
        write_file(payload, layer.payload);
        std::string signature = layer.descriptor.value("annotations", json::object())
                                    .value(std::string(signature_annotation), "");
        EXPECT_FALSE(signature.empty()) << layer.descriptor.dump();
        checks.push_back({what, [payload, signature, key] {
                              return js::verify_message(payload, signature, key);
                          }});
    }

    /// The referrers of `repository@digest` listed in its `sha256-<hex>` referrers tag
    /// (docker-registry 2.8 has no referrers API).
    static json referrers_index(const std::string& repository, const std::string& digest) {
        auto fetched = manifest_at(repository, referrers_tag(digest));
        if (!fetched) {
            ADD_FAILURE() << "no referrers tag for " << repository << "@" << digest;
            return json::object();
        }
        auto index = json::parse(fetched->body);
        EXPECT_EQ(index.value("mediaType", ""), oci_index) << fetched->body;
        return index;
    }

    /// Deletes a manifest by digest, as `garbage-collect --delete-untagged` would an
    /// untagged referrer: its referrers tag still lists it.
    static void delete_manifest(const registry_instance& registry, const std::string& path,
                                const std::string& digest) {
        int status = -1;
        auto out = run_process("curl -sS -f --cacert " + registry.ca_file().string() +
                                   " -X DELETE https://" + registry.host_port() + "/v2/" + path +
                                   "/manifests/" + digest + " 2>&1",
                               &status);
        ASSERT_EQ(status, 0) << out;
    }

    static std::vector<json> referrers_of_type(const json& index, std::string_view type) {
        std::vector<json> found;
        for (const auto& entry : index.value("manifests", json::array())) {
            if (entry.contains("annotations") &&
                entry["annotations"].value(std::string(predicate_type_annotation), "") == type) {
                found.push_back(entry);
            }
        }
        return found;
    }

    /// Exactly one promotion attestation of `repository@digest` in its referrers index,
    /// its statement queued for sigstore-js's check with `key`.
    static void check_one_attestation(std::vector<pending_check>& checks,
                                      const std::string& repository, const std::string& digest,
                                      const fs::path& key) {
        auto index = referrers_index(repository, digest);
        auto attestations = referrers_of_type(index, promotion_type);
        ASSERT_EQ(attestations.size(), 1u) << index.dump();
        auto bundle = read_bundle_referrer(repository, digest, attestations[0]);
        ASSERT_FALSE(bundle.envelope_file.empty());
        std::string hex = hex_of(digest);
        checks.push_back({"statement of " + repository, [bundle, key, hex] {
                              return js::verify_statement(bundle.envelope_file, key, hex,
                                                          promotion_type);
                          }});
    }

    struct bundle_read {
        fs::path bundle_file;
        fs::path envelope_file;
        json statement;
    };

    /// A bundle referrer of `digest`: its manifest checked (subject, one bundle layer),
    /// the bundle and its DSSE envelope saved for sigstore-js, the statement decoded.
    static bundle_read read_bundle_referrer(const std::string& repository,
                                            const std::string& digest, const json& entry) {
        static std::size_t serial = 0;
        bundle_read out;
        auto referrer = manifest_at(repository, entry["digest"].get<std::string>());
        if (!referrer) {
            ADD_FAILURE() << "referrer " << entry.dump() << " is not in " << repository;
            return out;
        }
        auto manifest = json::parse(referrer->body);
        // The shape cosign writes (sigstore.md §3.3).
        EXPECT_EQ(manifest["schemaVersion"], 2) << referrer->body;
        EXPECT_EQ(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        EXPECT_EQ(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
        EXPECT_EQ(manifest["config"]["size"], 2);
        EXPECT_EQ(manifest["config"]["digest"],
                  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        EXPECT_EQ(blob_at(repository, manifest["config"]["digest"].get<std::string>()), "{}");
        EXPECT_EQ(manifest["subject"]["digest"], digest) << referrer->body;
        if (auto subject = manifest_at(repository, digest)) {
            EXPECT_EQ(manifest["subject"]["mediaType"], subject->media_type) << referrer->body;
            EXPECT_EQ(manifest["subject"]["size"], subject->body.size()) << referrer->body;
        } else {
            ADD_FAILURE() << "the subject " << digest << " is not in " << repository;
        }
        const auto& annotations = manifest["annotations"];
        EXPECT_EQ(annotations.value("dev.sigstore.bundle.content", ""), "dsse-envelope")
            << referrer->body;
        EXPECT_TRUE(std::regex_match(annotations.value("org.opencontainers.image.created", ""),
                                     std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
            << referrer->body;
        EXPECT_EQ(manifest.value("artifactType", ""), bundle_media_type) << referrer->body;
        if (manifest["layers"].size() != 1) {
            ADD_FAILURE() << "a bundle referrer holds one layer: " << referrer->body;
            return out;
        }
        EXPECT_EQ(manifest["layers"][0]["mediaType"], bundle_media_type) << referrer->body;
        std::string bundle =
            blob_at(repository, manifest["layers"][0]["digest"].get<std::string>());
        std::string name = "bundle-" + std::to_string(++serial);
        out.bundle_file = *work / (name + ".json");
        write_file(out.bundle_file, bundle);
        auto parsed = json::parse(bundle, nullptr, false);
        if (!parsed.is_object() || !parsed.contains("dsseEnvelope")) {
            ADD_FAILURE() << "not a DSSE bundle: " << bundle;
            return out;
        }
        out.envelope_file = *work / (name + "-envelope.json");
        write_file(out.envelope_file, parsed["dsseEnvelope"].dump());
        auto payload = crypto::base64_decode(parsed["dsseEnvelope"]["payload"].get<std::string>());
        EXPECT_TRUE(payload.has_value()) << bundle;
        out.statement = json::parse(payload.value_or(""), nullptr, false);
        if (out.statement.is_object()) {
            EXPECT_EQ(manifest["annotations"].value("dev.sigstore.bundle.predicateType", ""),
                      out.statement.value("predicateType", "?"))
                << referrer->body;
        }
        return out;
    }

    static inline registry_instance* source = nullptr;
    static inline registry_instance* first = nullptr;
    static inline registry_instance* second = nullptr;
    static inline fs::path* work = nullptr;
    /// A promotion killed in the middle of `phase`, then run again (see the tests).
    void killed_during(const std::string& phase, const std::regex& written, std::size_t kill_after,
                       std::size_t all);

    static inline crypto::ec_private_key* hoist_key = nullptr;
    static inline crypto::ec_private_key* trusted_key = nullptr;
    static inline crypto::ec_private_key* untrusted_key = nullptr;
};

TEST_F(CipSupply, SignsAndAttestsEveryPromotedDigestThenRerunsAsANoOp) {
    auto staging = push_staging("staging-sign", 2, 2, 11);  // img-000 is an index
    ASSERT_EQ(staging.size(), 2u);
    std::string source_path = source->host_port() + "/staging-sign";
    // Tags out of order: the predicate lists them sorted.
    std::vector<promoted_image> images{
        {staging[0].repository, staging[0].digest, {"v1.0.0", "stable", "alpha"}},
        {staging[1].repository, staging[1].digest, {"v1.0.0"}}};
    std::vector<std::string> destinations{first->host_port() + "/signed",
                                          second->host_port() + "/signed"};
    fs::path promo = *work / "sign";
    write_promotion(promo, source_path, destinations, images);
    // The manifests are a git checkout, as in kubernetes/k8s.io, and the run a Prow job:
    // the predicate names the commit and the job.
    int git_status = 0;
    run_process("cd " + promo.string() +
                    " && git init -q && git remote add origin git@github.com:example/promo.git"
                    " && git add -A && git -c user.name=t -c user.email=t@example.invalid"
                    " commit -q -m images 2>&1",
                &git_status);
    ASSERT_EQ(git_status, 0);
    std::string manifest_commit = run_process("git -C " + promo.string() + " rev-parse HEAD");
    manifest_commit.erase(manifest_commit.find_last_not_of('\n') + 1);
    const json expected_manifest = {{"name", "images/supply/images.yaml"},
                                    {"uri", "git+https://github.com/example/promo"},
                                    {"digest", {{"gitCommit", manifest_commit}}}};
    json expected_promoter = {{"version", HOIST_VERSION}};
    if (!std::string_view(HOIST_SOURCE_COMMIT).empty()) {  // built from a git checkout
        expected_promoter["gitCommit"] = HOIST_SOURCE_COMMIT;
    }
    const json expected_job = {{"name", "post-promo"}, {"type", "postsubmit"}, {"buildId", "42"}};

    std::string arguments = "cip --confirm --signing-key " + (*work / "hoist.key").string() +
                            " --builder-id " + std::string(promoter_builder) +
                            " --thin-manifest-dir " + promo.string() + " --report ";
    auto first_log = settled_log(*first).size();
    auto second_log = settled_log(*second).size();
    auto run = hoist(arguments + (*work / "sign.json").string() + " --progress-interval 0.01",
                     "JOB_NAME=post-promo JOB_TYPE=postsubmit BUILD_ID=42 PROW_JOB_ID= JOB_SPEC=");
    ASSERT_EQ(run.status, 0) << run.out;
    // Progress lines, many a second here: Promote's edges, and the digests of Sign or
    // Attest (at least one of the two lasts longer than the interval), each with a bar.
    EXPECT_NE(run.out.find("[promote] ["), std::string::npos) << run.out;
    EXPECT_TRUE(std::regex_search(
        run.out, std::regex(R"(\[(sign|attest)\] \[[#.]{24}\] \d+/4 digests (signed|attested), )")))
        << run.out;
    EXPECT_EQ(avoidable_reads(*first, first_log), std::vector<std::string>());
    EXPECT_EQ(avoidable_reads(*second, second_log), std::vector<std::string>());
    auto report = read_report(*work / "sign.json");
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["status"], "done");
    EXPECT_EQ(report["plan"]["summary"]["promote"], 4);
    // Per destination: the index, its two children and the single image.
    EXPECT_EQ(report["supply"]["signatures"]["written"], 8) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["failed"], 0);
    EXPECT_EQ(report["supply"]["attestations"]["written"], 4) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["failed"], 0);
    EXPECT_TRUE(report["supply"]["errors"].empty()) << report["supply"].dump();

    fs::path hoist_pub = *work / "hoist.pub";
    std::vector<pending_check> checks;
    std::size_t signatures_seen = 0;
    for (const auto& destination : destinations) {
        for (const auto& image : images) {
            std::string repository = destination + "/" + image.repository;
            for (const auto& digest : signed_digests(repository, image.digest)) {
                auto layers = read_signature_image(repository, digest);
                ASSERT_EQ(layers.size(), 1u) << repository << "@" << digest;
                auto& claims = layers[0].claims;
                EXPECT_EQ(claims["critical"]["identity"]["docker-reference"], repository);
                EXPECT_TRUE(claims["optional"].contains(std::string(engine::promoter_annotation)))
                    << layers[0].payload;
                check_layer_signature(checks, layers[0], hoist_pub, repository + "@" + digest);
                ++signatures_seen;
            }

            // Exactly one promotion attestation, verifying, about this digest.
            auto index = referrers_index(repository, image.digest);
            auto attestations = referrers_of_type(index, promotion_type);
            ASSERT_EQ(attestations.size(), 1u) << index.dump();
            EXPECT_EQ(index["manifests"].size(), 1u) << index.dump();
            auto bundle = read_bundle_referrer(repository, image.digest, attestations[0]);
            ASSERT_FALSE(bundle.envelope_file.empty());
            std::string hex = hex_of(image.digest);
            checks.push_back({"bundle of " + repository, [bundle, hoist_pub] {
                                  return js::verify_bundle(bundle.bundle_file, hoist_pub);
                              }});
            checks.push_back({"statement of " + repository, [bundle, hoist_pub, hex] {
                                  return js::verify_statement(bundle.envelope_file, hoist_pub, hex,
                                                              promotion_type);
                              }});
            auto& statement = bundle.statement;
            ASSERT_TRUE(statement.is_object());
            EXPECT_EQ(statement["predicateType"], promotion_type);
            EXPECT_EQ(statement["subject"][0]["digest"]["sha256"], hex);
            auto& predicate = statement["predicate"];
            EXPECT_EQ(predicate["srcRef"],
                      source_path + "/" + image.repository + "@" + image.digest)
                << predicate.dump();
            EXPECT_EQ(predicate["dstRef"], repository);
            EXPECT_EQ(predicate["digest"], image.digest);
            EXPECT_EQ(predicate["builderId"], promoter_builder);
            EXPECT_TRUE(std::regex_match(predicate.value("timestamp", ""),
                                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
                << predicate.dump();
            auto tags = image.tags;
            std::sort(tags.begin(), tags.end());
            EXPECT_EQ(predicate["tags"], json(tags));
            EXPECT_EQ(predicate["manifest"], expected_manifest) << predicate.dump();
            EXPECT_EQ(predicate["promoter"], expected_promoter) << predicate.dump();
            EXPECT_EQ(predicate["job"], expected_job) << predicate.dump();
        }
    }
    EXPECT_EQ(signatures_seen, 8u);
    run_checks(checks);

    // A second run finds every image, signature and attestation in place: no writes.
    auto writes = writes_to(*first) + writes_to(*second);
    auto first_before_rerun = settled_log(*first).size();
    auto rerun = hoist(arguments + (*work / "sign-rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    EXPECT_EQ(writes_to(*first) + writes_to(*second), writes);
    // Plan's HEADs told the single image from the index: Sign reads only the index, to
    // find the children it checks.
    auto manifest_gets = [&](const std::string& digest) {
        auto log = settled_log(*first);
        return std::count_if(log.begin() + static_cast<std::ptrdiff_t>(first_before_rerun),
                             log.end(), [&](const std::string& line) {
                                 return line.find("\"GET /v2/") != std::string::npos &&
                                        line.find("/manifests/" + digest) != std::string::npos;
                             });
    };
    EXPECT_EQ(manifest_gets(images[0].digest), 1);
    EXPECT_EQ(manifest_gets(images[1].digest), 0);
    auto again = read_report(*work / "sign-rerun.json");
    EXPECT_EQ(again["plan"]["summary"]["present"], 4);
    EXPECT_EQ(again["plan"]["summary"]["promote"], 0);
    EXPECT_EQ(again["supply"]["signatures"]["written"], 0);
    EXPECT_EQ(again["supply"]["signatures"]["present"], 8) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["attestations"]["written"], 0);
    EXPECT_EQ(again["supply"]["attestations"]["present"], 4) << again["supply"].dump();
}

// Promote, Sign and Attest through a destination that answers 429 and 503 and resets
// connections (before the work, after it, halfway through an answer) at random: the run
// completes, every digest has exactly one signature and one attestation, each verifies
// (sigstore-js), and a rerun through the same faults writes nothing.
// $HOIST_FAULT_SEED, when set, is added to the seed.
TEST_F(CipSupply, SignsAndAttestsCompletelyThroughAFaultyDestination) {
    auto staging = push_staging("staging-faulty", 3, 2, 43);  // img-000, img-002: indexes
    ASSERT_EQ(staging.size(), 3u);
    auto started = testkit::fault_proxy::start(first->host_port(), first->ca_file().string(),
                                               random_faults(5));
    ASSERT_TRUE(started.has_value()) << started.error().message();
    auto& proxy = **started;
    const std::string proxied = proxy.host_port() + "/faulty";
    const std::string direct = first->host_port() + "/faulty";
    write_promotion(*work / "faulty", source->host_port() + "/staging-faulty", {proxied},
                    under_their_tags(staging));
    std::string arguments = "--insecure-registry " + proxy.host_port() +
                            " cip --confirm --signing-key " + (*work / "hoist.key").string() +
                            " --thin-manifest-dir " + (*work / "faulty").string() + " --report ";
    auto run = hoist(arguments + (*work / "faulty.json").string());
    ASSERT_EQ(run.status, 0) << run.out << proxy.counts().to_string();
    std::size_t write_faults = 0;
    for (const auto& line : proxy.fault_log()) {
        write_faults +=
            line.find(" PUT ") != std::string::npos || line.find(" POST ") != std::string::npos;
    }
    EXPECT_GT(write_faults, 0u) << proxy.counts().to_string();
    auto report = read_report(*work / "faulty.json");
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["status"], "done");
    // Two indexes of two children each, and the single image.
    EXPECT_EQ(report["supply"]["signatures"]["written"], 7) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["failed"], 0);
    EXPECT_EQ(report["supply"]["attestations"]["written"], 3) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["failed"], 0);

    // Read from the registry itself; the identity signed is the name promoted to.
    fs::path hoist_pub = *work / "hoist.pub";
    std::vector<pending_check> checks;
    for (const auto& image : staging) {
        std::string repository = direct + "/" + image.repository;
        for (const auto& digest : signed_digests(repository, image.digest)) {
            auto layers = read_signature_image(repository, digest);
            ASSERT_EQ(layers.size(), 1u) << repository << "@" << digest;
            EXPECT_EQ(layers[0].claims["critical"]["identity"]["docker-reference"],
                      proxied + "/" + image.repository);
            check_layer_signature(checks, layers[0], hoist_pub, repository + "@" + digest);
        }
        check_one_attestation(checks, repository, image.digest, hoist_pub);
    }
    run_checks(checks);

    auto writes = writes_to(*first);
    auto rerun = hoist(arguments + (*work / "faulty-rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out << proxy.counts().to_string();
    EXPECT_EQ(writes_to(*first), writes);
    auto again = read_report(*work / "faulty-rerun.json");
    EXPECT_EQ(again["supply"]["signatures"]["written"], 0) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["signatures"]["present"], 7) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["attestations"]["written"], 0) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["attestations"]["present"], 3) << again["supply"].dump();
}

// The same faults in front of staging, with Validate requiring a trusted signature: every
// staging signature is still read and verified (none is called missing or bad because an
// answer was cut), carried over beside hoist's own, and the rerun writes nothing.
TEST_F(CipSupply, ValidatesAndCarriesSignaturesFromAFaultySource) {
    auto staging = push_staging("staging-faulty-source", 3, 2, 44);  // img-000, img-002: indexes
    ASSERT_EQ(staging.size(), 3u);
    for (const auto& image : staging) {
        sign_staging(
            {{source->host_port() + "/staging-faulty-source/" + image.repository, image.digest}},
            *trusted_key);
    }
    auto started = testkit::fault_proxy::start(source->host_port(), source->ca_file().string(),
                                               random_faults(6));
    ASSERT_TRUE(started.has_value()) << started.error().message();
    auto& proxy = **started;
    const std::string destination = second->host_port() + "/from-faulty-source";
    write_promotion(*work / "faulty-source", proxy.host_port() + "/staging-faulty-source",
                    {destination}, under_their_tags(staging));
    std::string arguments = "--insecure-registry " + proxy.host_port() +
                            " cip --confirm --provenance=off --validate=required --verify-key " +
                            (*work / "trusted.pub").string() + " --signing-key " +
                            (*work / "hoist.key").string() + " --thin-manifest-dir " +
                            (*work / "faulty-source").string() + " --report ";
    auto run = hoist(arguments + (*work / "faulty-source.json").string());
    ASSERT_EQ(run.status, 0) << run.out << proxy.counts().to_string();
    EXPECT_GT(proxy.counts().faults(), 0u);
    auto report = read_report(*work / "faulty-source.json");
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["status"], "done");
    EXPECT_EQ(report["plan"]["summary"]["promote"], 3);
    for (const auto& verdict : report["supply"]["verdicts"]) {
        EXPECT_EQ(verdict["result"], "passed") << verdict.dump();
    }
    EXPECT_EQ(report["supply"]["signatures"]["written"], 7) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["failed"], 0);

    // Each top digest: the staging signature carried over, then hoist's; a child: hoist's.
    std::vector<pending_check> checks;
    for (const auto& image : staging) {
        std::string repository = destination + "/" + image.repository;
        for (const auto& digest : signed_digests(repository, image.digest)) {
            auto layers = read_signature_image(repository, digest);
            bool top = digest == image.digest;
            ASSERT_EQ(layers.size(), top ? 2u : 1u) << repository << "@" << digest;
            if (top) {
                check_layer_signature(checks, layers[0], *work / "trusted.pub",
                                      "staging signature of " + repository);
            }
            check_layer_signature(checks, layers.back(), *work / "hoist.pub",
                                  "signature of " + repository + "@" + digest);
        }
    }
    run_checks(checks);

    auto writes = writes_to(*second);
    auto rerun = hoist(arguments + (*work / "faulty-source-rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out << proxy.counts().to_string();
    EXPECT_EQ(writes_to(*second), writes);
}

// Killed with SIGKILL in the middle of `phase`, once `kill_after` of its `all` writes
// matching `written` are done, then run again: every digest ends with exactly one
// signature, by hoist's key, and one attestation, both verifying; what the killed run
// half wrote is neither kept twice nor left wrong. The phase goes one request at a time,
// five a second: the registry's access log, which says when to kill, lags behind it.
void CipSupply::killed_during(const std::string& phase, const std::regex& written,
                              std::size_t kill_after, std::size_t all) {
    auto staging = push_staging("staging-kill-" + phase, 6, 2, 45);  // 000, 002, 004: indexes
    ASSERT_EQ(staging.size(), 6u);
    const std::string destination = second->host_port() + "/killed-" + phase;
    fs::path promo = *work / ("kill-" + phase);
    write_promotion(promo, source->host_port() + "/staging-kill-" + phase, {destination},
                    under_their_tags(staging));
    std::string arguments = " cip --confirm --signing-key " + (*work / "hoist.key").string() +
                            " --thin-manifest-dir " + promo.string();
    std::string command = std::string(HOIST_BINARY) + " --ca-file " + source->ca_file().string() +
                          " --ca-file " + second->ca_file().string() + arguments;
    auto before = puts_of(*second, written);
    bool killed = testsupport::run_and_kill_when(
        command + " --budget " + phase + ":host-inflight=1,inflight=1,rate=5,burst=1",
        (*work / ("kill-" + phase + ".log")).string(), *second,
        [&] { return puts_of(*second, written) >= before + kill_after; });
    ASSERT_TRUE(killed) << "the run ended before it could be killed";
    ASSERT_LT(puts_of(*second, written), before + all) << "the kill came too late";

    auto rerun = hoist(arguments + " --report " + (*work / ("kill-" + phase + ".json")).string());
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    auto report = read_report(*work / ("kill-" + phase + ".json"));
    EXPECT_EQ(report["status"], "done");
    EXPECT_EQ(report["supply"]["signatures"]["failed"], 0) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["failed"], 0) << report["supply"].dump();
    fs::path hoist_pub = *work / "hoist.pub";
    std::vector<pending_check> checks;
    std::size_t signed_count = 0;
    for (const auto& image : staging) {
        std::string repository = destination + "/" + image.repository;
        for (const auto& digest : signed_digests(repository, image.digest)) {
            auto layers = read_signature_image(repository, digest);
            ASSERT_EQ(layers.size(), 1u) << repository << "@" << digest;
            check_layer_signature(checks, layers[0], hoist_pub, repository + "@" + digest);
            ++signed_count;
        }
        check_one_attestation(checks, repository, image.digest, hoist_pub);
    }
    EXPECT_EQ(signed_count, 12u);  // three indexes of two children, three single images
    run_checks(checks);
}

// Killed once 3 of the 12 signature images are written.
TEST_F(CipSupply, KilledDuringSignThenRerunSignsEveryDigestOnce) {
    killed_during("sign", std::regex(R"(/manifests/sha256-[0-9a-f]{64}\.sig HTTP)"), 3, 12);
}

// Killed once the first of the 6 referrers indexes is written: attestations are in the
// registry that no index lists yet.
TEST_F(CipSupply, KilledDuringAttestThenRerunAttestsEveryDigestOnce) {
    killed_during("attest", std::regex(R"(/manifests/sha256-[0-9a-f]{64} HTTP)"), 1, 6);
}

TEST_F(CipSupply, MirrorsOfOneIdentityShareOneSignatureAndOneAttestation) {
    // Two destinations that users pull from as registry.k8s.io: kpromo signs the digest
    // once, in the canonical (here: first by name) registry, and attests it in each.
    auto staging = push_staging("staging-mirrors", 1, 0, 15);
    ASSERT_EQ(staging.size(), 1u);
    const auto& image = staging[0];
    std::vector<std::string> destinations{first->host_port() + "/k8s-artifacts-prod/images",
                                          second->host_port() + "/k8s-artifacts-prod/images"};
    std::sort(destinations.begin(), destinations.end());
    fs::path promo = *work / "mirrors";
    write_promotion(promo, source->host_port() + "/staging-mirrors", destinations,
                    {{image.repository, image.digest, {image.tag}}});
    std::string arguments = "cip --confirm --signing-key " + (*work / "hoist.key").string() +
                            " --thin-manifest-dir " + promo.string() + " --report ";
    auto run = hoist(arguments + (*work / "mirrors.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "mirrors.json");
    EXPECT_EQ(report["supply"]["signatures"]["written"], 1) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["written"], 2) << report["supply"].dump();

    std::string identity = "registry.k8s.io/" + image.repository;
    std::string canonical = destinations[0] + "/" + image.repository;
    std::string mirror = destinations[1] + "/" + image.repository;
    auto layers = read_signature_image(canonical, image.digest);
    ASSERT_EQ(layers.size(), 1u);
    EXPECT_EQ(layers[0].claims["critical"]["identity"]["docker-reference"], identity);
    EXPECT_FALSE(manifest_at(mirror, referrers_tag(image.digest) + ".sig").has_value());
    std::vector<pending_check> checks;
    check_layer_signature(checks, layers[0], *work / "hoist.pub", "signature of " + identity);
    run_checks(checks);

    std::set<std::string> bundles;
    for (const auto& repository : {canonical, mirror}) {
        auto attestations =
            referrers_of_type(referrers_index(repository, image.digest), promotion_type);
        ASSERT_EQ(attestations.size(), 1u) << repository;
        auto bundle = read_bundle_referrer(repository, image.digest, attestations[0]);
        ASSERT_TRUE(bundle.statement.is_object()) << repository;
        EXPECT_EQ(bundle.statement["subject"][0]["name"], identity);
        EXPECT_EQ(bundle.statement["predicate"]["dstRef"], identity);
        bundles.insert(crypto::digest_of(read_text(bundle.bundle_file)));
    }
    EXPECT_EQ(bundles.size(), 1u) << "one signed statement for the identity, attached twice";

    auto writes = writes_to(*first) + writes_to(*second);
    auto rerun = hoist(arguments + (*work / "mirrors-rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    EXPECT_EQ(writes_to(*first) + writes_to(*second), writes);
    auto again = read_report(*work / "mirrors-rerun.json");
    EXPECT_EQ(again["supply"]["signatures"]["present"], 1) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["attestations"]["present"], 2) << again["supply"].dump();
}

// kpromo leaves a digest promoted without a tag unsigned (kubernetes-sigs/promo-tools#1946
// asks for the signature) and attests it since v4.6. hoist signs and attests it: a
// digest pulled by digest is verified like any other. The promotion record has no `tags`.
TEST_F(CipSupply, TaglessDigestsAreSignedAndAttestedWithoutTags) {
    auto staging = push_staging("staging-tagless", 1, 0, 19);
    ASSERT_EQ(staging.size(), 1u);
    const auto& image = staging[0];
    std::string destination = first->host_port() + "/tagless";
    std::string promoted = destination + "/" + image.repository;
    fs::path promo = *work / "tagless";
    write_promotion(promo, source->host_port() + "/staging-tagless", {destination},
                    {{image.repository, image.digest, {}}});
    auto run = hoist("cip --confirm --signing-key " + (*work / "hoist.key").string() +
                     " --thin-manifest-dir " + promo.string() + " --report " +
                     (*work / "tagless.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "tagless.json");
    EXPECT_EQ(report["supply"]["signatures"]["written"], 1) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["written"], 1) << report["supply"].dump();
    EXPECT_FALSE(manifest_at(promoted, image.tag).has_value()) << "promoted without its tag";

    auto layers = read_signature_image(promoted, image.digest);
    ASSERT_EQ(layers.size(), 1u);
    EXPECT_EQ(layers[0].claims["critical"]["image"]["docker-manifest-digest"], image.digest);
    auto attestations = referrers_of_type(referrers_index(promoted, image.digest), promotion_type);
    ASSERT_EQ(attestations.size(), 1u);
    auto bundle = read_bundle_referrer(promoted, image.digest, attestations[0]);
    ASSERT_TRUE(bundle.statement.is_object());
    EXPECT_FALSE(bundle.statement["predicate"].contains("tags")) << bundle.statement.dump();
    EXPECT_EQ(bundle.statement["predicate"]["dstRef"], promoted) << bundle.statement.dump();
    std::vector<pending_check> checks;
    check_layer_signature(checks, layers[0], *work / "hoist.pub", "signature of " + promoted);
    run_checks(checks);
}

TEST_F(CipSupply, ChildPromotedUnderItsOwnTagKeepsItsStagingSignature) {
    // A child of an index promoted under a tag of its own is a top-level digest too: its
    // staging signature is carried (kpromo copies the `.sig` of every group's digest), even
    // when the index's recursive signing reaches the child first. One signing operation at
    // a time makes the order fixed: groups run by digest, so pick a child that sorts after
    // its index.
    auto staging = push_staging("staging-child", 2, 1, 16);  // both are indexes
    ASSERT_EQ(staging.size(), 2u);
    std::string source_path = source->host_port() + "/staging-child";
    std::optional<std::pair<testkit::staging_image, std::string>> chosen;
    for (const auto& image : staging) {
        auto children = signed_digests(source_path + "/" + image.repository, image.digest);
        for (std::size_t i = 1; i < children.size() && !chosen; ++i) {
            if (children[i] > image.digest) {
                chosen.emplace(image, children[i]);
            }
        }
    }
    ASSERT_TRUE(chosen.has_value()) << "no child sorts after its index; change the seed";
    const auto& [image, child] = *chosen;
    std::string staged = source_path + "/" + image.repository;
    sign_staging({{staged, child}}, *trusted_key);
    std::string destination = first->host_port() + "/child";
    fs::path promo = *work / "child";
    write_promotion(promo, source_path, {destination},
                    {{image.repository, image.digest, {image.tag}}});
    // The child under its own tag, in the same images.yaml entry.
    {
        std::ofstream list(promo / "images" / "supply" / "images.yaml", std::ios::app);
        list << "    \"" << child << "\": [\"amd64-only\"]\n";
    }
    auto run = hoist("cip --confirm --max-signature-ops=1 --signing-key " +
                     (*work / "hoist.key").string() + " --thin-manifest-dir " + promo.string() +
                     " --report " + (*work / "child.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "child.json");
    EXPECT_EQ(report["supply"]["signatures"]["carried"], 1) << report["supply"].dump();

    std::string repository = destination + "/" + image.repository;
    auto staging_layers = read_signature_image(staged, child);
    ASSERT_EQ(staging_layers.size(), 1u);
    auto layers = read_signature_image(repository, child);
    ASSERT_FALSE(layers.empty());
    EXPECT_EQ(layers.size(), 2u) << "the staging signature of " << child << " was not carried";
    EXPECT_EQ(layers.front().descriptor, staging_layers[0].descriptor);
    EXPECT_EQ(layers.back().claims["critical"]["identity"]["docker-reference"], repository);
}

TEST_F(CipSupply, SignReadsOnlyTheStagingSignaturesThePlanListingShows) {
    // Two staging repositories of three images each, one image of each signed. Plan lists
    // both (the first would be listed anyway, to learn whether the registry maps digests
    // to tags), so Sign asks for the two staging `.sig` tags that exist, to carry them,
    // instead of reading every image's tag to find most of them missing.
    auto staging = push_staging("staging-listed", 2, 0, 17, 3);
    ASSERT_EQ(staging.size(), 6u);
    std::string source_path = source->host_port() + "/staging-listed";
    auto staged = [&](std::size_t i) { return source_path + "/" + staging[i].repository; };
    const std::set<std::size_t> signed_images{1, 4};
    for (std::size_t i : signed_images) {
        sign_staging({{staged(i), staging[i].digest}}, *trusted_key);
    }
    auto images = under_their_tags(staging);
    fs::path promo = *work / "listed";
    std::string destination = first->host_port() + "/listed";
    write_promotion(promo, source_path, {destination}, images);
    auto source_log = settled_log(*source).size();
    auto run = hoist("cip --confirm --signing-key " + (*work / "hoist.key").string() +
                     " --thin-manifest-dir " + promo.string() + " --report " +
                     (*work / "listed.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "listed.json");
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["plan"]["summary"]["promote"], 6);
    EXPECT_EQ(report["supply"]["signatures"]["carried"], 2) << report["supply"].dump();

    auto log = settled_log(*source);
    std::size_t listings = 0;
    std::vector<std::string> tag_reads;
    for (std::size_t i = source_log; i < log.size(); ++i) {
        const auto& line = log[i];
        if (line.find("/tags/list") != std::string::npos) {
            ++listings;
        }
        bool read = line.find("\"GET /v2/") != std::string::npos ||
                    line.find("\"HEAD /v2/") != std::string::npos;
        if (read && line.find(".sig HTTP") != std::string::npos) {
            tag_reads.push_back(line);
        }
    }
    EXPECT_EQ(listings, 2u);
    EXPECT_EQ(tag_reads.size(), signed_images.size()) << testing::PrintToString(tag_reads);
    for (const auto& line : tag_reads) {
        bool of_signed = false;
        for (std::size_t i : signed_images) {
            of_signed |= line.find(referrers_tag(staging[i].digest) + ".sig") != std::string::npos;
        }
        EXPECT_TRUE(of_signed) << line;
    }
    for (std::size_t i : signed_images) {
        auto layers =
            read_signature_image(destination + "/" + staging[i].repository, staging[i].digest);
        EXPECT_EQ(layers.size(), 2u)
            << "the staging signature of " << staging[i].digest << " was not carried";
    }
}

TEST_F(CipSupply, ValidateBlocksImagesWithoutATrustedSignature) {
    // img-000 (an index) signed by the trusted key, img-001 by another, img-002 (an index)
    // not at all.
    auto staging = push_staging("staging-validate", 3, 2, 12);
    ASSERT_EQ(staging.size(), 3u);
    std::string source_path = source->host_port() + "/staging-validate";
    auto staged = [&](std::size_t i) { return source_path + "/" + staging[i].repository; };
    sign_staging({{staged(0), staging[0].digest}}, *trusted_key);
    sign_staging({{staged(1), staging[1].digest}}, *untrusted_key);
    auto images = under_their_tags(staging);
    std::string destination = first->host_port() + "/validated";
    fs::path promo = *work / "validate";
    write_promotion(promo, source_path, {destination}, images);
    // Provenance off: these images have none, and its verdicts would sit beside these.
    // Two --verify-key: a staging signature passes when either key verifies it.
    std::string common = " --provenance=off --verify-key " + (*work / "spare.pub").string() +
                         " --verify-key " + (*work / "trusted.pub").string() +
                         " --thin-manifest-dir " + promo.string() + " --report ";

    auto verdicts_by_image = [](const json& report) {
        std::map<std::string, json> by_image;
        for (const auto& verdict : report["supply"]["verdicts"]) {
            EXPECT_EQ(verdict["phase"], "validate") << verdict.dump();
            by_image[verdict["image"].get<std::string>()] = verdict;
        }
        return by_image;
    };
    auto image_name = [&](std::size_t i) { return staged(i) + "@" + staging[i].digest; };

    // A required, dry run: only the trusted one passes, and nothing is written (nor
    // signed, though a signing key is given).
    auto writes = writes_to(*first);
    auto dry = hoist("cip --validate=required --signing-key " + (*work / "hoist.key").string() +
                     common + (*work / "validate-dry.json").string());
    EXPECT_EQ(dry.status, 1) << dry.out;
    EXPECT_EQ(writes_to(*first), writes);
    auto report = read_report(*work / "validate-dry.json");
    ASSERT_TRUE(report.is_object());
    auto verdicts = verdicts_by_image(report);
    ASSERT_EQ(verdicts.size(), 3u) << report["supply"].dump();
    EXPECT_EQ(verdicts[image_name(0)]["result"], "passed") << verdicts[image_name(0)].dump();
    EXPECT_EQ(verdicts[image_name(1)]["result"], "blocked");
    EXPECT_NE(verdicts[image_name(1)]["detail"].get<std::string>().find("no signature verifies"),
              std::string::npos)
        << verdicts[image_name(1)].dump();
    EXPECT_EQ(verdicts[image_name(2)]["result"], "blocked");
    EXPECT_NE(verdicts[image_name(2)]["detail"].get<std::string>().find("unsigned"),
              std::string::npos)
        << verdicts[image_name(2)].dump();
    for (const auto& edge : report["plan"]["edges"]) {
        bool trusted = edge["digest"] == staging[0].digest;
        EXPECT_EQ(edge["outcome"], trusted ? "promote" : "blocked") << edge.dump();
        EXPECT_FALSE(edge.contains("result")) << edge.dump();
    }
    EXPECT_NE(dry.out.find("validate: blocked " + image_name(1)), std::string::npos) << dry.out;
    EXPECT_NE(dry.out.find("validate: passed " + image_name(0)), std::string::npos) << dry.out;

    // If present, confirmed: the untrusted signature still blocks its image; the others go.
    std::string confirmed = "cip --confirm --validate=if-present --signing-key " +
                            (*work / "hoist.key").string() + common;
    auto run = hoist(confirmed + (*work / "validate.json").string());
    EXPECT_EQ(run.status, 1) << run.out;
    report = read_report(*work / "validate.json");
    ASSERT_TRUE(report.is_object());
    verdicts = verdicts_by_image(report);
    EXPECT_EQ(verdicts[image_name(0)]["result"], "passed");
    EXPECT_EQ(verdicts[image_name(1)]["result"], "blocked");
    EXPECT_EQ(verdicts[image_name(2)]["result"], "passed") << verdicts[image_name(2)].dump();
    for (const auto& edge : report["plan"]["edges"]) {
        if (edge["digest"] == staging[1].digest) {
            EXPECT_EQ(edge["outcome"], "blocked") << edge.dump();
            EXPECT_NE(edge.value("detail", "").find("validate"), std::string::npos) << edge.dump();
        } else {
            EXPECT_EQ(edge["outcome"], "promote") << edge.dump();
            EXPECT_EQ(edge.value("result", ""), "promoted") << edge.dump();
        }
    }
    EXPECT_EQ(report["supply"]["signatures"]["carried"], 1) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["failed"], 0) << report["supply"].dump();

    for (std::size_t i : {0u, 2u}) {
        auto promoted = manifest_at(destination + "/" + staging[i].repository, staging[i].tag);
        ASSERT_TRUE(promoted.has_value()) << staging[i].repository;
        EXPECT_EQ(promoted->digest, staging[i].digest);
    }
    std::string blocked = destination + "/" + staging[1].repository;
    EXPECT_FALSE(manifest_at(blocked, staging[1].tag).has_value());
    EXPECT_FALSE(manifest_at(blocked, staging[1].digest).has_value());
    EXPECT_FALSE(manifest_at(blocked, referrers_tag(staging[1].digest) + ".sig").has_value());

    // The trusted staging signature is carried, byte for byte, before hoist's own.
    std::vector<pending_check> checks;
    auto staging_layers = read_signature_image(staged(0), staging[0].digest);
    ASSERT_EQ(staging_layers.size(), 1u);
    std::string repository = destination + "/" + staging[0].repository;
    auto layers = read_signature_image(repository, staging[0].digest);
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_EQ(layers[0].descriptor, staging_layers[0].descriptor);
    EXPECT_EQ(layers[0].payload, staging_layers[0].payload);
    EXPECT_EQ(layers[0].claims["critical"]["identity"]["docker-reference"], staged(0));
    EXPECT_EQ(layers[1].claims["critical"]["identity"]["docker-reference"], repository);
    check_layer_signature(checks, layers[0], *work / "trusted.pub", "carried staging signature");
    check_layer_signature(checks, layers[1], *work / "hoist.pub", "promoter signature");
    run_checks(checks);
    // The unsigned image is signed by hoist alone.
    auto unsigned_layers =
        read_signature_image(destination + "/" + staging[2].repository, staging[2].digest);
    EXPECT_EQ(unsigned_layers.size(), 1u);

    // Again: the same verdicts, and the carried and promoter signatures are found in place.
    writes = writes_to(*first);
    auto rerun = hoist(confirmed + (*work / "validate-rerun.json").string());
    EXPECT_EQ(rerun.status, 1) << rerun.out;
    EXPECT_EQ(writes_to(*first), writes);
    auto again = read_report(*work / "validate-rerun.json");
    EXPECT_EQ(again["supply"]["signatures"]["written"], 0) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["signatures"]["carried"], 0) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["attestations"]["written"], 0) << again["supply"].dump();
}

TEST_F(CipSupply, ValidateReadsSignaturesInTheBundleFormatToo) {
    // Staging images signed only as bundle referrers (cosign v3's default): img-000 by the
    // trusted key, img-001 by another, which must block it even under --validate=if-present.
    // img-002 carries a .sig by another key and a bundle by the trusted one: it passes.
    auto staging = push_staging("staging-bundle-signed", 3, 0, 17);
    ASSERT_EQ(staging.size(), 3u);
    std::string source_path = source->host_port() + "/staging-bundle-signed";
    auto image_name = [&](std::size_t i) {
        return source_path + "/" + staging[i].repository + "@" + staging[i].digest;
    };
    write_file(*work / "trusted.key", trusted_key->to_pkcs8_pem());
    write_file(*work / "untrusted.key", untrusted_key->to_pkcs8_pem());
    for (auto [i, key] : {std::pair{0u, "trusted.key"}, std::pair{1u, "untrusted.key"},
                          std::pair{2u, "trusted.key"}}) {
        auto signed_now = hoist("sign " + image_name(i) + " --signature-format bundle --key " +
                                (*work / key).string());
        ASSERT_EQ(signed_now.status, 0) << signed_now.out;
    }
    sign_staging({{source_path + "/" + staging[2].repository, staging[2].digest}}, *untrusted_key);
    fs::path promo = *work / "bundle-signed";
    write_promotion(promo, source_path, {first->host_port() + "/bundle-signed"},
                    under_their_tags(staging));
    auto dry = hoist("cip --provenance=off --validate=if-present --verify-key " +
                     (*work / "trusted.pub").string() + " --thin-manifest-dir " + promo.string() +
                     " --report " + (*work / "bundle-signed.json").string());
    EXPECT_EQ(dry.status, 1) << dry.out;
    auto report = read_report(*work / "bundle-signed.json");
    ASSERT_TRUE(report.is_object());
    std::map<std::string, json> verdicts;
    for (const auto& verdict : report["supply"]["verdicts"]) {
        verdicts[verdict["image"].get<std::string>()] = verdict;
    }
    ASSERT_EQ(verdicts.size(), 3u) << report["supply"].dump();
    EXPECT_EQ(verdicts[image_name(2)]["result"], "passed") << verdicts[image_name(2)].dump();
    EXPECT_EQ(verdicts[image_name(0)]["result"], "passed") << verdicts[image_name(0)].dump();
    EXPECT_NE(verdicts[image_name(0)]["detail"].get<std::string>().find("bundle"),
              std::string::npos)
        << verdicts[image_name(0)].dump();
    EXPECT_EQ(verdicts[image_name(1)]["result"], "blocked") << verdicts[image_name(1)].dump();
    EXPECT_NE(verdicts[image_name(1)]["detail"].get<std::string>().find("signed by another key"),
              std::string::npos)
        << verdicts[image_name(1)].dump();
}

// Staging `.sig` images that are malformed in ways a registry happily stores: an
// annotation that is not base64, a payload that is not JSON (signed all the same). Each
// blocks its image with a reason that names it; a good signature beside them passes.
TEST_F(CipSupply, MalformedStagingSignaturesBlockTheirImageAndSayWhy) {
    auto staging = push_staging("staging-malformed", 3, 0, 18);
    ASSERT_EQ(staging.size(), 3u);
    std::string source_path = source->host_port() + "/staging-malformed";
    auto staged = [&](std::size_t i) { return source_path + "/" + staging[i].repository; };
    auto image_name = [&](std::size_t i) { return staged(i) + "@" + staging[i].digest; };
    auto put_signature = [&](std::size_t i, const std::string& payload,
                             std::optional<std::string> raw_annotation) {
        auto der = trusted_key->sign_der(payload);
        ASSERT_TRUE(der.has_value());
        auto layer = crypto::simple_signing_layer(payload, *der);
        if (raw_annotation) {
            layer.annotations[std::string(crypto::cosign_signature_annotation)] = *raw_annotation;
        }
        auto image = crypto::build_signature_image({layer});
        ASSERT_TRUE(image.has_value());
        bool ok = with_client<bool>([&](reg::registry_client& client) -> asio::awaitable<bool> {
            auto repo = reg::parse_repository_ref(staged(i));
            std::vector<std::string> blobs{image->config, payload};
            auto pushed = co_await engine::push_small_blobs(client, *repo, std::move(blobs),
                                                            "malformed signature", soon());
            if (!pushed) {
                ADD_FAILURE() << pushed.error().message();
                co_return false;
            }
            auto put = co_await client.put_manifest(
                *repo, referrers_tag(staging[i].digest) + ".sig", image->manifest,
                std::string(crypto::oci_manifest_media_type), soon());
            if (!put) {
                ADD_FAILURE() << put.error().message();
                co_return false;
            }
            co_return true;
        });
        ASSERT_TRUE(ok);
    };
    put_signature(0, crypto::simple_signing_payload(staged(0), staging[0].digest, {}),
                  "this is not base64!");
    put_signature(1, "{\"critical\": not json", std::nullopt);
    put_signature(2, crypto::simple_signing_payload(staged(2), staging[2].digest, {}),
                  std::nullopt);

    fs::path promo = *work / "malformed";
    write_promotion(promo, source_path, {first->host_port() + "/malformed"},
                    under_their_tags(staging));
    auto dry = hoist("cip --provenance=off --validate=if-present --verify-key " +
                     (*work / "trusted.pub").string() + " --thin-manifest-dir " + promo.string() +
                     " --report " + (*work / "malformed.json").string());
    EXPECT_EQ(dry.status, 1) << dry.out;
    auto report = read_report(*work / "malformed.json");
    ASSERT_TRUE(report.is_object());
    std::map<std::string, json> verdicts;
    for (const auto& verdict : report["supply"]["verdicts"]) {
        verdicts[verdict["image"].get<std::string>()] = verdict;
    }
    ASSERT_EQ(verdicts.size(), 3u) << report["supply"].dump();
    auto detail = [&](std::size_t i) { return verdicts[image_name(i)].value("detail", ""); };
    EXPECT_EQ(verdicts[image_name(0)]["result"], "blocked") << detail(0);
    EXPECT_NE(detail(0).find("no readable signature annotation"), std::string::npos) << detail(0);
    EXPECT_EQ(verdicts[image_name(1)]["result"], "blocked") << detail(1);
    EXPECT_NE(detail(1).find("payload refused"), std::string::npos) << detail(1);
    EXPECT_EQ(verdicts[image_name(2)]["result"], "passed") << detail(2);
    EXPECT_NE(dry.out.find("validate: blocked " + image_name(0)), std::string::npos) << dry.out;
    EXPECT_NE(dry.out.find("validate: blocked " + image_name(1)), std::string::npos) << dry.out;
}

TEST_F(CipSupply, ImagesInPlaceBeforeTheRunAreSignedOnlyOnceTheyPassTheChecks) {
    // img-000 signed in staging by the trusted key, img-001 by another. Both reach the
    // first destination unsigned (promoted with --sign=false), img-000 the second too.
    auto staging = push_staging("staging-present", 2, 0, 16);
    ASSERT_EQ(staging.size(), 2u);
    std::string source_path = source->host_port() + "/staging-present";
    auto staged = [&](std::size_t i) { return source_path + "/" + staging[i].repository; };
    sign_staging({{staged(0), staging[0].digest}}, *trusted_key);
    sign_staging({{staged(1), staging[1].digest}}, *untrusted_key);
    auto images = under_their_tags(staging);
    std::string one = first->host_port() + "/present";
    std::string two = second->host_port() + "/present";
    write_promotion(*work / "present-1", source_path, {one}, images);
    write_promotion(*work / "present-2", source_path, {two}, {images[0]});
    write_promotion(*work / "present", source_path, {one, two}, images);
    for (const char* earlier : {"present-1", "present-2"}) {
        auto unsigned_run =
            hoist("cip --confirm --sign=false --thin-manifest-dir " + (*work / earlier).string());
        ASSERT_EQ(unsigned_run.status, 0) << unsigned_run.out;
    }

    // Now signed and checked: img-000 is in place everywhere, so no phase before Sign
    // checks it; img-001 is new to the second destination, where Validate blocks it.
    auto run =
        hoist("cip --confirm --provenance=off --verify-key " + (*work / "trusted.pub").string() +
              " --signing-key " + (*work / "hoist.key").string() + " --thin-manifest-dir " +
              (*work / "present").string() + " --report " + (*work / "present.json").string());
    EXPECT_EQ(run.status, 1) << run.out;
    auto report = read_report(*work / "present.json");
    ASSERT_TRUE(report.is_object());
    // img-001 is blocked in both: by Validate where it was new, by Sign where it was in
    // place (with Validate's reason, which stands for the same source image).
    for (const auto& edge : report["plan"]["edges"]) {
        bool refused = edge["digest"] == staging[1].digest;
        EXPECT_EQ(edge["outcome"], refused ? "blocked" : "present") << edge.dump();
        if (refused && edge["destination"].get<std::string>().starts_with(one)) {
            auto detail = edge.value("detail", "");
            EXPECT_TRUE(detail.starts_with("sign: in place before this run")) << detail;
            EXPECT_NE(detail.find("no signature verifies"), std::string::npos) << detail;
        }
    }
    // Each source image checked once: img-000 for Sign and Attest in both destinations,
    // img-001 by Validate, whose refusal also holds where it was in place already.
    std::map<std::string, std::string> results;
    for (const auto& verdict : report["supply"]["verdicts"]) {
        EXPECT_TRUE(results.emplace(verdict["image"], verdict["result"]).second) << verdict.dump();
    }
    EXPECT_EQ(results, (std::map<std::string, std::string>{
                           {staged(0) + "@" + staging[0].digest, "passed"},
                           {staged(1) + "@" + staging[1].digest, "blocked"}}))
        << report["supply"].dump();

    for (const auto& destination : {one, two}) {
        std::string repository = destination + "/" + staging[0].repository;
        auto layers = read_signature_image(repository, staging[0].digest);
        ASSERT_EQ(layers.size(), 2u) << repository;  // the staging signature, then hoist's
        EXPECT_EQ(layers[1].claims["critical"]["identity"]["docker-reference"], repository);
        auto index = referrers_index(repository, staging[0].digest);
        EXPECT_EQ(referrers_of_type(index, promotion_type).size(), 1u) << index.dump();
    }
    std::string refused = one + "/" + staging[1].repository;
    EXPECT_FALSE(manifest_at(refused, referrers_tag(staging[1].digest) + ".sig").has_value());
    EXPECT_FALSE(manifest_at(refused, referrers_tag(staging[1].digest)).has_value());
    EXPECT_TRUE(report["supply"]["errors"].empty()) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["refused"], 1) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["written"], 2) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["written"], 2) << report["supply"].dump();
}

// When a check cannot read staging's attestations (the registry keeps failing past the
// retries), it has found nothing against the image: the image is neither promoted nor
// signed, and the report says the check failed, not that the image was refused. Both for
// an image to promote (Provenance) and for one in place before the run (Sign's check).
// The next run checks again.
TEST_F(CipSupply, ImagesThatCouldNotBeCheckedFailAndAreNotCalledRefused) {
    auto staging = push_staging("staging-unchecked", 2, 0, 24);
    ASSERT_EQ(staging.size(), 2u);
    std::string source_path = source->host_port() + "/staging-unchecked";
    auto staged = [&](const std::string& base, std::size_t i) {
        return base + "/staging-unchecked/" + staging[i].repository + "@" + staging[i].digest;
    };
    for (std::size_t i = 0; i < staging.size(); ++i) {
        sign_staging({{source_path + "/" + staging[i].repository, staging[i].digest}},
                     *trusted_key);
    }
    auto images = under_their_tags(staging);
    std::string destination = first->host_port() + "/unchecked";
    // img-000 is in place, unsigned, before the run; img-001 is new.
    write_promotion(*work / "unchecked-earlier", source_path, {destination}, {images[0]});
    auto unsigned_run = hoist("cip --confirm --sign=false --thin-manifest-dir " +
                              (*work / "unchecked-earlier").string());
    ASSERT_EQ(unsigned_run.status, 0) << unsigned_run.out;

    // Every read of an attestation in staging answers 503, always; the staging signatures,
    // which Sign carries over, still read.
    testkit::fault_options options;
    options.unavailable = 1;
    options.targets = {".att", "/referrers/"};
    options.max_consecutive = 1000;
    auto started =
        testkit::fault_proxy::start(source->host_port(), source->ca_file().string(), options);
    ASSERT_TRUE(started.has_value()) << started.error().message();
    auto& proxy = **started;
    std::string proxied = proxy.host_port();
    write_promotion(*work / "unchecked", proxied + "/staging-unchecked", {destination}, images);
    std::string checks = " --verify-key " + (*work / "trusted.pub").string() + " --signing-key " +
                         (*work / "hoist.key").string() + " --thin-manifest-dir ";
    auto run =
        hoist("--insecure-registry " + proxied + " cip --confirm" + checks +
              (*work / "unchecked").string() + " --report " + (*work / "unchecked.json").string());
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_GT(proxy.injected(testkit::fault_kind::unavailable), 0u);
    auto report = read_report(*work / "unchecked.json");
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["status"], "failed");
    for (const auto& edge : report["plan"]["edges"]) {
        bool is_new = edge["digest"] == staging[1].digest;
        EXPECT_EQ(edge["outcome"], is_new ? "failed" : "present") << edge.dump();
        if (is_new) {
            EXPECT_TRUE(
                edge.value("detail", "").starts_with("provenance: cannot read attestations"))
                << edge.dump();
        }
    }
    EXPECT_NE(run.out.find("provenance: could not check " + staged(proxied, 1)), std::string::npos)
        << run.out;
    const auto& supply = report["supply"];
    for (const auto& verdict : supply["verdicts"]) {
        EXPECT_NE(verdict["result"], "blocked") << verdict.dump();
        if (verdict["image"] == staged(proxied, 1) && verdict["phase"] == "provenance") {
            EXPECT_EQ(verdict["result"], "unchecked") << verdict.dump();
        }
    }
    EXPECT_EQ(supply["signatures"]["failed"], 1) << supply.dump();
    EXPECT_EQ(supply["signatures"]["refused"], 0) << supply.dump();
    ASSERT_FALSE(supply["errors"].empty());
    EXPECT_NE(supply["errors"][0].get<std::string>().find("could not be checked"),
              std::string::npos)
        << supply.dump();
    std::string in_place = destination + "/" + staging[0].repository;
    EXPECT_FALSE(manifest_at(in_place, referrers_tag(staging[0].digest) + ".sig").has_value());
    EXPECT_FALSE(manifest_at(in_place, referrers_tag(staging[0].digest)).has_value());
    EXPECT_FALSE(manifest_at(destination + "/" + staging[1].repository, staging[1].tag));

    // Once staging answers, both pass: img-001 is promoted, and both are signed.
    write_promotion(*work / "unchecked-again", source_path, {destination}, images);
    auto again = hoist("cip --confirm" + checks + (*work / "unchecked-again").string() +
                       " --report " + (*work / "unchecked-again.json").string());
    ASSERT_EQ(again.status, 0) << again.out;
    auto signed_now = read_report(*work / "unchecked-again.json");
    EXPECT_EQ(signed_now["supply"]["signatures"]["written"], 2) << signed_now["supply"].dump();
    for (std::size_t i = 0; i < staging.size(); ++i) {
        EXPECT_EQ(read_signature_image(destination + "/" + staging[i].repository, staging[i].digest)
                      .size(),
                  2u);
    }
}

TEST_F(CipSupply, ProvenancePolicyDecidesWhichImagesGo) {
    auto staging = push_staging("staging-provenance", 6, 0, 13);
    ASSERT_EQ(staging.size(), 6u);
    std::string source_path = source->host_port() + "/staging-provenance";
    auto staged = [&](std::size_t i) { return source_path + "/" + staging[i].repository; };
    const auto& key = *trusted_key;
    // img-000: referrer bundle by the allowed builder; img-001: by another builder;
    // img-002: nothing, under a project that requires provenance; img-003: a legacy
    // `.att` by the allowed builder; img-004: a referrer about img-000's digest; img-005:
    // by the allowed builder from a repository the policy does not list.
    attach_provenance(staged(0), staging[0].digest,
                      signed_provenance(staged(0), staging[0].digest, allowed_builder, key),
                      key.public_key());
    attach_provenance(staged(1), staging[1].digest,
                      signed_provenance(staged(1), staging[1].digest, disallowed_builder, key),
                      key.public_key());
    push_legacy_attestation(staged(3), staging[3].digest,
                            signed_provenance(staged(3), staging[3].digest, allowed_builder, key));
    attach_provenance(staged(4), staging[4].digest,
                      signed_provenance(staged(4), staging[0].digest, allowed_builder, key),
                      key.public_key());
    attach_provenance(staged(5), staging[5].digest,
                      signed_provenance(staged(5), staging[5].digest, allowed_builder, key,
                                        "https://github.com/someone/fork"),
                      key.public_key());

    fs::path policy = *work / "policy.yaml";
    write_file(policy,
               "default:\n"
               "  mode: if-present\n"
               "  builders: [\"https://github.com/kubernetes/release/.github/workflows/"
               "image.yaml@*\"]\n"
               "  sources: [\"https://github.com/kubernetes/release\"]\n"
               "projects:\n"
               "  - source: " +
                   staged(2) +
                   "\n"
                   "    mode: required\n");
    auto images = under_their_tags(staging);
    std::string destination = first->host_port() + "/provenanced";
    fs::path promo = *work / "provenance";
    write_promotion(promo, source_path, {destination}, images);

    auto run =
        hoist("cip --confirm --validate=off --verify-key " + (*work / "trusted.pub").string() +
              " --provenance-policy " + policy.string() + " --thin-manifest-dir " + promo.string() +
              " --report " + (*work / "provenance.json").string());
    EXPECT_EQ(run.status, 1) << run.out;
    auto report = read_report(*work / "provenance.json");
    ASSERT_TRUE(report.is_object());
    std::map<std::string, json> verdicts;
    for (const auto& verdict : report["supply"]["verdicts"]) {
        EXPECT_EQ(verdict["phase"], "provenance") << verdict.dump();
        verdicts[verdict["image"].get<std::string>()] = verdict;
    }
    ASSERT_EQ(verdicts.size(), 6u) << report["supply"].dump();
    struct expectation {
        bool passes;
        std::string_view detail;
    };
    const expectation expected[] = {{true, "referrer"},          {false, "is not allowed"},
                                    {false, "required"},         {true, ".att"},
                                    {false, "another artifact"}, {false, "no allowed source"}};
    for (std::size_t i = 0; i < staging.size(); ++i) {
        const auto& verdict = verdicts[staged(i) + "@" + staging[i].digest];
        EXPECT_EQ(verdict.value("result", ""), expected[i].passes ? "passed" : "blocked")
            << i << ": " << verdict.dump();
        EXPECT_NE(verdict.value("detail", "").find(expected[i].detail), std::string::npos)
            << i << ": " << verdict.dump();
    }
    for (const auto& edge : report["plan"]["edges"]) {
        auto i = static_cast<std::size_t>(
            std::find_if(staging.begin(), staging.end(),
                         [&](const auto& image) { return image.digest == edge["digest"]; }) -
            staging.begin());
        ASSERT_LT(i, staging.size());
        EXPECT_EQ(edge["outcome"], expected[i].passes ? "promote" : "blocked") << edge.dump();
    }
    for (std::size_t i = 0; i < staging.size(); ++i) {
        auto promoted = manifest_at(destination + "/" + staging[i].repository, staging[i].tag);
        EXPECT_EQ(promoted.has_value(), expected[i].passes) << staging[i].repository;
        if (promoted) {
            EXPECT_EQ(promoted->digest, staging[i].digest);
        }
    }
}

TEST_F(CipSupply, MalformedProvenanceBlocksItsImageAndSaysWhy) {
    auto staging = push_staging("staging-bad-provenance", 5, 0, 19);
    ASSERT_EQ(staging.size(), 5u);
    std::string source_path = source->host_port() + "/staging-bad-provenance";
    auto staged = [&](std::size_t i) { return source_path + "/" + staging[i].repository; };
    const auto& key = *trusted_key;
    auto good = [&](std::size_t i) {
        return signed_provenance(staged(i), staging[i].digest, allowed_builder, key);
    };
    // img-000: a legacy `.att` layer that is not JSON; img-001: one whose DSSE payload is
    // not base64; img-002: a referrer bundle that is not JSON; img-003: a referrer bundle
    // whose statement was changed after signing; img-004: good provenance.
    push_legacy_attestation_layer(staged(0), staging[0].digest, "{\"payloadType\": ");
    push_legacy_attestation_layer(
        staged(1), staging[1].digest,
        R"({"payloadType":"application/vnd.in-toto+json","payload":"*not base64*",)"
        R"("signatures":[{"keyid":"","sig":"MEUCIQ=="}]})");
    attach_provenance_bundle(staged(2), staging[2].digest, "{\"mediaType\": [");
    auto tampered = good(3);
    ASSERT_FALSE(tampered.payload.empty());
    tampered.payload[tampered.payload.size() / 2] ^= 1;
    attach_provenance(staged(3), staging[3].digest, tampered, key.public_key());
    attach_provenance(staged(4), staging[4].digest, good(4), key.public_key());

    std::string destination = first->host_port() + "/bad-provenance";
    fs::path promo = *work / "bad-provenance";
    write_promotion(promo, source_path, {destination}, under_their_tags(staging));
    // Each mode runs over the same images: `required` (a dry run) and kpromo's default,
    // `if-present`, under which what cannot be read blocks all the same, while an
    // attestation whose signature fails is someone else's and is ignored.
    struct mode_run {
        std::string mode;
        bool confirm;
        std::array<std::string_view, 5> reasons;
        std::array<bool, 5> passes;
    };
    const mode_run runs[] = {
        {"required",
         false,
         {"layer 1: DSSE envelope is not JSON", "layer 1: DSSE envelope unreadable",
          "bundle is not JSON",
          "(1 attestations whose signature does not verify ignored); required",
          "verified (referrer"},
         {false, false, false, false, true}},
        {"if-present",
         true,
         {"layer 1: DSSE envelope is not JSON", "layer 1: DSSE envelope unreadable",
          "bundle is not JSON",
          "(1 attestations whose signature does not verify ignored); if present",
          "verified (referrer"},
         {false, false, false, true, true}}};
    for (const auto& mode : runs) {
        SCOPED_TRACE(mode.mode);
        fs::path report_file = *work / ("bad-provenance-" + mode.mode + ".json");
        auto run = hoist(std::string("cip ") + (mode.confirm ? "--confirm " : "") +
                         "--validate=off --provenance=" + mode.mode + " --verify-key " +
                         (*work / "trusted.pub").string() + " --thin-manifest-dir " +
                         promo.string() + " --report " + report_file.string());
        EXPECT_EQ(run.status, 1) << run.out;
        auto report = read_report(report_file);
        ASSERT_TRUE(report.is_object());
        std::map<std::string, json> verdicts;
        for (const auto& verdict : report["supply"]["verdicts"]) {
            verdicts[verdict["image"].get<std::string>()] = verdict;
        }
        ASSERT_EQ(verdicts.size(), 5u) << report["supply"].dump();
        for (std::size_t i = 0; i < staging.size(); ++i) {
            std::string image = staged(i) + "@" + staging[i].digest;
            const auto& verdict = verdicts[image];
            EXPECT_EQ(verdict.value("result", ""), mode.passes[i] ? "passed" : "blocked")
                << verdict.dump();
            EXPECT_NE(verdict.value("detail", "").find(mode.reasons[i]), std::string::npos)
                << i << ": " << verdict.dump();
            EXPECT_EQ(run.out.find("provenance: blocked " + image) != std::string::npos,
                      !mode.passes[i])
                << run.out;
            auto promoted = manifest_at(destination + "/" + staging[i].repository, staging[i].tag);
            EXPECT_EQ(promoted.has_value(), mode.confirm && mode.passes[i])
                << staging[i].repository;
        }
    }
}

// A referrers tag can outlive the referrers it lists (docker-registry's garbage collection
// deletes them untagged). Such a referrer is not there: a provenance check under
// if-present passes instead of failing on every run, and Attest writes the one attestation
// missing, in an index without the gone entry (the registry refuses an index that names a
// missing manifest).
TEST_F(CipSupply, AReferrerGoneFromTheRegistryIsNotThere) {
    auto staging = push_staging("staging-gone", 1, 0, 17);
    ASSERT_EQ(staging.size(), 1u);
    const auto& image = staging[0];
    std::string source_path = source->host_port() + "/staging-gone";
    std::string staged = source_path + "/" + image.repository;
    attach_provenance(staged, image.digest,
                      signed_provenance(staged, image.digest, allowed_builder, *trusted_key),
                      trusted_key->public_key());
    auto provenance =
        referrers_of_type(referrers_index(staged, image.digest), crypto::slsa_provenance_v1);
    ASSERT_EQ(provenance.size(), 1u);
    delete_manifest(*source, "staging-gone/" + image.repository,
                    provenance[0]["digest"].get<std::string>());

    std::string destination = first->host_port() + "/gone";
    std::string promoted = destination + "/" + image.repository;
    fs::path promo = *work / "gone";
    write_promotion(promo, source_path, {destination}, under_their_tags(staging));
    auto promote = [&](const std::string& name) {
        auto run = hoist("cip --confirm --verify-key " + (*work / "trusted.pub").string() +
                         " --validate=off --signing-key " + (*work / "hoist.key").string() +
                         " --thin-manifest-dir " + promo.string() + " --report " +
                         (*work / name).string());
        EXPECT_EQ(run.status, 0) << run.out;
        return read_report(*work / name);
    };
    auto report = promote("gone-1.json");
    ASSERT_EQ(report["supply"]["verdicts"].size(), 1u) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["verdicts"][0]["result"], "passed") << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["written"], 1) << report["supply"].dump();
    ASSERT_TRUE(manifest_at(promoted, image.tag).has_value());

    auto attestations = referrers_of_type(referrers_index(promoted, image.digest), promotion_type);
    ASSERT_EQ(attestations.size(), 1u);
    auto lost = attestations[0]["digest"].get<std::string>();
    delete_manifest(*first, "gone/" + image.repository, lost);
    auto again = promote("gone-2.json");
    EXPECT_EQ(again["supply"]["attestations"]["written"], 1) << again["supply"].dump();
    auto index = referrers_index(promoted, image.digest);
    attestations = referrers_of_type(index, promotion_type);
    ASSERT_EQ(attestations.size(), 1u) << index.dump();
    EXPECT_NE(attestations[0]["digest"], lost) << index.dump();
    EXPECT_TRUE(manifest_at(promoted, attestations[0]["digest"].get<std::string>()).has_value());
    for (const auto& entry : index["manifests"]) {
        EXPECT_NE(entry["digest"], lost) << index.dump();
    }
}

TEST_F(CipSupply, PolicyThatRequiresProvenanceNeedsAVerifyKey) {
    // Nothing can satisfy a policy that requires provenance when no key verifies it: the
    // run must be refused, as --provenance=required without --verify-key is, and the
    // image must stay where it is.
    auto staging = push_staging("staging-policy", 1, 0, 17);
    ASSERT_EQ(staging.size(), 1u);
    std::string source_path = source->host_port() + "/staging-policy";
    fs::path policy = *work / "policy-required.yaml";
    write_file(policy, "default:\n  mode: required\n");
    std::string destination = first->host_port() + "/policy-no-key";
    fs::path promo = *work / "policy-no-key";
    write_promotion(promo, source_path, {destination},
                    {{staging[0].repository, staging[0].digest, {staging[0].tag}}});
    auto run = hoist("cip --confirm --provenance-policy " + policy.string() +
                     " --thin-manifest-dir " + promo.string());
    EXPECT_EQ(run.status, 2) << run.out;
    EXPECT_FALSE(manifest_at(destination + "/" + staging[0].repository, staging[0].tag).has_value())
        << "promoted although the policy requires provenance:\n"
        << run.out;
}

// A registry with the OCI 1.1 referrers API (Artifact Registry, Harbor, zot) indexes a
// referrer from its manifest alone: Sign and Attest write no `sha256-<hex>` tag there, and
// find what is in place through the API, so a rerun writes nothing. Debian packages no
// registry with the API: the fault proxy serves it, without faults, in front of one.
TEST_F(CipSupply, WhereTheReferrersApiExistsNoReferrersTagIsWritten) {
    auto staging = push_staging("staging-refapi", 2, 2, 23);  // img-000 is an index
    ASSERT_EQ(staging.size(), 2u);
    testkit::fault_options options;
    options.referrers_api = true;
    // One referrer per answer: the top digests' signature and attestation take two pages,
    // which hoist must follow (or it misses one and writes it again on the rerun).
    options.referrers_page_size = 1;
    auto started =
        testkit::fault_proxy::start(first->host_port(), first->ca_file().string(), options);
    ASSERT_TRUE(started.has_value()) << started.error().message();
    auto& proxy = **started;
    std::string source_path = source->host_port() + "/staging-refapi";
    auto images = under_their_tags(staging);
    fs::path promo = *work / "refapi";
    write_promotion(promo, source_path, {proxy.host_port() + "/refapi"}, images);
    std::string arguments = "--insecure-registry " + proxy.host_port() +
                            " cip --confirm --signature-format=bundle --signing-key " +
                            (*work / "hoist.key").string() + " --thin-manifest-dir " +
                            promo.string() + " --report ";
    auto run = hoist(arguments + (*work / "refapi.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "refapi.json");
    EXPECT_EQ(report["supply"]["signatures"]["written"], 4) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["written"], 2) << report["supply"].dump();

    testsupport::client_setup through_proxy;
    through_proxy.insecure_registries = {proxy.host_port()};
    for (const auto& image : images) {
        std::string upstream_repository = first->host_port() + "/refapi/" + image.repository;
        auto tags = with_client<std::vector<std::string>>(
            [&](reg::registry_client& client) -> asio::awaitable<std::vector<std::string>> {
                auto listed = co_await client.list_tags(
                    *reg::parse_repository_ref(upstream_repository), soon());
                EXPECT_TRUE(listed.has_value()) << listed.error().message();
                co_return listed ? listed->tags : std::vector<std::string>{};
            });
        EXPECT_EQ(tags, image.tags) << "only the promoted tags, no referrers tag";
        for (const auto& digest : signed_digests(upstream_repository, image.digest)) {
            auto listed = testsupport::run_client<net::result<std::vector<reg::descriptor>>>(
                through_proxy, [&](reg::registry_client& client) {
                    return client.referrers(*reg::parse_repository_ref(
                                                proxy.host_port() + "/refapi/" + image.repository),
                                            digest, "", soon());
                });
            ASSERT_TRUE(listed.has_value()) << listed.error().message();
            std::multiset<std::string> types;
            for (const auto& entry : *listed) {
                auto type = entry.annotations.find(std::string(predicate_type_annotation));
                types.insert(type == entry.annotations.end() ? "" : type->second);
            }
            std::multiset<std::string> expected{std::string(cosign_sign_type)};
            if (digest == image.digest) {
                expected.insert(std::string(promotion_type));
            }
            EXPECT_EQ(types, expected) << digest;
        }
    }

    // hoist's own readers find both through the API.
    std::string top =
        proxy.host_port() + "/refapi/" + images[0].repository + "@" + images[0].digest;
    std::string key = " --key " + (*work / "hoist.pub").string();
    auto verified = hoist("--insecure-registry " + proxy.host_port() + " verify " + top + key);
    EXPECT_EQ(verified.status, 0) << verified.out;
    auto attested = hoist("--insecure-registry " + proxy.host_port() + " verify-attestation " +
                          top + key + " --type " + std::string(promotion_type));
    EXPECT_EQ(attested.status, 0) << attested.out;

    auto writes = writes_to(*first);
    auto rerun = hoist(arguments + (*work / "refapi-rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    EXPECT_EQ(writes_to(*first), writes) << rerun.out;
}

// A registry without the referrers API that answers it 400 instead of 404 (as some route
// unknown paths): hoist falls back to the `sha256-<hex>` tag, as go-containerregistry does.
TEST_F(CipSupply, AReferrersApiAnswered400MeansTheReferrersTag) {
    auto staging = push_staging("staging-ref400", 1, 0, 29);
    ASSERT_EQ(staging.size(), 1u);
    testkit::fault_options options;
    options.referrers_refusal = 400;
    auto started =
        testkit::fault_proxy::start(first->host_port(), first->ca_file().string(), options);
    ASSERT_TRUE(started.has_value()) << started.error().message();
    auto& proxy = **started;
    fs::path promo = *work / "ref400";
    write_promotion(promo, source->host_port() + "/staging-ref400", {proxy.host_port() + "/ref400"},
                    under_their_tags(staging));
    std::string arguments = "--insecure-registry " + proxy.host_port() +
                            " cip --confirm --signing-key " + (*work / "hoist.key").string() +
                            " --thin-manifest-dir " + promo.string() + " --report ";
    auto run = hoist(arguments + (*work / "ref400.json").string());
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "ref400.json");
    EXPECT_EQ(report["supply"]["attestations"]["written"], 1) << report["supply"].dump();
    std::string upstream = first->host_port() + "/ref400/" + staging[0].repository;
    auto index = referrers_index(upstream, staging[0].digest);
    EXPECT_EQ(referrers_of_type(index, promotion_type).size(), 1u) << index.dump();

    auto writes = writes_to(*first);
    auto rerun = hoist(arguments + (*work / "ref400-rerun.json").string());
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    EXPECT_EQ(writes_to(*first), writes) << rerun.out;
}

TEST_F(CipSupply, BundleSignaturesWithAnEncryptedKey) {
    auto staging = push_staging("staging-bundle", 2, 2, 14);  // img-000 is an index
    ASSERT_EQ(staging.size(), 2u);
    std::string source_path = source->host_port() + "/staging-bundle";
    auto images = under_their_tags(staging);
    // A staging signature on the single image: carried as a `.sig` layer, as it came.
    std::string staged = source_path + "/" + staging[1].repository;
    sign_staging({{staged, staging[1].digest}}, *trusted_key);
    auto staging_layers = read_signature_image(staged, staging[1].digest);
    ASSERT_EQ(staging_layers.size(), 1u);
    std::string destination = first->host_port() + "/bundled";
    fs::path promo = *work / "bundle";
    write_promotion(promo, source_path, {destination}, images);
    std::string arguments = "cip --confirm --signature-format=bundle --signing-key " +
                            (*work / "hoist-encrypted.key").string() + " --thin-manifest-dir " +
                            promo.string() + " --report ";
    std::string environment = "COSIGN_PASSWORD='" + std::string(key_password) + "'";

    auto run = hoist(arguments + (*work / "bundle.json").string(), environment);
    ASSERT_EQ(run.status, 0) << run.out;
    auto report = read_report(*work / "bundle.json");
    EXPECT_EQ(report["supply"]["signatures"]["written"], 4) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["attestations"]["written"], 2) << report["supply"].dump();
    EXPECT_EQ(report["supply"]["signatures"]["carried"], 1) << report["supply"].dump();

    fs::path hoist_pub = *work / "hoist.pub";
    std::vector<pending_check> checks;
    for (const auto& image : images) {
        std::string repository = destination + "/" + image.repository;
        for (const auto& digest : signed_digests(repository, image.digest)) {
            if (digest == staging[1].digest) {
                auto carried = read_signature_image(repository, digest);
                ASSERT_EQ(carried.size(), 1u) << "the staging signature alone, not hoist's";
                EXPECT_EQ(carried[0].descriptor, staging_layers[0].descriptor);
            } else {
                EXPECT_FALSE(manifest_at(repository, referrers_tag(digest) + ".sig").has_value())
                    << "a bundle signature leaves no .sig image";
            }
            auto index = referrers_index(repository, digest);
            auto signatures = referrers_of_type(index, cosign_sign_type);
            ASSERT_EQ(signatures.size(), 1u) << index.dump();
            bool top = digest == image.digest;
            EXPECT_EQ(referrers_of_type(index, promotion_type).size(), top ? 1u : 0u)
                << index.dump();
            EXPECT_EQ(index["manifests"].size(), top ? 2u : 1u) << index.dump();
            auto bundle = read_bundle_referrer(repository, digest, signatures[0]);
            ASSERT_TRUE(bundle.statement.is_object());
            EXPECT_EQ(bundle.statement["predicateType"], cosign_sign_type);
            EXPECT_EQ(bundle.statement["subject"].size(), 1u);
            EXPECT_EQ(bundle.statement["subject"][0]["digest"]["sha256"], hex_of(digest));
            // Where cosign v3 puts `-a` pairs: the promoter's mark, as in a `.sig` payload.
            auto marks = bundle.statement["subject"][0].value("annotations", json::object());
            EXPECT_TRUE(marks.value("org.kubernetes.kpromo.version", "").starts_with("hoist-"))
                << bundle.statement.dump();
            checks.push_back(
                {"signature bundle of " + repository + "@" + digest,
                 [bundle, hoist_pub] { return js::verify_bundle(bundle.bundle_file, hoist_pub); }});
        }
    }
    EXPECT_EQ(checks.size(), 4u);
    run_checks(checks);

    auto writes = writes_to(*first);
    auto rerun = hoist(arguments + (*work / "bundle-rerun.json").string(), environment);
    ASSERT_EQ(rerun.status, 0) << rerun.out;
    EXPECT_EQ(writes_to(*first), writes);
    auto again = read_report(*work / "bundle-rerun.json");
    EXPECT_EQ(again["supply"]["signatures"]["written"], 0);
    EXPECT_EQ(again["supply"]["signatures"]["present"], 4) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["signatures"]["carried"], 0) << again["supply"].dump();
    EXPECT_EQ(again["supply"]["attestations"]["present"], 2) << again["supply"].dump();
}

TEST_F(CipSupply, BadSupplyFlagsContactNoRegistry) {
    std::string source_path = source->host_port() + "/staging-flags";
    fs::path promo = *work / "flags";
    write_promotion(promo, source_path, {first->host_port() + "/flags"},
                    {{"img-000", "sha256:" + std::string(64, 'a'), {"v1"}}});
    auto requests = [] {
        return settled_log(*source).size() + settled_log(*first).size() +
               settled_log(*second).size();
    };
    auto before = requests();

    auto no_key = hoist("cip --confirm --validate=required --thin-manifest-dir " + promo.string());
    EXPECT_EQ(no_key.status, 2) << no_key.out;
    EXPECT_NE(no_key.out.find("--verify-key"), std::string::npos) << no_key.out;

    fs::path policy = *work / "bad-policy.yaml";
    write_file(policy,
               "default:\n"
               "  mode: if-present\n"
               "projects:\n"
               "  - source: " +
                   source_path +
                   "\n"
                   "    mode: sometimes\n"
                   "    builder: [\"x\"]\n");
    auto bad_policy =
        hoist("cip --confirm --verify-key " + (*work / "trusted.pub").string() +
              " --provenance-policy " + policy.string() + " --thin-manifest-dir " + promo.string());
    EXPECT_EQ(bad_policy.status, 2) << bad_policy.out;
    EXPECT_NE(bad_policy.out.find(policy.string() + ":5:11: mode must be"), std::string::npos)
        << bad_policy.out;
    EXPECT_NE(bad_policy.out.find(policy.string() + ":6:5: unknown key \"builder\""),
              std::string::npos)
        << bad_policy.out;

    auto wrong_password =
        hoist("cip --confirm --signing-key " + (*work / "hoist-encrypted.key").string() +
                  " --thin-manifest-dir " + promo.string(),
              "COSIGN_PASSWORD='not the password'");
    EXPECT_EQ(wrong_password.status, 2) << wrong_password.out;
    EXPECT_NE(wrong_password.out.find("hoist-encrypted.key"), std::string::npos)
        << wrong_password.out;

    EXPECT_EQ(requests(), before);
}

}  // namespace
}  // namespace hoist
