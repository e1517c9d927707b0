// SPDX-License-Identifier: Apache-2.0
#include "engine/supply/provenance_policy.hpp"

#include "engine/manifest/yaml_tree.hpp"

namespace hoist::engine {

namespace {

class policy_reader {
public:
    policy_reader(const std::string& file, diagnostics& problems)
        : file_(file), problems_(problems) {}

    std::optional<provenance_rule> rule(const yaml_node& node, bool is_project) {
        if (node.type != yaml_node::kind::mapping) {
            error(node, std::string("expected a mapping, found ") + std::string(describe(node)));
            return std::nullopt;
        }
        provenance_rule rule;
        bool ok = true;
        for (std::size_t i = 0; i < node.mapping_size(); ++i) {
            const auto& key = node.key(i).text;
            const auto& value = node.value(i);
            if (key == "source" && is_project) {
                ok &= string(value, rule.source);
            } else if (key == "mode") {
                std::string text;
                if (string(value, text)) {
                    rule.mode = parse_check_mode(text);
                    if (!rule.mode) {
                        error(value,
                              "mode must be required, if-present or off, not \"" + text + "\"");
                        ok = false;
                    }
                } else {
                    ok = false;
                }
            } else if (key == "builders") {
                ok &= strings(value, rule.builders);
            } else if (key == "sources") {
                ok &= strings(value, rule.sources);
            } else {
                error(node.key(i), "unknown key \"" + key + "\" (expected " +
                                       (is_project ? "source, " : "") + "mode, builders, sources)");
                ok = false;
            }
        }
        if (is_project && rule.source.empty() && ok) {
            error(node, "a project needs a non-empty source (a repository prefix)");
            ok = false;
        }
        return ok ? std::optional(std::move(rule)) : std::nullopt;
    }

    void error(const yaml_node& node, std::string message) {
        problems_.add(file_, node.at, std::move(message));
    }

private:
    bool string(const yaml_node& node, std::string& out) {
        if (node.type != yaml_node::kind::scalar) {
            error(node, std::string("expected a string, found ") + std::string(describe(node)));
            return false;
        }
        out = node.text;
        return true;
    }
    bool strings(const yaml_node& node, std::vector<std::string>& out) {
        if (node.type == yaml_node::kind::null) {
            return true;
        }
        if (node.type != yaml_node::kind::sequence) {
            error(node,
                  std::string("expected a list of strings, found ") + std::string(describe(node)));
            return false;
        }
        bool ok = true;
        for (const auto& item : node.items) {
            std::string text;
            if (string(item, text) && !text.empty()) {
                out.push_back(std::move(text));
            } else {
                if (text.empty() && item.type == yaml_node::kind::scalar) {
                    error(item, "an empty pattern matches nothing; remove it");
                }
                ok = false;
            }
        }
        return ok;
    }

    const std::string& file_;
    diagnostics& problems_;
};

bool is_path_prefix(std::string_view prefix, std::string_view path) {
    if (!path.starts_with(prefix)) {
        return false;
    }
    return path.size() == prefix.size() || prefix.ends_with('/') || path[prefix.size()] == '/';
}

}  // namespace

std::string_view to_string(check_mode mode) {
    switch (mode) {
        case check_mode::required:
            return "required";
        case check_mode::if_present:
            return "if-present";
        case check_mode::off:
            return "off";
    }
    return "unknown";
}

std::optional<check_mode> parse_check_mode(std::string_view text) {
    if (text == "required") {
        return check_mode::required;
    }
    if (text == "if-present") {
        return check_mode::if_present;
    }
    if (text == "off") {
        return check_mode::off;
    }
    return std::nullopt;
}

bool allowed_by(const std::vector<std::string>& patterns, std::string_view value) {
    if (patterns.empty()) {
        return true;
    }
    for (const auto& pattern : patterns) {
        if (pattern.ends_with('*')) {
            if (value.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1))) {
                return true;
            }
        } else if (value == pattern) {
            return true;
        }
    }
    return false;
}

const provenance_rule* provenance_policy::rule_for(std::string_view source_repository) const {
    const provenance_rule* best = nullptr;
    for (const auto& project : projects) {
        if (is_path_prefix(project.source, source_repository) &&
            (best == nullptr || project.source.size() > best->source.size())) {
            best = &project;
        }
    }
    if (best == nullptr && fallback) {
        best = &*fallback;
    }
    return best;
}

std::optional<provenance_policy> parse_provenance_policy(std::string_view text,
                                                         const std::string& file,
                                                         diagnostics& problems) {
    std::size_t before = problems.size();
    auto document = load_yaml(text, file, problems);
    if (!document.valid) {
        return std::nullopt;
    }
    provenance_policy policy;
    if (!document.root) {
        return policy;  // an empty policy file: every source takes --provenance
    }
    policy_reader reader(file, problems);
    const auto& root = *document.root;
    if (root.type != yaml_node::kind::mapping) {
        reader.error(root, std::string("expected a mapping with default and projects, found ") +
                               std::string(describe(root)));
        return std::nullopt;
    }
    for (std::size_t i = 0; i < root.mapping_size(); ++i) {
        const auto& key = root.key(i).text;
        const auto& value = root.value(i);
        if (key == "default") {
            policy.fallback = reader.rule(value, false);
        } else if (key == "projects") {
            if (value.type != yaml_node::kind::sequence) {
                reader.error(value, std::string("expected a list of projects, found ") +
                                        std::string(describe(value)));
                continue;
            }
            for (const auto& item : value.items) {
                if (auto rule = reader.rule(item, true)) {
                    policy.projects.push_back(std::move(*rule));
                }
            }
        } else {
            reader.error(root.key(i), "unknown key \"" + key + "\" (expected default, projects)");
        }
    }
    if (problems.size() != before) {
        return std::nullopt;
    }
    return policy;
}

}  // namespace hoist::engine
