// SPDX-License-Identifier: Apache-2.0
/// Problems found in manifests, each tied to a file, line and column, collected so that a
/// run reports all of them at once instead of stopping at the first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hoist::engine {

struct source_position {
    std::uint32_t line = 0;    ///< 1-based; 0 when the problem concerns a whole file
    std::uint32_t column = 0;  ///< 1-based
};

struct diagnostic {
    std::string file;
    source_position at;
    std::string message;  ///< what is wrong and what was expected
};

/// "file:line:column: message", the form compilers use, so editors can jump to it.
std::string to_string(const diagnostic& d);

class diagnostics {
public:
    void add(std::string file, source_position at, std::string message) {
        items_.push_back({std::move(file), at, std::move(message)});
    }
    void append(diagnostics other);
    bool empty() const { return items_.empty(); }
    std::size_t size() const { return items_.size(); }
    const std::vector<diagnostic>& items() const { return items_; }
    /// Orders by file, then line, then column, so reports do not depend on thread timing.
    void sort();

private:
    std::vector<diagnostic> items_;
};

}  // namespace hoist::engine
