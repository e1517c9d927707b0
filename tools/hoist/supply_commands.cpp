// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/supply_commands.hpp"

#include "crypto/batch_signer.hpp"
#include "crypto/dsse.hpp"
#include "crypto/intoto.hpp"
#include "crypto/simple_signing.hpp"
#include "crypto/slsa.hpp"
#include "engine/supply/attestations.hpp"
#include "engine/supply/signatures.hpp"
#include "engine/supply/supply_phases.hpp"
#include "tools/hoist/key_files.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>

namespace hoist::tools {
namespace {

namespace reg = net::registry;

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// What `--type custom` (cosign's default) stands for.
constexpr std::string_view custom_predicate_type = "https://cosign.sigstore.dev/attestation/v1";

using annotation_map = std::map<std::string, std::string>;

int usage_error(std::string_view command, const std::string& message) {
    std::cerr << "hoist " << command << ": " << message << "\n";
    return exit_usage;
}

std::optional<reg::image_ref> parse_reference(std::string_view command, const std::string& text) {
    auto parsed = reg::parse_image_ref(text, "latest");
    if (!parsed) {
        usage_error(command, parsed.error().message());
        return std::nullopt;
    }
    return *parsed;
}

/// `-a key=value` pairs. A pair without '=', with an empty key, or a key given twice is
/// refused (cosign lets the last one win, which hides a typo).
std::optional<annotation_map> parse_annotations(const std::vector<std::string>& pairs,
                                                std::string& problem) {
    annotation_map annotations;
    for (const auto& pair : pairs) {
        auto equals = pair.find('=');
        if (equals == std::string::npos || equals == 0) {
            problem = "annotation \"" + pair + "\" is not key=value";
            return std::nullopt;
        }
        if (!annotations.emplace(pair.substr(0, equals), pair.substr(equals + 1)).second) {
            problem = "annotation " + pair.substr(0, equals) + " is given twice";
            return std::nullopt;
        }
    }
    return annotations;
}

/// RFC 3986 `scheme ":" rest`: what cosign accepts as a predicate type besides its short
/// names (an absolute URI).
bool is_absolute_uri(std::string_view text) {
    auto colon = text.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == text.size()) {
        return false;
    }
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    for (std::size_t i = 0; i < colon; ++i) {
        char c = text[i];
        bool allowed =
            alpha(c) || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!allowed) {
            return false;
        }
    }
    return std::none_of(text.begin(), text.end(),
                        [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

constexpr const char* predicate_type_help =
    "Predicate type: custom, slsaprovenance (v0.2), slsaprovenance02, slsaprovenance1, spdx, "
    "spdxjson, cyclonedx, link, vuln, openvex (cosign's short names), or a URI";

/// The predicate type `--type` names: one of cosign's short names, or a URI as given.
std::optional<std::string> predicate_type_of(const std::string& type) {
    static const std::map<std::string, std::string, std::less<>> short_names{
        {"custom", std::string(custom_predicate_type)},
        {"slsaprovenance", std::string(crypto::slsa_provenance_v02)},
        {"slsaprovenance02", std::string(crypto::slsa_provenance_v02)},
        {"slsaprovenance1", std::string(crypto::slsa_provenance_v1)},
        {"spdx", "https://spdx.dev/Document"},
        {"spdxjson", "https://spdx.dev/Document"},
        {"cyclonedx", "https://cyclonedx.org/bom"},
        {"link", "https://in-toto.io/Link/v1"},
        {"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"},
        {"openvex", "https://openvex.dev/ns"},
    };
    if (auto known = short_names.find(type); known != short_names.end()) {
        return known->second;
    }
    if (is_absolute_uri(type)) {
        return type;
    }
    return std::nullopt;
}

std::string hex_of(const std::string& digest) {
    return digest.substr(digest.find(':') + 1);
}

/// The repository as cosign names it in signatures and statements: go-containerregistry
/// writes Docker Hub's repositories under its API host.
std::string repository_name(const reg::repository_ref& repo) {
    if (repo.registry == "docker.io") {
        return "index.docker.io/" + repo.repository;
    }
    return repo.to_string();
}

/// One line of JSON for stdout, whatever the producer's whitespace.
std::string one_line(const std::string& json) {
    auto parsed = nlohmann::ordered_json::parse(json, nullptr, false);
    return parsed.is_discarded() ? json : parsed.dump();
}

/// The digest of the manifest `ref` names, computed from the bytes the registry serves.
asio::awaitable<net::result<reg::fetched_manifest>> resolve(reg::registry_client& client,
                                                            const reg::image_ref& ref,
                                                            net::deadline until) {
    co_return co_await client.get_manifest(ref.repo, ref.reference(), until);
}

/// The digest `ref` names, then, with `recursive`, every image of it when it is an index.
asio::awaitable<net::result<std::vector<std::string>>> signing_targets(reg::registry_client& client,
                                                                       const reg::image_ref& ref,
                                                                       bool recursive,
                                                                       net::deadline until) {
    auto manifest = co_await resolve(client, ref, until);
    if (!manifest) {
        co_return manifest.error();
    }
    std::vector<std::string> targets{manifest->digest};
    if (!recursive) {
        co_return targets;
    }
    auto parsed = reg::parse_manifest(manifest->body, manifest->media_type);
    if (!parsed) {
        co_return net::with_context(parsed.error(), ref.to_string());
    }
    if (parsed->is_index()) {
        for (const auto& child : parsed->manifests) {
            targets.push_back(child.digest);
        }
    }
    co_return targets;
}

/// The string annotations of the statement's subject whose sha256 is `sha256_hex`.
annotation_map subject_annotations(const std::string& payload, const std::string& sha256_hex) {
    annotation_map annotations;
    auto json = nlohmann::json::parse(payload, nullptr, false);
    if (!json.is_object() || !json.contains("subject") || !json["subject"].is_array()) {
        return annotations;
    }
    for (const auto& subject : json["subject"]) {
        if (!subject.is_object() || !subject.contains("digest") || !subject["digest"].is_object() ||
            subject["digest"].value("sha256", nlohmann::json()) != sha256_hex ||
            !subject.contains("annotations") || !subject["annotations"].is_object()) {
            continue;
        }
        for (const auto& [key, value] : subject["annotations"].items()) {
            if (value.is_string()) {
                annotations.emplace(key, value.get<std::string>());
            }
        }
    }
    return annotations;
}

/// The first `wanted` pair that `have` lacks, as "key=value"; empty when it has them all.
std::string missing_annotation(const annotation_map& have, const annotation_map& wanted) {
    for (const auto& [key, value] : wanted) {
        auto it = have.find(key);
        if (it == have.end() || it->second != value) {
            return key + "=" + value;
        }
    }
    return {};
}

/// What a verification found: the lines to print and why the rest was refused.
struct verification {
    std::vector<std::string> verified;
    std::vector<std::string> refused;
};

/// Prints the verified lines (stdout) and a summary (stderr), or every refusal; the
/// exit code.
int report_verification(std::string_view command, std::string_view what, const std::string& at,
                        const verification& found) {
    if (found.verified.empty()) {
        std::cerr << "hoist " << command << ": no " << what << " of " << at
                  << " verifies with the given keys";
        if (found.refused.empty()) {
            std::cerr << ": none found";
        }
        std::cerr << "\n";
        for (const auto& why : found.refused) {
            std::cerr << "  refused " << why << "\n";
        }
        return exit_failed;
    }
    for (const auto& line : found.verified) {
        std::cout << line << "\n";
    }
    std::cerr << "verified " << found.verified.size() << " " << what
              << (found.verified.size() == 1 ? "" : "s") << " of " << at << "\n";
    return 0;
}

struct sign_plan {
    reg::image_ref ref;
    std::string identity;
    annotation_map annotations;
    bool recursive = false;
    bool bundle = false;
};

// lifetime: `signer` belongs to run_sign, which outlives the command's io_context.
asio::awaitable<int> sign_image(registry_context& ctx, crypto::batch_signer& signer,
                                sign_plan plan) {
    auto& client = ctx.client();
    const auto& repo = plan.ref.repo;
    auto targets = co_await signing_targets(client, plan.ref, plan.recursive, ctx.until());
    if (!targets) {
        report_error(targets.error());
        co_return exit_failed;
    }
    std::string identity = plan.identity.empty() ? repository_name(repo) : plan.identity;
    std::string created = engine::utc_timestamp_now();
    for (const auto& digest : *targets) {
        std::string at = repo.to_string() + "@" + digest;
        if (!plan.bundle) {
            engine::signing_request request{repo, digest, identity, plan.annotations, {}, {}, true};
            auto outcome =
                co_await engine::add_signature(client, signer, std::move(request), ctx.until());
            if (!outcome) {
                report_error(outcome.error());
                co_return exit_failed;
            }
            if (outcome->signed_now) {
                std::cout << "signed " << at << ": signature added to " << repo.to_string() << ":"
                          << engine::signature_tag(digest) << "\n";
            } else {
                std::cout << at << ": already signed with this key; nothing written\n";
            }
            continue;
        }
        auto statement = engine::signature_statement(digest, plan.annotations);
        if (!statement) {
            report_error(statement.error());
            co_return exit_failed;
        }
        std::optional<std::string> bundle;
        auto written = co_await engine::attach_statement_bundle(
            client, signer, repo, digest, std::string(engine::cosign_sign_predicate_type),
            *statement, bundle, engine::duplicate_rule::same_statement, created, ctx.until());
        if (!written) {
            report_error(net::with_context(written.error(), "sign " + at));
            co_return exit_failed;
        }
        if (*written) {
            std::cout << "signed " << at << ": bundle attached as referrer " << **written << "\n";
        } else {
            std::cout << at << ": already signed with this key; nothing written\n";
        }
    }
    co_return 0;
}

struct verify_plan {
    reg::image_ref ref;
    std::vector<crypto::ec_public_key> keys;
    annotation_map wanted;
};

/// cosign v3's image signatures: DSSE statements of the sign predicate in bundle referrers.
asio::awaitable<net::result<verification>> verify_bundle_signatures(reg::registry_client& client,
                                                                    const verify_plan& plan,
                                                                    const std::string& digest,
                                                                    net::deadline until) {
    verification out;
    const std::string type(engine::cosign_sign_predicate_type);
    auto found =
        co_await engine::find_bundle_attestations(client, plan.ref.repo, digest, type, until);
    if (!found) {
        co_return found.error();
    }
    for (const auto& attestation : *found) {
        auto checked = engine::check_attestation(attestation, plan.keys, digest, type);
        if (!checked.statement) {
            out.refused.push_back(checked.problem);
            continue;
        }
        auto payload = attestation.envelope.payload;
        auto missing =
            missing_annotation(subject_annotations(payload, hex_of(digest)), plan.wanted);
        if (!missing.empty()) {
            out.refused.push_back(attestation.where + ": lacks annotation " + missing);
            continue;
        }
        out.verified.push_back(one_line(payload));
    }
    co_return out;
}

asio::awaitable<int> verify_image(registry_context& ctx, verify_plan plan) {
    auto& client = ctx.client();
    auto manifest = co_await resolve(client, plan.ref, ctx.until());
    if (!manifest) {
        report_error(manifest.error());
        co_return exit_failed;
    }
    const std::string& digest = manifest->digest;
    std::string at = plan.ref.repo.to_string() + "@" + digest;
    auto legacy =
        co_await engine::verify_signatures(client, plan.ref.repo, digest, plan.keys, ctx.until());
    if (!legacy) {
        report_error(legacy.error());
        co_return exit_failed;
    }
    verification found;
    found.refused = legacy->rejected;
    for (const auto& signature : legacy->verified) {
        auto missing = missing_annotation(signature.optional, plan.wanted);
        if (!missing.empty()) {
            found.refused.push_back("signature of " + signature.docker_reference +
                                    ": lacks annotation " + missing);
            continue;
        }
        found.verified.push_back(one_line(signature.payload));
    }
    if (found.verified.empty()) {
        // No `.sig` signature holds (or there is none): a bundle (cosign v3's default) may.
        auto bundles = co_await verify_bundle_signatures(client, plan, digest, ctx.until());
        if (!bundles) {
            report_error(bundles.error());
            co_return exit_failed;
        }
        found.verified = std::move(bundles->verified);
        found.refused.insert(found.refused.end(), bundles->refused.begin(), bundles->refused.end());
    }
    co_return report_verification("verify", "signature", at, found);
}

struct attest_plan {
    reg::image_ref ref;
    std::string predicate_type;
    nlohmann::json predicate;
};

// lifetime: `signer` belongs to run_attest, which outlives the command's io_context.
asio::awaitable<int> attest_image(registry_context& ctx, crypto::batch_signer& signer,
                                  attest_plan plan) {
    auto& client = ctx.client();
    const auto& repo = plan.ref.repo;
    auto manifest = co_await resolve(client, plan.ref, ctx.until());
    if (!manifest) {
        report_error(manifest.error());
        co_return exit_failed;
    }
    const std::string& digest = manifest->digest;
    std::string at = repo.to_string() + "@" + digest;
    auto statement = crypto::statement_json({{repository_name(repo), {{"sha256", hex_of(digest)}}}},
                                            plan.predicate_type, plan.predicate);
    if (!statement) {
        report_error(net::fail(statement.error(), "statement for " + at));
        co_return exit_failed;
    }
    std::optional<std::string> bundle;
    auto written = co_await engine::attach_statement_bundle(
        client, signer, repo, digest, plan.predicate_type, *statement, bundle,
        engine::duplicate_rule::same_predicate_type, engine::utc_timestamp_now(), ctx.until());
    if (!written) {
        report_error(net::with_context(written.error(), "attest " + at));
        co_return exit_failed;
    }
    if (*written) {
        std::cout << "attested " << at << ": " << plan.predicate_type << " attached as referrer "
                  << **written << "\n";
    } else {
        std::cout << at << ": already attested (" << plan.predicate_type
                  << ") with this key; nothing written\n";
    }
    co_return 0;
}

struct verify_attestation_plan {
    reg::image_ref ref;
    std::vector<crypto::ec_public_key> keys;
    std::string predicate_type;
};

asio::awaitable<int> verify_attestations(registry_context& ctx, verify_attestation_plan plan) {
    auto& client = ctx.client();
    const auto& repo = plan.ref.repo;
    auto manifest = co_await resolve(client, plan.ref, ctx.until());
    if (!manifest) {
        report_error(manifest.error());
        co_return exit_failed;
    }
    const std::string& digest = manifest->digest;
    // Every referrer, whatever its annotation says: the statement is what is checked.
    auto referred =
        co_await engine::find_bundle_attestations(client, repo, digest, "", ctx.until());
    if (!referred) {
        report_error(referred.error());
        co_return exit_failed;
    }
    auto legacy = co_await engine::find_legacy_attestations(client, repo, digest, ctx.until());
    if (!legacy) {
        report_error(legacy.error());
        co_return exit_failed;
    }
    verification found;
    for (const auto* list : {&*referred, &*legacy}) {
        for (const auto& attestation : *list) {
            auto checked =
                engine::check_attestation(attestation, plan.keys, digest, plan.predicate_type);
            if (checked.statement) {
                found.verified.push_back(one_line(attestation.envelope.payload));
            } else {
                found.refused.push_back(checked.problem);
            }
        }
    }
    co_return report_verification("verify-attestation", "attestation",
                                  repo.to_string() + "@" + digest, found);
}

/// The predicate of `--predicate FILE`: a JSON object (statement_json's rule).
std::optional<nlohmann::json> read_predicate(const std::string& file, std::string& problem) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        problem = "cannot read predicate file " + file;
        return std::nullopt;
    }
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto predicate = nlohmann::json::parse(text, nullptr, false);
    if (predicate.is_discarded() || !predicate.is_object()) {
        problem = "predicate file " + file + " does not hold a JSON object";
        return std::nullopt;
    }
    return predicate;
}

}  // namespace

