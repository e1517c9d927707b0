// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/yaml_tree.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>

namespace hoist::engine {
namespace {

// Aliases are expanded by copying; this bounds what a "billion laughs" file can cost.
// Manifests use no aliases at all; the k8s.io corpus is ~300,000 nodes in total.
constexpr std::size_t max_alias_nodes = 1'000'000;

source_position position(const YAML::Mark& mark, std::uint32_t first_line) {
    return {static_cast<std::uint32_t>(mark.line) + first_line,
            static_cast<std::uint32_t>(mark.column + 1)};
}

std::size_t count_nodes(const yaml_node& node) {
    std::size_t n = 1;
    for (const auto& item : node.items) {
        n += count_nodes(item);
    }
    return n;
}

class tree_builder final : public YAML::EventHandler {
public:
    tree_builder(std::string_view text, const std::string& file, diagnostics& problems,
                 std::uint32_t first_line)
        : text_(text), file_(file), problems_(problems), first_line_(first_line) {}

    std::size_t documents() const { return documents_; }
    bool failed() const { return failed_; }
    std::optional<yaml_node> take_root() { return std::move(root_); }

    void OnDocumentStart(const YAML::Mark&) override { ++documents_; }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        yaml_node node;
        node.at = empty_value_position(mark);
        finish(std::move(node), anchor);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (aliases_refused_) {
            finish(yaml_node{}, 0);  // said once; the rest is not worth the work
            return;
        }
        auto found = anchors_.find(anchor);
        if (found == anchors_.end()) {
            fail(at(mark), "alias to an unknown anchor");
            finish(yaml_node{}, 0);
            return;
        }
        alias_nodes_ += found->second.nodes;
        if (alias_nodes_ > max_alias_nodes) {
            aliases_refused_ = true;
            fail(at(mark), "aliases expand to more than " + std::to_string(max_alias_nodes) +
                               " nodes; refusing to expand them");
            finish(yaml_node{}, 0);
            return;
        }
        yaml_node copy = found->second.node;
        copy.at = at(mark);
        finish(std::move(copy), 0);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        yaml_node node;
        node.at = at(mark);
        // yaml-cpp tags plain scalars "?" and quoted ones "!"; an explicit !!str also
        // makes a string of whatever follows.
        bool plain = tag == "?" || tag.empty();
        if (plain && (value == "~" || value == "null" || value == "Null" || value == "NULL")) {
            finish(std::move(node), anchor);
            return;
        }
        node.type = yaml_node::kind::scalar;
        node.quoted = !plain;
        node.text = value;
        finish(std::move(node), anchor);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, yaml_node::kind::sequence, anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, yaml_node::kind::mapping, anchor);
    }
    void OnMapEnd() override {
        check_keys(stack_.back().node);
        close();
    }

private:
    struct frame {
        yaml_node node;
        YAML::anchor_t anchor;
    };

    void open(const YAML::Mark& mark, yaml_node::kind type, YAML::anchor_t anchor) {
        frame f;
        f.node.type = type;
        f.node.at = at(mark);
        f.anchor = anchor;
        stack_.push_back(std::move(f));
    }

    void close() {
        frame f = std::move(stack_.back());
        stack_.pop_back();
        finish(std::move(f.node), f.anchor);
    }

    void finish(yaml_node node, YAML::anchor_t anchor) {
        if (anchor != 0) {
            anchors_[anchor] = anchored{node, count_nodes(node)};
        }
        if (stack_.empty()) {
            root_ = std::move(node);
        } else {
            stack_.back().node.items.push_back(std::move(node));
        }
    }

    void check_keys(const yaml_node& mapping) {
        std::unordered_map<std::string_view, const yaml_node*> seen;
        seen.reserve(mapping.mapping_size());
        for (std::size_t i = 0; i < mapping.mapping_size(); ++i) {
            const yaml_node& key = mapping.key(i);
            if (key.type != yaml_node::kind::scalar) {
                fail(key.at, std::string("a mapping key must be a plain string, found ") +
                                 std::string(describe(key)));
                continue;
            }
            auto [it, inserted] = seen.emplace(key.text, &key);
            if (!inserted) {
                fail(key.at, "duplicate key \"" + key.text + "\" (first at line " +
                                 std::to_string(it->second->at.line) +
                                 "); each key may appear once in a mapping");
            }
        }
    }

