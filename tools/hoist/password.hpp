// SPDX-License-Identifier: Apache-2.0
/// Where key passwords come from, as in cosign: $COSIGN_PASSWORD when it is set (an empty
/// value is a valid, empty password), else the controlling terminal with echo off.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hoist::tools {

/// A password, or what prevented getting one (a sentence for the user).
struct password_answer {
    std::optional<std::string> password;
    std::string problem;
};

/// The password for a key about to be written: $COSIGN_PASSWORD, else asked twice on
/// /dev/tty (the answers must match). Fails when there is neither, when the answers
/// differ, or when the terminal cannot be read.
password_answer password_for_new_key();

/// The password that opens the existing key `key_file`: $COSIGN_PASSWORD, else asked once
/// on /dev/tty, naming the file.
password_answer password_for_key(std::string_view key_file);

}  // namespace hoist::tools
