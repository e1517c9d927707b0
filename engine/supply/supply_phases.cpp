// SPDX-License-Identifier: Apache-2.0
#include "engine/supply/supply_phases.hpp"

#include "crypto/batch_signer.hpp"
#include "crypto/bundle.hpp"
#include "crypto/dsse.hpp"
#include "crypto/error.hpp"
#include "crypto/intoto.hpp"
#include "crypto/simple_signing.hpp"
#include "crypto/slsa.hpp"
#include "engine/bounded.hpp"
#include "engine/manifest/manifest_origin.hpp"
#include "engine/supply/attestations.hpp"
#include "engine/supply/signatures.hpp"
#include "net/registry/manifest_parse.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

namespace hoist::engine {

namespace reg = net::registry;

namespace {

std::string count_text(std::size_t n, std::string_view what) {
    return std::to_string(n) + " " + std::string(what);
}

std::string hex_of(const std::string& digest) {
    return digest.substr(digest.find(':') + 1);
}

/// A source image the plan promotes, with the edges that take it somewhere.
struct source_image {
    std::string repository;  ///< "<registry>/<image>"
    std::string digest;
    std::vector<std::size_t> edges;
};

std::vector<source_image> images_to_promote(const promotion_run& run) {
    std::map<std::pair<std::string, std::string>, std::size_t> index;
    std::vector<source_image> images;
    const auto& set = *run.plan->edges;
    for (std::size_t i = 0; i < set.edges.size(); ++i) {
        if (run.plan->decisions[i].outcome != edge_outcome::promote) {
            continue;
        }
        const auto& edge = set.edges[i];
        auto key = std::make_pair(set.source_path(edge), edge.digest());
        auto [it, inserted] = index.try_emplace(key, images.size());
        if (inserted) {
            images.push_back({key.first, key.second, {}});
        }
        images[it->second].edges.push_back(i);
    }
    return images;
}

/// Records verdicts, blocks the edges of refused images, and sums up.
/// What a verdict tells the check of its source image that Sign and Attest consult: the
/// first refusal, or the first read that failed, stands.
void note_verdict(source_image_check& check, const image_verdict& verdict) {
    if (verdict.unread) {
        if (!check.unchecked) {
            check.unchecked =
                net::with_context(*verdict.unread, verdict.phase + " check of " + verdict.image);
        }
    } else if (!verdict.passed && !check.refusal) {
        check.refusal = verdict.phase + ": " + verdict.detail;
    }
}

std::string settle(promotion_run& run, std::string_view phase_name,
                   const std::vector<source_image>& images, std::vector<image_verdict>& verdicts) {
    std::size_t blocked = 0;
    std::size_t unchecked = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
        auto& verdict = verdicts[i];
        if (verdict.phase.empty()) {
            continue;  // not checked (mode off for its project)
        }
        auto& check = run.supply.source_checks[images[i].repository + "@" + images[i].digest];
        if (!check) {
            check = std::make_unique<source_image_check>();
            check->finished = true;
        }
        if (verdict.unread) {
            // Nothing is known against the image: its edges fail, and a later run asks again.
            ++unchecked;
            for (auto edge : images[i].edges) {
                run.plan->fail(edge, std::string(phase_name) + ": " + verdict.detail);
            }
        } else if (!verdict.passed) {
            ++blocked;
            for (auto edge : images[i].edges) {
                run.plan->block(edge, std::string(phase_name) + ": " + verdict.detail);
            }
        }
        note_verdict(*check, verdict);
        run.supply.verdicts.push_back(std::move(verdict));
    }
    std::string summary =
        count_text(images.size(), "source images checked, ") + count_text(blocked, "blocked");
    if (unchecked != 0) {
        summary += ", " + count_text(unchecked, "could not be checked");
    }
    return summary;
}

phase_outcome dry_run_stop(const promotion_run& run, phase_outcome outcome) {
    if (run.options.confirm) {
        return outcome;
    }
    bool refused = run.plan && run.plan->counts.blocked != 0;
    bool unchecked = run.plan && run.plan->counts.failed != 0;
    return {
        unchecked ? phase_status::failed
        : refused ? phase_status::refused
                  : phase_status::stopped,
        outcome.message + "; dry run complete, nothing was promoted (use --confirm to promote)"};
}

bool provenance_rules_on(const supply_options& o) {
    bool any_rule_on = o.provenance != check_mode::off;
    if (o.policy) {
        for (const auto& rule : o.policy->projects) {
            any_rule_on |= rule.mode.value_or(o.provenance) != check_mode::off;
        }
        if (o.policy->fallback) {
            any_rule_on |= o.policy->fallback->mode.value_or(o.provenance) != check_mode::off;
        }
    }
    return any_rule_on;
}

bool provenance_checked(const supply_options& o) {
    return provenance_rules_on(o) && !o.verify_keys.empty();
}

bool signatures_checked(const supply_options& o) {
    return o.validate != check_mode::off && !o.verify_keys.empty();
}

/// Provenance's verdict on one source image; `phase` is empty when its project's mode is off.
asio::awaitable<image_verdict> check_provenance(promotion_run& run, const source_image& image) {
    const auto& o = run.options.supply;
    const provenance_rule* rule = o.policy ? o.policy->rule_for(image.repository) : nullptr;
    check_mode mode = rule && rule->mode ? *rule->mode : o.provenance;
    image_verdict verdict{
        "provenance", image.repository + "@" + image.digest, true, {}, std::nullopt};
    if (mode == check_mode::off) {
        verdict.phase.clear();
        co_return verdict;
    }
    auto repo = reg::parse_repository_ref(image.repository);
    if (!repo) {
        co_return image_verdict{verdict.phase, verdict.image, false, repo.error().message(),
                                std::nullopt};
    }
    std::vector<found_attestation> found;
    auto legacy = co_await find_legacy_attestations(*run.client, *repo, image.digest, run.until);
    auto referred =
        co_await find_bundle_attestations(*run.client, *repo, image.digest, "", run.until);
    for (auto* list : {&legacy, &referred}) {
        if (!*list) {
            verdict.passed = false;
            verdict.detail = "cannot read attestations: " + list->error().message();
            verdict.unread = list->error();
            co_return verdict;
        }
        for (auto& item : **list) {
            found.push_back(std::move(item));
        }
    }
    std::vector<std::string> problems;
    std::size_t foreign = 0;
    for (const auto& attestation : found) {
        if (!attestation.unreadable.empty()) {
            // Unless it says it is something else, it may be the provenance: a check that
            // cannot read it cannot pass the image.
            const auto& hint = attestation.predicate_type_hint;
            if (hint.empty() || crypto::is_slsa_provenance(hint)) {
                problems.push_back(attestation.where + ": " + attestation.unreadable);
            }
            continue;
        }
        const auto& envelope = attestation.envelope;
        if (envelope.payload_type != crypto::intoto_payload_type) {
            continue;
        }
        bool verified =
            std::any_of(o.verify_keys.begin(), o.verify_keys.end(),
                        [&](const auto& key) { return crypto::verify_dsse(envelope, key); });
        if (!verified) {
            ++foreign;  // someone else's attestation: not ours to judge
            continue;
        }
        auto statement = crypto::parse_statement(envelope.payload);
        if (!statement) {
            problems.push_back(attestation.where + ": statement unreadable (" +
                               statement.error().message() + ")");
            continue;
        }
        if (!crypto::is_slsa_provenance(statement->predicate_type)) {
            continue;  // another predicate (SBOM, vulnerability scan): not provenance
        }
        if (!crypto::has_subject_digest(*statement, hex_of(image.digest))) {
            problems.push_back(attestation.where + ": provenance of another artifact");
            continue;
        }
        auto facts = crypto::provenance_facts_of(*statement);
        if (!facts) {
            problems.push_back(attestation.where + ": predicate refused (" +
                               facts.error().message() + ")");
            continue;
        }
        if (rule && !allowed_by(rule->builders, facts->builder_id)) {
            problems.push_back(attestation.where + ": builder \"" + facts->builder_id +
                               "\" is not allowed");
            continue;
        }
        if (rule && !rule->sources.empty() &&
            std::none_of(facts->source_uris.begin(), facts->source_uris.end(),
                         [&](const auto& uri) { return allowed_by(rule->sources, uri); })) {
            problems.push_back(attestation.where + ": no allowed source among " +
                               std::to_string(facts->source_uris.size()) + " named");
            continue;
        }
        verdict.detail = "SLSA provenance verified (" + attestation.where + ", builder " +
                         facts->builder_id + ")";
        co_return verdict;
    }
    if (!problems.empty()) {
        verdict.passed = false;
        for (const auto& problem : problems) {
            verdict.detail += (verdict.detail.empty() ? "" : "; ") + problem;
        }
        co_return verdict;
    }
    std::string none = "no SLSA provenance that verifies with --verify-key";
    if (foreign != 0) {
        none += " (" + count_text(foreign, "attestations whose signature does not verify ignored") +
                ")";
    }
    verdict.passed = mode != check_mode::required;
    verdict.detail = mode == check_mode::required ? none + "; required" : none + "; if present";
    co_return verdict;
}

/// Validate's verdict on one source image: its cosign signatures against --verify-key.
asio::awaitable<image_verdict> check_signatures(promotion_run& run, const source_image& image) {
    const auto& o = run.options.supply;
    image_verdict verdict{
        "validate", image.repository + "@" + image.digest, true, {}, std::nullopt};
    auto repo = reg::parse_repository_ref(image.repository);
    if (!repo) {
        co_return image_verdict{verdict.phase, verdict.image, false, repo.error().message(),
                                std::nullopt};
    }
    auto checked =
        co_await verify_signatures(*run.client, *repo, image.digest, o.verify_keys, run.until);
    if (checked && checked->verified.empty()) {
        // No `.sig` signature verifies (or there is none): one in the bundle format (cosign
        // v3's default) may.
        std::string type(cosign_sign_predicate_type);
        auto bundles =
            co_await find_bundle_attestations(*run.client, *repo, image.digest, type, run.until);
        if (!bundles) {
            checked = bundles.error();
        } else {
            for (const auto& bundle : *bundles) {
                checked->signed_at_all = true;
                auto statement = check_attestation(bundle, o.verify_keys, image.digest, type);
                if (statement.statement) {
                    checked->verified.push_back({});
                    checked->verified.back().docker_reference =
                        image.repository + " (bundle, " + bundle.where + ")";
                } else {
                    checked->rejected.push_back(statement.problem);
                }
            }
        }
    }
    if (!checked) {
        verdict.passed = false;
        verdict.detail = "cannot read signatures: " + checked.error().message();
        verdict.unread = checked.error();
    } else if (!checked->verified.empty()) {
        verdict.detail = "signature of " + checked->verified.front().docker_reference + " verified";
    } else if (!checked->signed_at_all) {
        verdict.passed = o.validate != check_mode::required;
        verdict.detail = verdict.passed ? "unsigned (allowed: --validate=if-present)"
                                        : "unsigned, and --validate=required";
    } else {
        verdict.passed = false;
        verdict.detail = "no signature verifies with --verify-key";
        for (const auto& why : checked->rejected) {
            verdict.detail += "; " + why;
        }
    }
    co_return verdict;
}

class provenance_phase final : public phase {
public:
    std::string_view name() const override { return "provenance"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        const auto& o = run.options.supply;
        if (!provenance_checked(o)) {
            co_return phase_outcome{phase_status::skipped,
                                    provenance_rules_on(o)
                                        ? "no --verify-key given: provenance not checked"
                                        : "--provenance=off"};
        }
        auto images = images_to_promote(run);
        if (images.empty()) {
            co_return phase_outcome{phase_status::skipped, "nothing to promote"};
        }
        std::vector<image_verdict> verdicts(images.size());
        run.work = {"images checked", images.size(), 0};
        co_await for_each_bounded(images.size(), o.parallel,
                                  [&](std::size_t i) -> asio::awaitable<void> {
                                      verdicts[i] = co_await check_provenance(run, images[i]);
                                      ++run.work.done;
                                  });
        co_return phase_outcome{phase_status::done, settle(run, name(), images, verdicts)};
    }
};

class validate_phase final : public phase {
public:
    std::string_view name() const override { return "validate"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        const auto& o = run.options.supply;
        if (!signatures_checked(o)) {
            co_return dry_run_stop(run,
                                   {phase_status::skipped,
                                    o.validate == check_mode::off
                                        ? "--validate=off"
                                        : "no --verify-key given: staging signatures not checked"});
        }
        auto images = images_to_promote(run);
        if (images.empty()) {
            co_return dry_run_stop(run, {phase_status::skipped, "nothing to promote"});
        }
        std::vector<image_verdict> verdicts(images.size());
        run.work = {"images checked", images.size(), 0};
        co_await for_each_bounded(images.size(), o.parallel,
                                  [&](std::size_t i) -> asio::awaitable<void> {
                                      verdicts[i] = co_await check_signatures(run, images[i]);
                                      ++run.work.done;
                                  });
        co_return dry_run_stop(run, {phase_status::done, settle(run, name(), images, verdicts)});
    }
};

/// Promoted (or already present) digests grouped by the identity they are signed as.
struct signing_group {
    std::string identity;
    std::string digest;
    /// A source repository path of the digest: one this run promoted from, if any.
    std::string source;
    /// The manifest listing the digest, from the same edge as `source` (set with it).
    const promotion_manifest* manifest = nullptr;
    std::vector<std::string> destinations;  ///< repository paths, canonical first
    std::set<std::string> tags;
    /// This run promoted an edge of the group, after Provenance and Validate passed it.
    /// Otherwise every edge was in place before the run, and nothing checked the image.
    bool promoted_now = false;
};

std::vector<signing_group> signing_groups(const promotion_run& run) {
    std::map<std::pair<std::string, std::string>, signing_group> groups;
    const auto& set = *run.plan->edges;
    for (std::size_t i = 0; i < set.edges.size(); ++i) {
        auto outcome = run.plan->decisions[i].outcome;
        bool done = outcome == edge_outcome::present ||
                    (outcome == edge_outcome::promote && run.promoted &&
                     run.promoted->edges[i].status == promote_status::promoted);
        if (!done) {
            continue;
        }
        const auto& edge = set.edges[i];
        const auto& tags = set.tags(edge);
        // Signatures and attestations promoted as images are not signed again.
        if (std::any_of(tags.begin(), tags.end(), [](const std::string& tag) {
                return tag.ends_with(".sig") || tag.ends_with(".att");
            })) {
            continue;
        }
        const auto& destination = set.destination_path(edge);
        auto identity = signing_identity(destination);
        auto& group = groups[{identity, edge.digest()}];
        bool promoted_now = outcome == edge_outcome::promote;
        if (group.identity.empty()) {
            group.identity = identity;
            group.digest = edge.digest();
        }
        if (group.source.empty() || (promoted_now && !group.promoted_now)) {
            group.source = set.source_path(edge);  // staging signatures come from a checked one
            group.manifest = edge.manifest;
        }
        group.promoted_now |= promoted_now;
        if (std::find(group.destinations.begin(), group.destinations.end(), destination) ==
            group.destinations.end()) {
            group.destinations.push_back(destination);
        }
        group.tags.insert(tags.begin(), tags.end());
    }
    std::vector<signing_group> out;
    out.reserve(groups.size());
    for (auto& [key, group] : groups) {
        std::sort(group.destinations.begin(), group.destinations.end(),
                  [](const std::string& a, const std::string& b) { return canonical_first(a, b); });
        out.push_back(std::move(group));
    }
    return out;
}

/// The checks Provenance and Validate give the images a run promotes, for the source image
/// of a group that was in place before the run, when Sign or Attest is about to write for
/// it: kpromo signs only what it promotes and checked, and hoist, which also completes the
/// signing an earlier run left undone, must not sign what it never checked (an image
/// copied in by hand, or promoted with the checks off). Once per image and run: what the
/// phases found of the same source image (through another edge) stands.
asio::awaitable<net::result<void>> check_present_image(promotion_run& run, std::string source,
                                                       std::string digest) {
    std::string key = source + "@" + digest;
    auto& slot = run.supply.source_checks[key];
    bool first = !slot;
    if (first) {
        slot = std::make_unique<source_image_check>();
    }
    source_image_check* check = slot.get();  // a std::map entry: it stays where it is
    if (first) {
        // Others wait on this entry: it is finished however this frame ends, a check cut
        // short counting as a refusal.
        struct finish_always {
            source_image_check* check;
            ~finish_always() {
                if (!check->finished) {
                    check->refusal = "the check did not complete";
                    check->finished = true;
                }
                check->waiters.notify_all();
            }
        } guard{check};
        source_image image{source, digest, {}};
        std::vector<image_verdict> verdicts;
        if (provenance_checked(run.options.supply)) {
            auto verdict = co_await check_provenance(run, image);
            verdicts.push_back(std::move(verdict));
        }
        if (signatures_checked(run.options.supply)) {
            auto verdict = co_await check_signatures(run, image);
            verdicts.push_back(std::move(verdict));
        }
        for (auto& verdict : verdicts) {
            if (verdict.phase.empty()) {
                continue;  // its project's mode is off
            }
            note_verdict(*check, verdict);
            run.supply.verdicts.push_back(std::move(verdict));
        }
        check->finished = true;
    }
    while (!check->finished) {
        if (co_await check->waiters.wait(run.until) != net::wait_status::notified) {
            co_return net::fail(net::errc::timeout, "waiting for the check of " + key);
        }
    }
    if (check->refusal) {
        co_return net::fail(
            crypto::make_error_code(crypto::errc::check_refused),
            "in place before this run, and its source " + key + " is refused: " + *check->refusal);
    }
    if (check->unchecked) {
        co_return net::with_context(*check->unchecked,
                                    "in place before this run, and its source could not be "
                                    "checked, so it is not signed");
    }
    co_return net::result<void>{};
}

/// What Sign and Attest ask before writing for `group`: nothing when this run promoted it
/// or checks nothing; otherwise check_present_image.
write_gate gate_for(promotion_run& run, const signing_group& group) {
    const auto& o = run.options.supply;
    if (group.promoted_now || (!provenance_checked(o) && !signatures_checked(o))) {
        return {};
    }
    return [&run, source = group.source, digest = group.digest]() {
        return check_present_image(run, source, digest);
    };
}

std::optional<phase_outcome> signing_skipped(const promotion_run& run) {
    if (!run.options.sign) {
        return phase_outcome{phase_status::skipped, "--sign=false"};
    }
    if (!run.options.supply.signing_key) {
        return phase_outcome{phase_status::skipped,
                             "no --signing-key given: promoted images are not signed"};
    }
    if (!run.plan) {
        return phase_outcome{phase_status::skipped, "nothing planned"};
    }
    return std::nullopt;
}

std::string signing_summary(const signing_counts& c, std::string_view what) {
    std::string text = count_text(c.digests, "digests: ") + count_text(c.written, what) +
                       " written, " + count_text(c.present, "present");
    if (c.carried != 0) {
        text += ", " + count_text(c.carried, "staging signatures carried");
    }
    if (c.refused != 0) {
        text += ", " + count_text(c.refused, "refused (in place before the run, checks failed)");
    }
    if (c.failed != 0) {
        text += ", " + count_text(c.failed, "failed");
    }
    return text;
}

/// Sorts out a group Sign or Attest could not finish: a refusal of its source image by the
/// checks blocks the group's edges, as Validate blocks the images it refuses; anything else
/// is a failure of the phase.
void settle_group_failure(promotion_run& run, signing_counts& counts, std::string_view phase_name,
                          const signing_group& group, const net::failure& failure) {
    if (failure.code == crypto::make_error_code(crypto::errc::check_refused)) {
        ++counts.refused;
        const auto& set = *run.plan->edges;
        for (std::size_t i = 0; i < set.edges.size(); ++i) {
            const auto& edge = set.edges[i];
            if (edge.digest() == group.digest &&
                signing_identity(set.destination_path(edge)) == group.identity) {
                run.plan->block(i, std::string(phase_name) + ": " + failure.detail);
            }
        }
        return;
    }
    ++counts.failed;
    run.supply.errors.push_back(std::string(phase_name) + " " + group.identity + "@" +
                                group.digest + ": " + failure.message());
}

/// Records that `tag` of `repo` is about to be written; returns whether it surely did not
/// exist before (so the writer need not read it first).
bool note_tag_write(promotion_run& run, const reg::repository_ref& repo, const std::string& tag) {
    bool absent = run.plan->tags.surely_absent(repo, tag);
    run.plan->tags.wrote(repo, tag);
    return absent;
}

/// What Sign and Attest know of `digest` in `repo` without asking: whether its referrers
/// tag exists, and its descriptor when Promote read the manifest. Records the referrers
/// tag as written, since the caller is about to attach.
attach_hints attach_hints_for(promotion_run& run, const reg::repository_ref& repo,
                              const std::string& digest) {
    attach_hints hints;
    hints.referrers_tag_absent = note_tag_write(run, repo, reg::digest_as_tag(digest));
    if (run.promoted) {
        if (auto facts = run.promoted->manifests.find(digest);
            facts != run.promoted->manifests.end()) {
            hints.subject =
                attestation_subject{digest, facts->second.media_type, facts->second.size};
        }
    }
    return hints;
}

/// The manifests an index at `digest` lists (none for an image): from what Promote read or
/// Plan's HEADs showed, else read from `repo`.
asio::awaitable<net::result<std::vector<std::string>>> index_children(
    promotion_run& run, const reg::repository_ref& repo, const std::string& digest) {
    if (run.promoted) {
        if (auto facts = run.promoted->manifests.find(digest);
            facts != run.promoted->manifests.end()) {
            co_return facts->second.children;
        }
    }
    if (run.plan && run.plan->image_manifests.contains(digest)) {
        co_return std::vector<std::string>();
    }
    auto top = co_await run.client->get_manifest(repo, digest, run.until);
    if (!top) {
        co_return top.error();
    }
    std::vector<std::string> children;
    if (auto parsed = reg::parse_manifest(top->body, top->media_type);
        parsed && parsed->is_index()) {
        for (const auto& child : parsed->manifests) {
            children.push_back(child.digest);
        }
    }
    co_return children;
}

class sign_phase final : public phase {
public:
    std::string_view name() const override { return "sign"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        if (auto skipped = signing_skipped(run)) {
            co_return *skipped;
        }
        auto groups = signing_groups(run);
        if (groups.empty()) {
            co_return phase_outcome{phase_status::skipped, "nothing promoted to sign"};
        }
        crypto::batch_signer signer(*run.options.supply.signing_key);
        auto& counts = run.supply.signatures;
        counts.digests = groups.size();
        std::set<std::string> claimed;  // "<repo>@<digest>": one writer per `.sig` tag
        // Digests that are groups of their own: an index's recursive signing leaves them
        // to their group, which also carries their staging signatures.
        for (const auto& group : groups) {
            group_tops.insert(group.destinations.front() + "@" + group.digest);
        }
        run.work = {"digests signed", groups.size(), 0};
        co_await for_each_bounded(
            groups.size(), run.options.supply.parallel,
            [&](std::size_t i) -> asio::awaitable<void> {
                auto done = co_await sign_group(run, signer, groups[i], claimed);
                if (!done) {
                    settle_group_failure(run, counts, "sign", groups[i], done.error());
                }
                ++run.work.done;
            });
        std::string summary = signing_summary(counts, "signatures");
        if (counts.failed != 0) {
            co_return phase_outcome{phase_status::failed, summary};
        }
        co_return phase_outcome{phase_status::done, summary};
    }

private:
    asio::awaitable<net::result<void>> sign_group(promotion_run& run, crypto::batch_signer& signer,
                                                  const signing_group& group,
                                                  std::set<std::string>& claimed) {
        auto& counts = run.supply.signatures;
        auto repo = reg::parse_repository_ref(group.destinations.front());
        if (!repo) {
            co_return repo.error();
        }
        std::vector<std::string> targets{group.digest};
        auto children = co_await index_children(run, *repo, group.digest);
        if (!children) {
            co_return children.error();
        }
        // containers/image checks the children, never the index: sign each of them.
        for (const auto& child : *children) {
            if (!group_tops.contains(group.destinations.front() + "@" + child)) {
                targets.push_back(child);
            }
        }
        std::map<std::string, std::string> annotations{
            {std::string(promoter_annotation), "hoist-" + run.options.supply.promoter_version}};
        if (run.options.supply.bundle_signatures) {
            // The staging signatures are `.sig` layers whatever format hoist signs in:
            // they travel as such, beside the bundles.
            if (claimed.insert(repo->to_string() + "@" + group.digest + " .sig").second) {
                signing_request request{*repo, group.digest, group.identity, annotations,
                                        {},    {},           false};
                if (auto found = co_await add_staging_layers(run, group, request); !found) {
                    co_return found.error();
                }
                if (!request.carried.empty()) {
                    bool absent = note_tag_write(run, *repo, signature_tag(group.digest));
                    auto outcome = co_await add_signature(*run.client, signer, std::move(request),
                                                          run.until, absent, gate_for(run, group));
                    if (!outcome) {
                        co_return outcome.error();
                    }
                    counts.carried += outcome->carried_now;
                }
            }
            co_return co_await sign_as_bundles(run, signer, *repo, targets, annotations, claimed,
                                               gate_for(run, group));
        }
        // Each target has a `.sig` tag of its own: an index and its children are signed
        // side by side.
        co_return co_await for_each_bounded_checked(
            targets.size(), targets.size(), [&](std::size_t t) {
                return sign_target(run, signer, group, *repo, targets[t], t == 0, annotations,
                                   claimed);
            });
    }