    void fail(source_position at, std::string message) {
        failed_ = true;
        problems_.add(file_, at, std::move(message));
    }

    source_position at(const YAML::Mark& mark) const { return position(mark, first_line_); }

    /// yaml-cpp places an empty value at the next token, often lines further down. When
    /// that token opens its line, the value was written at the end of the previous line
    /// that holds anything but blanks and comments.
    source_position empty_value_position(const YAML::Mark& mark) const {
        source_position where = at(mark);
        auto pos = static_cast<std::size_t>(std::max(mark.pos, 0));
        if (pos > text_.size()) {
            return where;
        }
        std::size_t line_start = text_.rfind('\n', pos == 0 ? 0 : pos - 1);
        line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
        if (pos < line_start || text_.find_first_not_of(" \t", line_start) < pos) {
            return where;  // something precedes it on its line: the position is right
        }
        std::string_view here = text_.substr(pos);
        if (here.starts_with('~') || here.starts_with("null") || here.starts_with("Null") ||
            here.starts_with("NULL")) {
            return where;  // an explicit null, written where yaml-cpp says
        }
        std::uint32_t line = where.line;
        std::size_t line_end = line_start;  // one past the '\n' of the line above
        while (line_end > 0) {
            std::size_t newline = line_end - 1;
            std::size_t start =
                newline == 0 ? std::string_view::npos : text_.rfind('\n', newline - 1);
            start = start == std::string_view::npos ? 0 : start + 1;
            --line;
            std::string_view content = text_.substr(start, newline - start);
            while (!content.empty() &&
                   (content.back() == '\r' || content.back() == ' ' || content.back() == '\t')) {
                content.remove_suffix(1);
            }
            auto first = content.find_first_not_of(" \t");
            if (first != std::string_view::npos && content[first] != '#') {
                return {line, static_cast<std::uint32_t>(content.size() + 1)};
            }
            line_end = start;
        }
        return where;
    }

    std::string_view text_;
    const std::string& file_;
    diagnostics& problems_;
    std::uint32_t first_line_;
    std::vector<frame> stack_;
    std::optional<yaml_node> root_;
    struct anchored {
        yaml_node node;
        std::size_t nodes;
    };

    std::map<YAML::anchor_t, anchored> anchors_;
    std::size_t documents_ = 0;
    std::size_t alias_nodes_ = 0;
    bool aliases_refused_ = false;
    bool failed_ = false;
};

}  // namespace

std::string_view describe(const yaml_node& node) {
    switch (node.type) {
        case yaml_node::kind::null:
            return "nothing (null)";
        case yaml_node::kind::scalar:
            return node.quoted ? "a quoted string" : "a plain scalar";
        case yaml_node::kind::sequence:
            return "a sequence";
        case yaml_node::kind::mapping:
            return "a mapping";
    }
    return "a node";
}

yaml_document load_yaml(std::string_view text, const std::string& file, diagnostics& problems,
                        std::uint32_t first_line) {
    yaml_document document;
    tree_builder builder(text, file, problems, first_line);
    std::istringstream stream{std::string(text)};
    // yaml-cpp reports syntax errors by throwing; they are turned into diagnostics here and
    // never travel further.
    try {
        YAML::Parser parser(stream);
        while (parser.HandleNextDocument(builder)) {
            if (builder.documents() > 1) {
                problems.add(file, {}, "holds several YAML documents; expected exactly one");
                return document;
            }
        }
    } catch (const YAML::Exception& e) {
        problems.add(file, position(e.mark, first_line), "YAML syntax error: " + e.msg);
        return document;
    }
    if (builder.failed()) {
        return document;
    }
    document.valid = true;
    document.root = builder.take_root();
    return document;
}

}  // namespace hoist::engine
