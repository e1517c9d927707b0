// SPDX-License-Identifier: Apache-2.0
#include "crypto/encoding.hpp"

#include <gtest/gtest.h>

namespace hoist::crypto {
namespace {

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_decode("Zm9vYg==").value(), "foob");
}

TEST(Base64, RejectsMalformed) {
    EXPECT_FALSE(base64_decode("Zm9v!").has_value());
    EXPECT_FALSE(base64_decode("Zm9").has_value());
}

TEST(Base64Url, NoPaddingAndUrlAlphabet) {
    std::string bytes = "\xfb\xff\xfe";
    EXPECT_EQ(base64_encode(bytes), "+//+");
    EXPECT_EQ(base64url_encode(bytes), "-__-");
    EXPECT_EQ(base64url_encode("f"), "Zg");
    EXPECT_EQ(base64url_decode("Zg").value(), "f");
    EXPECT_EQ(base64url_decode("-__-").value(), bytes);
    EXPECT_FALSE(base64url_decode("Zg==").has_value());
}

}  // namespace
}  // namespace hoist::crypto