CLI::App* add_sign_command(CLI::App& app, sign_options& options) {
    auto* sign = app.add_subcommand(
        "sign",
        "Sign an image with a key as cosign does: a layer of its sha256-<hex>.sig image, or "
        "a sigstore bundle referrer");
    sign->add_option("REF", options.reference, "registry/repository[:tag|@digest]")->required();
    sign->add_option("--key", options.key,
                     "Signing key: cosign.key (password from $COSIGN_PASSWORD or the terminal) "
                     "or an unencrypted PEM key")
        ->type_name("FILE")
        ->required();
    sign->add_option("--identity", options.identity,
                     "The docker-reference the signature names (default: the repository)");
    sign->add_option("-a,--annotations", options.annotations,
                     "key=value for the signature's optional claims; repeatable")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    sign->add_flag("--recursive", options.recursive,
                   "Sign every image of an index too (skopeo and podman check those)");
    sign->add_option("--signature-format", options.signature_format,
                     "legacy (.sig image) or bundle (sigstore bundle referrer, as cosign v3)")
        ->check(CLI::IsMember({"legacy", "bundle"}))
        ->capture_default_str();
    return sign;
}

CLI::App* add_verify_command(CLI::App& app, verify_options& options) {
    auto* verify = app.add_subcommand(
        "verify",
        "Verify an image's cosign signatures with a key; print the verified payloads as JSON");
    verify->add_option("REF", options.reference, "registry/repository[:tag|@digest]")->required();
    verify->add_option("--key", options.keys, "Public key (cosign.pub); repeatable")
        ->type_name("FILE")
        ->required()
        ->allow_extra_args(false);
    verify
        ->add_option("-a,--annotations", options.annotations,
                     "key=value the signature must carry; repeatable")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    return verify;
}