    static asio::awaitable<net::result<void>> sign_target(
        promotion_run& run, crypto::batch_signer& signer, const signing_group& group,
        const reg::repository_ref& repo, const std::string& digest, bool top,
        const std::map<std::string, std::string>& annotations, std::set<std::string>& claimed) {
        if (!claimed.insert(repo.to_string() + "@" + digest).second) {
            co_return net::result<void>{};
        }
        signing_request request{repo, digest, group.identity, annotations, {}, {}, true};
        if (top) {
            // kpromo carries the staging signature of the top digest only.
            if (auto found = co_await add_staging_layers(run, group, request); !found) {
                co_return found.error();
            }
        }
        bool absent = note_tag_write(run, repo, signature_tag(digest));
        auto outcome = co_await add_signature(*run.client, signer, std::move(request), run.until,
                                              absent, gate_for(run, group));
        if (!outcome) {
            co_return outcome.error();
        }
        auto& counts = run.supply.signatures;
        counts.carried += outcome->carried_now;
        ++(outcome->signed_now ? counts.written : counts.present);
        co_return net::result<void>{};
    }

    /// The simple-signing layers of the staging image's `.sig`, to be carried by `request`.
    static asio::awaitable<net::result<void>> add_staging_layers(promotion_run& run,
                                                                 const signing_group& group,
                                                                 signing_request& request) {
        auto source = reg::parse_repository_ref(group.source);
        if (!source) {
            co_return net::result<void>{};
        }
        // Plan listed the staging repository and saw no `.sig` of this digest. A listing
        // that lags behind is harmless here: a signature missed is only not carried. The
        // checks of Validate and Provenance read the tag whatever a listing says.
        if (run.plan->tags.surely_absent(*source, signature_tag(group.digest))) {
            co_return net::result<void>{};
        }
        auto staging =
            co_await read_signature_manifest(*run.client, *source, group.digest, run.until);
        if (!staging) {
            co_return staging.error();
        }
        if (*staging) {
            for (auto& layer : (*staging)->layers) {
                if (layer.media_type == crypto::simple_signing_media_type) {
                    request.carried.push_back(std::move(layer));
                }
            }
            request.carried_from = *source;
        }
        co_return net::result<void>{};
    }

