// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/key_files.hpp"

#include "crypto/cosign_key.hpp"
#include "tools/hoist/password.hpp"

#include <fstream>
#include <sstream>

namespace hoist::tools {
namespace {

// Key files are a few hundred bytes; a large file is a mistake (a wrong path).
constexpr std::streamsize max_key_file = 1 << 20;

std::optional<std::string> read_key_file(const std::string& file, std::string& problem) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        problem = "cannot read key file " + file;
        return std::nullopt;
    }
    std::string text(static_cast<std::size_t>(max_key_file) + 1, '\0');
    in.read(text.data(), max_key_file + 1);
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > static_cast<std::size_t>(max_key_file)) {
        problem = "key file " + file + " is too large to be a key";
        return std::nullopt;
    }
    return text;
}

}  // namespace

loaded<crypto::ec_private_key> read_signing_key(const std::string& file) {
    loaded<crypto::ec_private_key> out;
    auto text = read_key_file(file, out.problem);
    if (!text) {
        return out;
    }
    std::string password;
    if (crypto::needs_password(*text)) {
        auto answer = password_for_key(file);
        if (!answer.password) {
            out.problem = answer.problem;
            return out;
        }
        password = std::move(*answer.password);
    }
    auto key = crypto::load_signing_key(*text, password);
    if (!key) {
        out.problem = "signing key " + file + ": " + key.error().message();
        return out;
    }
    out.value = std::move(*key);
    return out;
}

loaded<std::vector<crypto::ec_public_key>> read_verification_keys(
    const std::vector<std::string>& files) {
    loaded<std::vector<crypto::ec_public_key>> out;
    std::vector<crypto::ec_public_key> keys;
    for (const auto& file : files) {
        auto text = read_key_file(file, out.problem);
        if (!text) {
            return out;
        }
        auto parsed = crypto::load_verification_keys(*text);
        if (!parsed) {
            out.problem = "verification key " + file + ": " + parsed.error().message();
            return out;
        }
        keys.insert(keys.end(), parsed->begin(), parsed->end());
    }
    out.value = std::move(keys);
    return out;
}

}  // namespace hoist::tools
