// SPDX-License-Identifier: Apache-2.0
/// A YAML document as a small tree whose every node knows its line and column. Built from
/// yaml-cpp's event parser rather than YAML::Node: positions survive, duplicate mapping
/// keys can be refused (YAML::Node silently keeps one), and it is about half the work.
#pragma once

#include "engine/manifest/diagnostics.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::engine {

struct yaml_node {
    enum class kind : std::uint8_t { null, scalar, sequence, mapping };
    kind type = kind::null;
    bool quoted = false;  ///< a scalar written in quotes (never null, bool or number)
    source_position at;
    std::string text;              ///< scalar text, as written (without quotes)
    std::vector<yaml_node> items;  ///< sequence items; mapping keys and values alternating

    std::size_t mapping_size() const { return items.size() / 2; }
    const yaml_node& key(std::size_t i) const { return items[2 * i]; }
    const yaml_node& value(std::size_t i) const { return items[2 * i + 1]; }
};

/// "a mapping", "a sequence", "a string", "nothing (null)": for error messages.
std::string_view describe(const yaml_node& node);

struct yaml_document {
    bool valid = false;             ///< false when problems were reported
    std::optional<yaml_node> root;  ///< nullopt for a file with no document (only comments)
};

/// Parses `text`, which must hold at most one document. Syntax errors, several documents,
/// duplicate keys, non-scalar keys and runaway aliases are reported to `problems` under
/// `file`. `first_line` is the line number of the first line of `text` (a piece of a
/// larger file, when files are parsed in parts).
yaml_document load_yaml(std::string_view text, const std::string& file, diagnostics& problems,
                        std::uint32_t first_line = 1);

}  // namespace hoist::engine
