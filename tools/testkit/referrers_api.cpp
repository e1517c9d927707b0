// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/referrers_api.hpp"

#include "crypto/sha256.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

namespace hoist::testkit {
namespace {

using json = nlohmann::json;

/// "/v2/<repository>/<kind>/<reference>[?query]", split.
struct api_path {
    std::string repository;
    std::string reference;
    std::string query;
};

std::optional<api_path> split_api_path(std::string_view target, std::string_view kind) {
    std::string_view query;
    if (auto mark = target.find('?'); mark != std::string_view::npos) {
        query = target.substr(mark + 1);
        target = target.substr(0, mark);
    }
    constexpr std::string_view root = "/v2/";
    std::string marker = "/" + std::string(kind) + "/";
    auto at = target.rfind(marker);
    if (!target.starts_with(root) || at == std::string_view::npos || at <= root.size()) {
        return std::nullopt;
    }
    return api_path{std::string(target.substr(root.size(), at - root.size())),
                    std::string(target.substr(at + marker.size())), std::string(query)};
}

/// The value of `key` in an `a=b&c=d` query, as sent (hoist and cosign send media types
/// unescaped).
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        auto end = query.find('&');
        std::string_view pair = query.substr(0, end);
        if (auto equals = pair.find('=');
            equals != std::string_view::npos && pair.substr(0, equals) == key) {
            return std::string(pair.substr(equals + 1));
        }
        if (end == std::string_view::npos) {
            break;
        }
        query.remove_prefix(end + 1);
    }
    return std::nullopt;
}

std::string string_member(const json& object, const char* key) {
    auto found = object.find(key);
    return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

std::optional<net::http_response> referrers_api::answer(std::string_view method,
                                                        std::string_view target) const {
    auto path = split_api_path(target, "referrers");
    if (method != "GET" || !path) {
        return std::nullopt;
    }
    auto artifact_type = query_value(path->query, "artifactType");
    // `page` is this fake's own cursor: the index of the first entry of the answer.
    std::size_t first = 0;
    if (auto page = query_value(path->query, "page")) {
        first = std::strtoull(page->c_str(), nullptr, 10);
    }
    std::vector<const referrer*> matching;
    if (auto listed = index_.find(path->repository + "@" + path->reference);
        listed != index_.end()) {
        for (const auto& entry : listed->second) {
            if (!artifact_type || entry.artifact_type == *artifact_type) {
                matching.push_back(&entry);
            }
        }
    }
    std::size_t end =
        page_size_ == 0 ? matching.size() : std::min(matching.size(), first + page_size_);
    std::string manifests;
    for (std::size_t i = first; i < end; ++i) {
        manifests += (manifests.empty() ? "" : ",") + matching[i]->descriptor;
    }
    net::http_response response;
    response.status = 200;
    response.headers.push_back({"content-type", "application/vnd.oci.image.index.v1+json"});
    if (artifact_type) {
        response.headers.push_back({"oci-filters-applied", "artifactType"});
    }
    if (end < matching.size()) {
        std::string next = "/v2/" + path->repository + "/referrers/" + path->reference +
                           "?page=" + std::to_string(end);
        if (artifact_type) {
            next += "&artifactType=" + *artifact_type;
        }
        response.headers.push_back({"link", "<" + next + ">; rel=\"next\""});
    }
    response.body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
                    R"("manifests":[)" +
                    manifests + "]}";
    return response;
}

void referrers_api::note_put(std::string_view method, std::string_view target,
                             std::string_view body, std::string_view content_type,
                             net::http_response& response) {
    auto path = split_api_path(target, "manifests");
    if (method != "PUT" || !path || response.status != 201) {
        return;
    }
    auto manifest = json::parse(body, nullptr, false);
    if (!manifest.is_object()) {
        return;
    }
    auto subject = manifest.find("subject");
    if (subject == manifest.end() || !subject->is_object() ||
        string_member(*subject, "digest").empty()) {
        return;
    }
    std::string subject_digest = string_member(*subject, "digest");
    auto announced = response.header("docker-content-digest");
    std::string digest = announced ? std::string(*announced) : crypto::digest_of(body);
    std::string media_type = string_member(manifest, "mediaType");
    std::string artifact_type = string_member(manifest, "artifactType");
    if (artifact_type.empty() && manifest.contains("config") && manifest["config"].is_object()) {
        artifact_type = string_member(manifest["config"], "mediaType");
    }
    json descriptor = {{"mediaType", media_type.empty() ? std::string(content_type) : media_type},
                       {"digest", digest},
                       {"size", body.size()}};
    if (!artifact_type.empty()) {
        descriptor["artifactType"] = artifact_type;
    }
    if (auto annotations = manifest.find("annotations");
        annotations != manifest.end() && annotations->is_object()) {
        descriptor["annotations"] = *annotations;
    }
    auto& listed = index_[path->repository + "@" + subject_digest];
    if (std::none_of(listed.begin(), listed.end(),
                     [&](const referrer& known) { return known.digest == digest; })) {
        listed.push_back({digest, artifact_type, descriptor.dump()});
    }
    response.headers.push_back({"oci-subject", subject_digest});
}

}  // namespace hoist::testkit