    std::set<std::string> group_tops;

    static asio::awaitable<net::result<void>> sign_as_bundles(
        promotion_run& run, crypto::batch_signer& signer, const reg::repository_ref& repo,
        const std::vector<std::string>& targets,
        const std::map<std::string, std::string>& annotations, std::set<std::string>& claimed,
        write_gate before_write) {
        auto& counts = run.supply.signatures;
        std::string created = utc_timestamp_now();
        for (const auto& digest : targets) {
            if (!claimed.insert(repo.to_string() + "@" + digest).second) {
                continue;
            }
            // The promoter's annotation, as kpromo puts it in the legacy payload's `optional`.
            auto statement = signature_statement(digest, annotations);
            if (!statement) {
                co_return statement.error();
            }
            std::optional<std::string> bundle;
            auto wrote = co_await attach_statement_bundle(
                *run.client, signer, repo, digest, std::string(cosign_sign_predicate_type),
                *statement, bundle, duplicate_rule::same_statement, created, run.until,
                attach_hints_for(run, repo, digest), before_write);
            if (!wrote) {
                co_return wrote.error();
            }
            ++(*wrote ? counts.written : counts.present);
        }
        co_return net::result<void>{};
    }
};

class attest_phase final : public phase {
public:
    std::string_view name() const override { return "attest"; }