CLI::App* add_attest_command(CLI::App& app, attest_options& options) {
    auto* attest = app.add_subcommand(
        "attest",
        "Attach a signed in-toto statement of a predicate to an image, as a sigstore bundle "
        "referrer");
    attest->add_option("REF", options.reference, "registry/repository[:tag|@digest]")->required();
    attest
        ->add_option("--key", options.key,
                     "Signing key: cosign.key (password from $COSIGN_PASSWORD or the "
                     "terminal) or an unencrypted PEM key")
        ->type_name("FILE")
        ->required();
    attest->add_option("--predicate", options.predicate, "The predicate, a JSON object")
        ->type_name("FILE")
        ->required();
    attest->add_option("--type", options.type, predicate_type_help)->capture_default_str();
    return attest;
}

CLI::App* add_verify_attestation_command(CLI::App& app, verify_attestation_options& options) {
    auto* verify = app.add_subcommand(
        "verify-attestation",
        "Verify an image's attestations of a type with a key; print the verified statements "
        "as JSON");
    verify->add_option("REF", options.reference, "registry/repository[:tag|@digest]")->required();
    verify->add_option("--key", options.keys, "Public key (cosign.pub); repeatable")
        ->type_name("FILE")
        ->required()
        ->allow_extra_args(false);
    verify->add_option("--type", options.type, predicate_type_help)->capture_default_str();
    return verify;
}

