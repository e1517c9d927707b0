// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/manifest_origin.hpp"

#include "engine/manifest/diff_digests.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <filesystem>
#include <vector>

namespace hoist::engine {
namespace {

namespace fs = std::filesystem;

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

bool consume(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

std::string string_field(const nlohmann::json& object, const char* key) {
    auto found = object.find(key);
    return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

std::optional<std::string> git_https_uri(std::string_view remote) {
    remote = trimmed(remote);
    consume(remote, "git+");
    std::string scheme = "https";
    bool ssh_port = false;  // the port of an ssh or git remote is not the web server's
    if (consume(remote, "https://")) {
    } else if (consume(remote, "http://")) {
        scheme = "http";
    } else if (consume(remote, "ssh://") || consume(remote, "git://")) {
        ssh_port = true;
    } else if (remote.find("://") != std::string_view::npos) {
        return std::nullopt;  // file:// and the like
    } else {
        // scp-like "[user@]host:path"; with a slash before the colon it is a local path
        auto colon = remote.find(':');
        if (colon == std::string_view::npos ||
            remote.substr(0, colon).find('/') != std::string_view::npos) {
            return std::nullopt;
        }
        std::string rewritten(remote.substr(0, colon));
        rewritten += '/';
        rewritten += remote.substr(colon + 1);
        return git_https_uri("ssh://" + rewritten);
    }
    auto slash = remote.find('/');
    std::string_view authority = remote.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : remote.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
    }
    if (ssh_port) {
        authority = authority.substr(0, authority.find(':'));
    }
    path = path.substr(0, path.find_first_of("?#"));
    while (path.starts_with('/')) {
        path.remove_prefix(1);
    }
    while (path.ends_with('/')) {
        path.remove_suffix(1);
    }
    if (path.ends_with(".git")) {
        path.remove_suffix(4);
    }
    if (authority.empty() || path.empty()) {
        return std::nullopt;
    }
    return "git+" + scheme + "://" + std::string(authority) + "/" + std::string(path);
}

std::optional<std::string> job_spec_repository(std::string_view job_spec,
                                               std::string_view work_tree) {
    auto spec = nlohmann::json::parse(job_spec, nullptr, false);
    if (!spec.is_object()) {
        return std::nullopt;
    }
    std::vector<const nlohmann::json*> refs;
    if (auto main = spec.find("refs"); main != spec.end() && main->is_object()) {
        refs.push_back(&*main);
    }
    if (auto extra = spec.find("extra_refs"); extra != spec.end() && extra->is_array()) {
        for (const auto& ref : *extra) {
            if (ref.is_object()) {
                refs.push_back(&ref);
            }
        }
    }
    while (work_tree.ends_with('/')) {
        work_tree.remove_suffix(1);
    }
    for (const auto* ref : refs) {
        std::string org = string_field(*ref, "org");
        std::string repo = string_field(*ref, "repo");
        if (org.empty() || repo.empty()) {
            continue;
        }
        std::string alias = string_field(*ref, "path_alias");
        std::string clone = "/" + (alias.empty() ? org + "/" + repo : alias);
        if (!work_tree.ends_with(clone)) {
            continue;
        }
        std::string link = string_field(*ref, "repo_link");
        return git_https_uri(link.empty() ? "https://github.com/" + org + "/" + repo : link);
    }
    return std::nullopt;
}

manifest_locator::manifest_locator(std::string job_spec) : job_spec_(std::move(job_spec)) {}

const manifest_locator::work_tree* manifest_locator::known_tree_of(const fs::path& path) const {
    for (const auto& tree : trees_) {
        fs::path relative = path.lexically_relative(tree.root);
        if (relative.empty() || *relative.begin() == "..") {
            continue;
        }
        // A repository between the file and this root (a submodule, a clone inside the
        // checkout) is the file's own: known too, or to be asked about.
        std::error_code ignored;
        bool nested = false;
        for (fs::path directory = path.parent_path();
             !nested && directory != tree.root && directory.has_relative_path();
             directory = directory.parent_path()) {
            nested = fs::exists(directory / ".git", ignored);
        }
        if (!nested) {
            return &tree;
        }
    }
    return nullptr;
}

manifest_origin manifest_locator::locate(const std::string& file) {
    manifest_origin origin{file, std::nullopt, std::nullopt};
    std::error_code failed;
    fs::path absolute = fs::absolute(file, failed);
    if (failed) {
        return origin;
    }
    fs::path path = fs::weakly_canonical(absolute, failed);
    if (failed) {
        return origin;
    }
    const work_tree* tree = known_tree_of(path);
    if (tree == nullptr) {
        auto top = git_toplevel(path.parent_path().string());
        if (!top) {
            return origin;
        }
        work_tree found{fs::path(*top), std::nullopt, std::nullopt};
        if (auto head = run_git(*top, {"rev-parse", "--verify", "--quiet", "HEAD"})) {
            if (auto commit = trimmed(*head); !commit.empty()) {
                found.git_commit = std::string(commit);
            }
        }
        if (auto remote = run_git(*top, {"remote", "get-url", "origin"})) {
            found.uri = git_https_uri(*remote);
        }
        if (!found.uri && !job_spec_.empty()) {
            found.uri = job_spec_repository(job_spec_, *top);
        }
        trees_.push_back(std::move(found));
        tree = &trees_.back();
    }
    fs::path relative = path.lexically_relative(tree->root);
    if (relative.empty() || *relative.begin() == "..") {
        return origin;
    }
    origin.name = relative.generic_string();
    origin.uri = tree->uri;
    origin.git_commit = tree->git_commit;
    return origin;
}

}  // namespace hoist::engine