    asio::awaitable<phase_outcome> run(promotion_run& run) override {
        if (auto skipped = signing_skipped(run)) {
            co_return *skipped;
        }
        auto groups = signing_groups(run);
        if (groups.empty()) {
            co_return phase_outcome{phase_status::skipped, "nothing promoted to attest"};
        }
        crypto::batch_signer signer(*run.options.supply.signing_key);
        auto& counts = run.supply.attestations;
        counts.digests = groups.size();
        std::string timestamp = utc_timestamp_now();
        auto origins = manifest_origins(groups);
        run.work = {"digests attested", groups.size(), 0};
        co_await for_each_bounded(
            groups.size(), run.options.supply.parallel,
            [&](std::size_t i) -> asio::awaitable<void> {
                auto record =
                    promotion_record(run, groups[i], timestamp, origins.at(groups[i].manifest));
                auto done = co_await attest_group(run, signer, groups[i], record, timestamp);
                if (!done) {
                    settle_group_failure(run, counts, "attest", groups[i], done.error());
                }
                ++run.work.done;
            });
        std::string summary = signing_summary(counts, "attestations");
        if (counts.failed != 0) {
            co_return phase_outcome{phase_status::failed, summary};
        }
        co_return phase_outcome{phase_status::done, summary};
    }

private:
    using origin_map = std::map<const promotion_manifest*, manifest_origin>;

