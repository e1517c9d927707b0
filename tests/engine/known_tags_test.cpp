// SPDX-License-Identifier: Apache-2.0
// known_tags answers "surely absent" only where a listing says so and nothing was written
// since: a wrong "absent" would make Sign overwrite a `.sig` image it never read.
#include "engine/plan/known_tags.hpp"

#include <gtest/gtest.h>

namespace hoist::engine {
namespace {

net::registry::repository_ref repo(std::string path) {
    return {"registry.example:5000", std::move(path)};
}

TEST(KnownTags, OnlyAListedRepositoryCanSayATagIsAbsent) {
    known_tags tags;
    EXPECT_FALSE(tags.surely_absent(repo("never/listed"), "sha256-ab.sig"));
    tags.wrote(repo("never/listed"), "v1");  // still unknown: no listing to add it to
    EXPECT_FALSE(tags.surely_absent(repo("never/listed"), "sha256-ab.sig"));

    tags.listed(repo("listed"), {"v1", "sha256-cd.sig"});
    EXPECT_TRUE(tags.surely_absent(repo("listed"), "sha256-ab.sig"));
    EXPECT_FALSE(tags.surely_absent(repo("listed"), "sha256-cd.sig"));
    EXPECT_FALSE(tags.surely_absent(repo("listed"), "v1"));
    // Another registry's repository of the same path is another repository.
    EXPECT_FALSE(tags.surely_absent({"other.example", "listed"}, "sha256-ab.sig"));
}

TEST(KnownTags, AnEmptyListingKnowsEveryTagIsAbsentUntilOneIsWritten) {
    known_tags tags;
    tags.listed(repo("fresh"), {});
    EXPECT_TRUE(tags.surely_absent(repo("fresh"), "sha256-ab"));
    tags.wrote(repo("fresh"), "sha256-ab");
    EXPECT_FALSE(tags.surely_absent(repo("fresh"), "sha256-ab"));
    EXPECT_TRUE(tags.surely_absent(repo("fresh"), "sha256-ab.sig"));
}

}  // namespace
}  // namespace hoist::engine
