// SPDX-License-Identifier: Apache-2.0
// Planning against a registry that maps digests to tags in tags/list, as GCR and Artifact
// Registry do (docker-registry cannot): the listings alone decide every edge, with no
// HEAD, including tag moves and lost digests.
#include "engine/manifest/manifest.hpp"
#include "engine/manifest/yaml_tree.hpp"
#include "engine/plan/edges.hpp"
#include "engine/plan/plan.hpp"
#include "tests/support/client_harness.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>

#include <map>

namespace hoist {
namespace {

using testsupport::reply;
using testsupport::scripted_request;
using testsupport::scripted_response;

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');
const std::string digest_c = "sha256:" + std::string(64, 'c');
const std::string digest_x = "sha256:" + std::string(64, 'e');

std::string gcr_listing(const std::string& name,
                        const std::map<std::string, std::vector<std::string>>& tags_of) {
    std::string manifests;
    std::string tags;
    for (const auto& [digest, list] : tags_of) {
        std::string tag_array;
        for (const auto& tag : list) {
            tag_array += (tag_array.empty() ? "\"" : ",\"") + tag + "\"";
            tags += (tags.empty() ? "\"" : ",\"") + tag + "\"";
        }
        manifests += (manifests.empty() ? "\"" : ",\"") + digest +
                     "\":{\"imageSizeBytes\":\"1\",\"mediaType\":"
                     "\"application/vnd.oci.image.manifest.v1+json\",\"tag\":[" +
                     tag_array + "],\"timeCreatedMs\":\"0\",\"timeUploadedMs\":\"0\"}";
    }
    return "{\"child\":[],\"manifest\":{" + manifests + "},\"name\":\"" + name + "\",\"tags\":[" +
           tags + "]}";
}

scripted_response fake_gcr(const scripted_request& request) {
    net::header_list json{{"content-type", "application/json"}};
    if (request.target == "/v2/") {
        return reply(200, json, "{}");
    }
    if (request.target.starts_with("/v2/staging/app/tags/list")) {
        return reply(200, json, gcr_listing("staging/app", {{digest_a, {"1.0"}}, {digest_b, {}}}));
    }
    if (request.target.starts_with("/v2/prod/app/tags/list")) {
        return reply(200, json,
                     gcr_listing("prod/app", {{digest_a, {"1.0"}}, {digest_x, {"2.0"}}}));
    }
    return reply(404, json, R"({"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]})");
}

TEST(PlanWithDigestMap, ListingsAloneDecideEveryEdge) {
    testsupport::scripted_server server(fake_gcr);
    std::string text = "registries:\n- name: " + server.host_port() + "/staging\n  src: true\n" +
                       "- name: " + server.host_port() + "/prod\nimages:\n- name: app\n  dmap:\n" +
                       "    \"" + digest_a + "\": [\"1.0\"]\n" +  // present
                       "    \"" + digest_b + "\": []\n" +         // tagless, to promote
                       "    \"" + digest_c + "\": [\"3.0\"]\n" +  // lost: not in staging
                       "- name: app\n  dmap:\n    \"" + digest_a + "\": [\"2.0\"]\n";  // on x: move
    engine::diagnostics problems;
    auto document = engine::load_yaml(text, "m.yaml", problems);
    std::vector<engine::promotion_manifest> manifests{
        engine::decode_plain_manifest(document, "m.yaml", problems)};
    ASSERT_TRUE(problems.empty());
    engine::merge_repeated_images(manifests[0]);
    auto edges = engine::compute_edges(manifests);
    ASSERT_EQ(edges.edges.size(), 3u);

    testsupport::client_setup setup;
    auto plan = testsupport::run_client<engine::promotion_plan>(
        setup, [&](net::registry::registry_client& client) {
            return engine::make_plan(client, edges, engine::plan_options{},
                                     net::deadline::from_now(std::chrono::seconds(20)));
        });
    std::map<std::string, engine::edge_outcome> outcome;
    for (std::size_t i = 0; i < edges.edges.size(); ++i) {
        outcome[edges.edges[i].digest()] = plan.decisions[i].outcome;
    }
    // digest a carries 1.0 (present) and 2.0, which prod has on x: the edge is a tag move.
    EXPECT_EQ(outcome[digest_a], engine::edge_outcome::tag_move);
    EXPECT_EQ(outcome[digest_b], engine::edge_outcome::promote);
    EXPECT_EQ(outcome[digest_c], engine::edge_outcome::lost);
    EXPECT_EQ(plan.requests.listings, 2u);
    EXPECT_EQ(plan.requests.heads, 0u);
    for (const auto& request : server.requests()) {
        EXPECT_NE(request.method, "HEAD") << request.target;
    }
}

}  // namespace
}  // namespace hoist