    /// Where each manifest listing a group's digest sits in git; asked once per manifest,
    /// before the writes start, since it runs git.
    static origin_map manifest_origins(const std::vector<signing_group>& groups) {
        origin_map origins;
        const char* job_spec = std::getenv("JOB_SPEC");
        manifest_locator locator(job_spec == nullptr ? "" : job_spec);
        for (const auto& group : groups) {
            if (!origins.contains(group.manifest)) {
                origins.emplace(group.manifest, locator.locate(group.manifest->images_file));
            }
        }
        return origins;
    }

    static nlohmann::json promotion_record(const promotion_run& run, const signing_group& group,
                                           const std::string& timestamp,
                                           const manifest_origin& origin) {
        const auto& o = run.options.supply;
        nlohmann::json digest_map = {{"sha256", hex_of(group.digest)}};
        nlohmann::json record = {
            {"srcRef", group.source + "@" + group.digest},
            {"dstRef", group.identity},
            {"digest", group.digest},
            {"timestamp", timestamp},
            {"builderId", o.builder_id},
            {"source", {{"name", group.source}, {"digest", digest_map}}},
            {"destination", {{"name", group.identity}, {"digest", digest_map}}},
            {"promoter", {{"version", o.promoter_version}}},
        };
        if (!group.tags.empty()) {
            record["tags"] = group.tags;  // a std::set: sorted, as kpromo writes them
        }
        nlohmann::json manifest = {{"name", origin.name}};
        if (origin.uri) {
            manifest["uri"] = *origin.uri;
        }
        if (origin.git_commit) {
            manifest["digest"] = {{"gitCommit", *origin.git_commit}};
        }
        record["manifest"] = std::move(manifest);
        if (!o.promoter_commit.empty()) {
            record["promoter"]["gitCommit"] = o.promoter_commit;
        }
        // Prow's job variables, when the promotion runs as a Prow job (JOB_NAME set).
        const char* job_name = std::getenv("JOB_NAME");
        if (job_name != nullptr && *job_name != '\0') {
            nlohmann::json job = nlohmann::json::object();
            for (auto [variable, field] : {std::pair{"JOB_NAME", "name"},
                                           {"JOB_TYPE", "type"},
                                           {"BUILD_ID", "buildId"},
                                           {"PROW_JOB_ID", "prowJobId"}}) {
                if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') {
                    job[field] = value;
                }
            }
            record["job"] = std::move(job);
        }
        return record;
    }

