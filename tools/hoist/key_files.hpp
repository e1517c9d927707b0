// SPDX-License-Identifier: Apache-2.0
/// Key files named on the command line: a signing key (`--signing-key`, `--key`) opened
/// with cosign's password conventions, and verification keys (`--verify-key`, `--key`).
#pragma once

#include "crypto/ec_key.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hoist::tools {

/// A value, or a sentence for the user saying why there is none.
template <class T>
struct loaded {
    std::optional<T> value;
    std::string problem;
};

/// cosign.key (password from $COSIGN_PASSWORD or the terminal) or an unencrypted PEM key.
loaded<crypto::ec_private_key> read_signing_key(const std::string& file);

/// Every public key of every file, in order (cosign.pub files, one or more PEM blocks).
loaded<std::vector<crypto::ec_public_key>> read_verification_keys(
    const std::vector<std::string>& files);

}  // namespace hoist::tools
