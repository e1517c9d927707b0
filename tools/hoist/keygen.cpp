// SPDX-License-Identifier: Apache-2.0
#include "tools/hoist/keygen.hpp"

#include "crypto/cosign_key.hpp"
#include "crypto/ec_key.hpp"
#include "tools/hoist/password.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string_view>

namespace hoist::tools {
namespace {

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

bool exists(const std::string& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

// Writes `contents` to `path` with `mode`. Without `replace` the file must not exist yet
// (O_EXCL, so a file appearing after the check is not overwritten either); with it, an
// existing file is truncated and gets `mode` too, so an old 0644 key file does not stay
// readable. Returns an empty string or what went wrong.
std::string write_file(const std::string& path, std::string_view contents, mode_t mode,
                       bool replace) {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (replace ? O_TRUNC : O_EXCL);
    const int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) {
        return "cannot create " + path + ": " + std::strerror(errno);
    }
    std::string problem;
    if (::fchmod(fd, mode) != 0) {
        problem = "cannot set the mode of " + path + ": " + std::strerror(errno);
    }
    while (problem.empty() && !contents.empty()) {
        const auto written = ::write(fd, contents.data(), contents.size());
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written < 0) {
            problem = "cannot write " + path + ": " + std::strerror(errno);
            break;
        }
        contents.remove_prefix(static_cast<std::size_t>(written));
    }
    if (::close(fd) != 0 && problem.empty()) {
        problem = "cannot write " + path + ": " + std::strerror(errno);
    }
    return problem;
}

}  // namespace

CLI::App* add_keygen_command(CLI::App& app, keygen_options& options) {
    auto* keygen = app.add_subcommand(
        "keygen",
        "Write a signing key pair as cosign does: PREFIX.key (encrypted with the password "
        "from $COSIGN_PASSWORD or the terminal) and PREFIX.pub");
    keygen
        ->add_option("--output-key-prefix", options.output_key_prefix,
                     "Path prefix of the two files")
        ->capture_default_str();
    keygen->add_flag("--force", options.force, "Overwrite existing key files");
    return keygen;
}

int run_keygen(const keygen_options& options) {
    const auto key_path = options.output_key_prefix + ".key";
    const auto public_path = options.output_key_prefix + ".pub";
    if (!options.force) {
        for (const auto& path : {key_path, public_path}) {
            if (exists(path)) {
                std::cerr << "hoist: " << path << " exists; use --force to overwrite it\n";
                return exit_usage;
            }
        }
    }

    auto password = password_for_new_key();
    if (!password.password) {
        std::cerr << "hoist: " << password.problem << "\n";
        return exit_usage;
    }
    auto key = crypto::ec_private_key::generate();
    if (!key) {
        std::cerr << "hoist: cannot generate a key: " << key.error().message() << "\n";
        return exit_failed;
    }
    const auto sealed = crypto::encrypt_cosign_key(*key, *password.password);

    // The private key first: a public key without its private key would be useless.
    if (auto problem = write_file(key_path, sealed, 0600, options.force); !problem.empty()) {
        std::cerr << "hoist: " << problem << "\n";
        return exit_failed;
    }
    if (auto problem = write_file(public_path, key->public_key_pem(), 0644, options.force);
        !problem.empty()) {
        std::cerr << "hoist: " << problem << "\n";
        return exit_failed;
    }
    std::cout << "Private key written to " << key_path << "\n"
              << "Public key written to " << public_path << "\n";
    return 0;
}

}  // namespace hoist::tools