    static asio::awaitable<net::result<void>> attest_group(promotion_run& run,
                                                           crypto::batch_signer& signer,
                                                           const signing_group& group,
                                                           const nlohmann::json& record,
                                                           const std::string& timestamp) {
        auto& counts = run.supply.attestations;
        auto statement =
            crypto::statement_json({{group.identity, {{"sha256", hex_of(group.digest)}}}},
                                   promotion_predicate_type, record);
        if (!statement) {
            co_return net::fail(statement.error(), "promotion statement");
        }
        // One signature for the group, attached to every destination repository lacking it.
        std::optional<std::string> bundle;
        for (const auto& destination : group.destinations) {
            auto repo = reg::parse_repository_ref(destination);
            if (!repo) {
                co_return repo.error();
            }
            auto wrote = co_await attach_statement_bundle(
                *run.client, signer, *repo, group.digest, std::string(promotion_predicate_type),
                *statement, bundle, duplicate_rule::same_predicate_type, timestamp, run.until,
                attach_hints_for(run, *repo, group.digest), gate_for(run, group));
            if (!wrote) {
                co_return net::with_context(wrote.error(), destination);
            }
            ++(*wrote ? counts.written : counts.present);
        }
        co_return net::result<void>{};
    }
};

}  // namespace

std::string signing_identity(std::string_view destination_path) {
    constexpr std::string_view marker = "k8s-artifacts-prod/images";
    auto at = destination_path.find(marker);
    if (at == std::string_view::npos) {
        return std::string(destination_path);
    }
    return "registry.k8s.io" + std::string(destination_path.substr(at + marker.size()));
}

