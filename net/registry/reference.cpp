// SPDX-License-Identifier: Apache-2.0
#include "net/registry/reference.hpp"

#include "net/registry/manifest_parse.hpp"

namespace hoist::net::registry {
namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+ with '.', '_', '__' or runs of '-' between alphanumerics.
bool is_valid_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) {
        return false;
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
        char ch = c[i];
        if (is_lower_alnum(ch)) {
            continue;
        }
        if (ch == '.' || ch == '_') {
            std::size_t run = 1;
            while (i + run < c.size() && c[i + run] == ch) {
                ++run;
            }
            bool ok = ch == '.' ? run == 1 : run <= 2;
            if (!ok || !is_lower_alnum(c[i + run])) {
                return false;
            }
            i += run - 1;
            continue;
        }
        if (ch == '-') {
            std::size_t run = 1;
            while (i + run < c.size() && c[i + run] == '-') {
                ++run;
            }
            if (!is_lower_alnum(c[i + run])) {
                return false;
            }
            i += run - 1;
            continue;
        }
        return false;
    }
    return true;
}

bool is_valid_registry(std::string_view host) {
    if (host.empty()) {
        return false;
    }
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
        if (!ok) {
            return false;
        }
    }
    return true;
}

failure bad(std::string_view text, std::string why) {
    return fail(errc::bad_reference, "\"" + std::string(text) + "\": " + std::move(why));
}

}  // namespace

std::string repository_ref::to_string() const {
    return registry + "/" + repository;
}

std::string image_ref::to_string() const {
    std::string out = repo.to_string();
    if (!tag.empty()) {
        out += ":" + tag;
    }
    if (!digest.empty()) {
        out += "@" + digest;
    }
    return out;
}

bool is_valid_repository(std::string_view name) {
    if (name.empty() || name.size() > 255) {
        return false;
    }
    std::size_t start = 0;
    for (;;) {
        auto slash = name.find('/', start);
        if (!is_valid_component(name.substr(start, slash - start))) {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        start = slash + 1;
    }
}

bool is_valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > 128) {
        return false;
    }
    auto word = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    };
    if (!word(tag.front())) {
        return false;
    }
    for (char c : tag) {
        if (!word(c) && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

result<repository_ref> parse_repository_ref(std::string_view text) {
    auto parsed = parse_image_ref(text, "");
    if (!parsed) {
        return parsed.error();
    }
    if (!parsed->tag.empty() || !parsed->digest.empty()) {
        return bad(text, "expected a repository without tag or digest");
    }
    return parsed->repo;
}

result<image_ref> parse_image_ref(std::string_view text, std::string_view default_tag) {
    image_ref out;
    std::string_view rest = text;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        out.digest = std::string(rest.substr(at + 1));
        rest = rest.substr(0, at);
        if (!is_valid_digest(out.digest)) {
            return bad(text, "digest must be sha256:<64 lower-case hex digits>");
        }
    }
    // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
    auto last_slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || colon > last_slash)) {
        out.tag = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
        if (!is_valid_tag(out.tag)) {
            return bad(text, "invalid tag \"" + out.tag + "\"");
        }
    }
    auto first_slash = rest.find('/');
    std::string_view first = rest.substr(0, first_slash);
    bool has_registry = first_slash != std::string_view::npos &&
                        (first.find_first_of(".:") != std::string_view::npos ||
                         first == "localhost" || first.starts_with("["));
    if (has_registry) {
        if (!is_valid_registry(first)) {
            return bad(text, "invalid registry \"" + std::string(first) + "\"");
        }
        out.repo.registry = std::string(first);
        out.repo.repository = std::string(rest.substr(first_slash + 1));
    } else {
        out.repo.registry = "docker.io";
        out.repo.repository = std::string(rest);
        if (first_slash == std::string_view::npos) {
            out.repo.repository = "library/" + out.repo.repository;
        }
    }
    if (!is_valid_repository(out.repo.repository)) {
        return bad(text, "invalid repository \"" + out.repo.repository +
                             "\" (lower-case letters, digits and separators . _ __ - only)");
    }
    if (out.tag.empty() && out.digest.empty()) {
        out.tag = std::string(default_tag);
    }
    return out;
}

std::string api_host(std::string_view registry) {
    if (registry == "docker.io" || registry == "index.docker.io") {
        return "registry-1.docker.io";
    }
    return std::string(registry);
}

std::string digest_as_tag(std::string_view digest) {
    std::string tag(digest);
    if (auto colon = tag.find(':'); colon != std::string::npos) {
        tag[colon] = '-';
    }
    return tag;
}

}  // namespace hoist::net::registry
