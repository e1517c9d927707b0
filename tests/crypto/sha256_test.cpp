// SPDX-License-Identifier: Apache-2.0
#include "crypto/sha256.hpp"

#include <gtest/gtest.h>

namespace hoist::crypto {
namespace {

// FIPS 180-2 known answers.
TEST(Sha256, KnownAnswers) {
    EXPECT_EQ(digest_of(""),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(digest_of("abc"),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
    std::string data(100000, 'x');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i * 31 + 7);
    }
    sha256 h;
    for (std::size_t i = 0; i < data.size(); i += 977) {
        h.update(std::string_view(data).substr(i, 977));
    }
    EXPECT_EQ(to_digest(h.finish()), digest_of(data));
}

TEST(Sha256, HexIsLowerCase) {
    const std::uint8_t bytes[] = {0x00, 0xab, 0xff, 0x10};
    EXPECT_EQ(to_hex(bytes), "00abff10");
}

}  // namespace
}  // namespace hoist::crypto