int run_sign(const sign_options& options, const registry_options& registries) {
    constexpr std::string_view command = "sign";
    std::string problem;
    auto annotations = parse_annotations(options.annotations, problem);
    if (!annotations) {
        return usage_error(command, problem);
    }
    bool bundle = options.signature_format == "bundle";
    if (bundle && !options.identity.empty()) {
        // A bundle's statement names the digest only; an identity would be dropped silently.
        return usage_error(command, "--identity applies to --signature-format legacy only");
    }
    auto ref = parse_reference(command, options.reference);
    if (!ref) {
        return exit_usage;
    }
    auto key = read_signing_key(options.key);
    if (!key.value) {
        return usage_error(command, key.problem);
    }
    crypto::batch_signer signer(std::move(*key.value));
    sign_plan plan{*ref, options.identity, std::move(*annotations), options.recursive, bundle};
    return run_command(registries,
                       [&](registry_context& ctx) { return sign_image(ctx, signer, plan); });
}

int run_verify(const verify_options& options, const registry_options& registries) {
    constexpr std::string_view command = "verify";
    std::string problem;
    auto wanted = parse_annotations(options.annotations, problem);
    if (!wanted) {
        return usage_error(command, problem);
    }
    auto ref = parse_reference(command, options.reference);
    if (!ref) {
        return exit_usage;
    }
    auto keys = read_verification_keys(options.keys);
    if (!keys.value) {
        return usage_error(command, keys.problem);
    }
    verify_plan plan{*ref, std::move(*keys.value), std::move(*wanted)};
    return run_command(registries, [&](registry_context& ctx) { return verify_image(ctx, plan); });
}

