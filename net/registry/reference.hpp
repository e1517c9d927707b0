// SPDX-License-Identifier: Apache-2.0
/// Image references as docker, skopeo and crane write them:
/// `[registry[:port]/]repository[:tag][@sha256:hex]`, with Docker Hub's defaults.
#pragma once

#include "net/error.hpp"

#include <string>
#include <string_view>

namespace hoist::net::registry {

/// A repository within a registry.
struct repository_ref {
    std::string registry;    ///< "host[:port]" as the user wrote it; "docker.io" by default
    std::string repository;  ///< "library/nginx", "k8s-staging-foo/bar"

    /// "registry/repository".
    std::string to_string() const;
    friend bool operator==(const repository_ref&, const repository_ref&) = default;
    friend auto operator<=>(const repository_ref&, const repository_ref&) = default;
};

struct image_ref {
    repository_ref repo;
    std::string tag;     ///< empty when absent
    std::string digest;  ///< "sha256:<hex>", empty when absent

    /// The tag or digest to put in a manifests URL: the digest when both are given.
    std::string reference() const { return digest.empty() ? tag : digest; }
    /// "registry/repository[:tag][@digest]".
    std::string to_string() const;
};

/// Parses a reference. A first component with '.' or ':' or equal to "localhost" is a
/// registry; otherwise the registry is docker.io and one-component names get "library/".
/// Without tag or digest, `default_tag` is used ("latest" as docker does; pass "" to keep
/// the reference tagless). Errors: errc::bad_reference, saying what is wrong.
result<image_ref> parse_image_ref(std::string_view text, std::string_view default_tag = "latest");

/// Parses "registry/repository" (no tag or digest).
result<repository_ref> parse_repository_ref(std::string_view text);

/// The host that serves the registry API: docker.io is served by registry-1.docker.io.
std::string api_host(std::string_view registry);

/// Whether `name` is a valid repository path (lower-case components separated by '/').
bool is_valid_repository(std::string_view name);
/// Whether `tag` is a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool is_valid_tag(std::string_view tag);
/// A digest as a tag, ':' become '-' ("sha256-<hex>"): the referrers API's fallback tag,
/// and the stem of cosign's `.sig` and `.att` tags.
std::string digest_as_tag(std::string_view digest);

}  // namespace hoist::net::registry
