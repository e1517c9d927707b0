// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/diagnostics.hpp"

#include <algorithm>
#include <tuple>

namespace hoist::engine {

std::string to_string(const diagnostic& d) {
    std::string text = d.file;
    if (d.at.line != 0) {
        text += ':' + std::to_string(d.at.line) + ':' + std::to_string(d.at.column);
    }
    text += ": ";
    text += d.message;
    return text;
}

void diagnostics::append(diagnostics other) {
    items_.insert(items_.end(), std::make_move_iterator(other.items_.begin()),
                  std::make_move_iterator(other.items_.end()));
}

void diagnostics::sort() {
    std::stable_sort(items_.begin(), items_.end(), [](const diagnostic& a, const diagnostic& b) {
        return std::tie(a.file, a.at.line, a.at.column) < std::tie(b.file, b.at.line, b.at.column);
    });
}

}  // namespace hoist::engine