int run_attest(const attest_options& options, const registry_options& registries) {
    constexpr std::string_view command = "attest";
    auto type = predicate_type_of(options.type);
    if (!type) {
        return usage_error(command,
                           "--type " + options.type + " is neither a known short name nor a URI");
    }
    std::string problem;
    auto predicate = read_predicate(options.predicate, problem);
    if (!predicate) {
        return usage_error(command, problem);
    }
    auto ref = parse_reference(command, options.reference);
    if (!ref) {
        return exit_usage;
    }
    auto key = read_signing_key(options.key);
    if (!key.value) {
        return usage_error(command, key.problem);
    }
    crypto::batch_signer signer(std::move(*key.value));
    attest_plan plan{*ref, std::move(*type), std::move(*predicate)};
    return run_command(registries,
                       [&](registry_context& ctx) { return attest_image(ctx, signer, plan); });
}

int run_verify_attestation(const verify_attestation_options& options,
                           const registry_options& registries) {
    constexpr std::string_view command = "verify-attestation";
    auto type = predicate_type_of(options.type);
    if (!type) {
        return usage_error(command,
                           "--type " + options.type + " is neither a known short name nor a URI");
    }
    auto ref = parse_reference(command, options.reference);
    if (!ref) {
        return exit_usage;
    }
    auto keys = read_verification_keys(options.keys);
    if (!keys.value) {
        return usage_error(command, keys.problem);
    }
    verify_attestation_plan plan{*ref, std::move(*keys.value), std::move(*type)};
    return run_command(registries,
                       [&](registry_context& ctx) { return verify_attestations(ctx, plan); });
}

}  // namespace hoist::tools
