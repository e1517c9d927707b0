// SPDX-License-Identifier: Apache-2.0
/// The OCI 1.1 referrers API, kept by the fault proxy for an upstream registry that lacks
/// it (docker-registry 2.8), so that tests reach hoist's path for registries that have it
/// (Artifact Registry, Harbor, zot, distribution 3), none of which Debian packages: a
/// manifest PUT that names a `subject` and that the upstream stored is indexed, and its
/// answer gets the `OCI-Subject` header; `GET /v2/<name>/referrers/<digest>` is answered
/// from the index, filtered by `artifactType` as the distribution spec says. The index
/// holds only what went through the proxy. Used from the proxy's one io thread.
#pragma once

#include "net/http_client.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::testkit {

class referrers_api {
public:
    /// `page_size`: referrers per answer, the rest behind a `Link: <…>; rel="next"`
    /// header as the distribution spec allows (0: all in one answer).
    explicit referrers_api(std::size_t page_size = 0) : page_size_(page_size) {}

    /// The answer to `GET target` when `target` is a referrers listing; nullopt otherwise.
    std::optional<net::http_response> answer(std::string_view method,
                                             std::string_view target) const;

    /// After the upstream answered a manifest PUT: indexes a stored manifest that names a
    /// subject and adds `OCI-Subject` to `response`.
    void note_put(std::string_view method, std::string_view target, std::string_view body,
                  std::string_view content_type, net::http_response& response);

private:
    struct referrer {
        std::string digest;
        std::string artifact_type;
        std::string descriptor;  ///< its entry in a listing, as JSON text
    };
    std::size_t page_size_;
    /// "<repository>@<subject digest>" → its referrers, in order of arrival.
    std::map<std::string, std::vector<referrer>> index_;
};

}  // namespace hoist::testkit
