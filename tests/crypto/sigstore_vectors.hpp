// SPDX-License-Identifier: Apache-2.0
/// Access to the sigstore golden vectors under tests/data/sigstore/ (sources in its
/// SOURCES.md) for the crypto tests.
#pragma once

#include "crypto/ec_key.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace hoist::crypto::test {

inline std::filesystem::path sigstore_vector_path(std::string_view relative) {
    return std::filesystem::path(HOIST_TEST_DATA_DIR) / "sigstore" / relative;
}

/// The exact bytes of a vector file; fails the test when it cannot be read.
inline std::string read_sigstore_vector(std::string_view relative) {
    const auto path = sigstore_vector_path(relative);
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A vector's PEM public key; fails the test when it does not load.
inline ec_public_key sigstore_vector_key(std::string_view relative) {
    auto key = ec_public_key::from_pem(read_sigstore_vector(relative));
    if (!key) {
        ADD_FAILURE() << "vector key " << relative << " does not load";
        return ec_private_key::generate().value().public_key();  // verifies nothing of theirs
    }
    return *key;
}

}  // namespace hoist::crypto::test
