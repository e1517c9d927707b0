// SPDX-License-Identifier: Apache-2.0
#include "engine/plan/known_tags.hpp"

namespace hoist::engine {

void known_tags::listed(const net::registry::repository_ref& repository,
                        std::unordered_set<std::string> tags) {
    tags_[repository.to_string()] = std::move(tags);
}

void known_tags::wrote(const net::registry::repository_ref& repository, const std::string& tag) {
    if (auto found = tags_.find(repository.to_string()); found != tags_.end()) {
        found->second.insert(tag);
    }
}

bool known_tags::surely_absent(const net::registry::repository_ref& repository,
                               const std::string& tag) const {
    auto found = tags_.find(repository.to_string());
    return found != tags_.end() && !found->second.contains(tag);
}

}  // namespace hoist::engine