net::result<std::string> signature_statement(
    const std::string& digest, const std::map<std::string, std::string>& annotations) {
    auto statement = crypto::statement_json({{"", {{"sha256", hex_of(digest)}}}},
                                            cosign_sign_predicate_type, nlohmann::json::object());
    if (!statement) {
        return net::fail(statement.error(), "statement for " + digest);
    }
    if (annotations.empty()) {
        return std::move(*statement);
    }
    // Subject annotations follow `digest`, where Go's ResourceDescriptor puts them.
    auto json = nlohmann::ordered_json::parse(*statement);
    json["subject"][0]["annotations"] = annotations;
    return json.dump();
}

bool canonical_first(std::string_view a, std::string_view b) {
    constexpr std::string_view canonical = "us-central1-docker.pkg.dev";
    bool a_canonical = a.starts_with(canonical);
    bool b_canonical = b.starts_with(canonical);
    if (a_canonical != b_canonical) {
        return a_canonical;
    }
    return a < b;
}

std::unique_ptr<phase> make_provenance_phase() {
    return std::make_unique<provenance_phase>();
}
std::unique_ptr<phase> make_validate_phase() {
    return std::make_unique<validate_phase>();
}
std::unique_ptr<phase> make_sign_phase() {
    return std::make_unique<sign_phase>();
}
std::unique_ptr<phase> make_attest_phase() {
    return std::make_unique<attest_phase>();
}

}  // namespace hoist::engine
