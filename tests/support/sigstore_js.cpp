// SPDX-License-Identifier: Apache-2.0
/// Runs tests/sigstore-js/verify.js, one node process per check, and reads its verdict.
#include "tests/support/sigstore_js.hpp"

#include "tests/support/client_harness.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <vector>

namespace hoist::testsupport::sigstore_js {

namespace {

namespace fs = std::filesystem;

const fs::path verifier_dir{HOIST_SIGSTORE_JS_DIR};

std::string shell_quoted(std::string_view argument) {
    std::string quoted = "'";
    for (char c : argument) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    return quoted + "'";
}

std::string_view last_line(std::string_view output) {
    while (!output.empty() && output.back() == '\n') {
        output.remove_suffix(1);
    }
    auto newline = output.rfind('\n');
    return newline == std::string_view::npos ? output : output.substr(newline + 1);
}

verdict harness_error(std::string message) {
    ADD_FAILURE() << message;
    return {false, "HARNESS_ERROR", std::move(message)};
}

/// Only exit 0 with ok:true or exit 1 with ok:false is a verdict; usage errors, a missing
/// node, or a crash fail the test rather than read as a rejection.
verdict run_verifier(std::string_view command, const std::vector<std::string>& arguments) {
    if (auto ready = installed(); !ready) {
        return harness_error(ready.message());
    }
    std::string line = "node " + shell_quoted((verifier_dir / "verify.js").string());
    line += ' ';
    line += command;
    for (const auto& argument : arguments) {
        line += ' ' + shell_quoted(argument);
    }
    line += " 2>&1";
    int status = -1;
    std::string output = run_process(line, &status);
    auto json = nlohmann::json::parse(last_line(output), nullptr, false);
    bool well_formed = json.is_object() && json.contains("ok") && json["ok"].is_boolean() &&
                       json.contains("code") && json["code"].is_string() &&
                       json.contains("message") && json["message"].is_string();
    if (!well_formed || (status != 0 && status != 1) || json["ok"].get<bool>() != (status == 0)) {
        return harness_error("sigstore-js gave no verdict (exit " + std::to_string(status) +
                             ") for: " + line + "\n" + output);
    }
    return {json["ok"].get<bool>(), json["code"].get<std::string>(),
            json["message"].get<std::string>()};
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const verdict& v) {
    return out << (v.ok ? "verified" : "rejected") << " [" << v.code << "] " << v.message;
}

::testing::AssertionResult installed() {
    for (const char* package : {"verify", "bundle", "core", "protobuf-specs"}) {
        auto manifest = verifier_dir / "node_modules" / "@sigstore" / package / "package.json";
        if (!fs::exists(manifest)) {
            return ::testing::AssertionFailure()
                   << "sigstore-js is not installed (" << manifest.string()
                   << " is missing): run npm ci in tests/sigstore-js; tools/test.sh does it";
        }
    }
    return ::testing::AssertionSuccess();
}

verdict verify_dsse(const fs::path& envelope, const fs::path& key, signatures rule) {
    std::vector<std::string> arguments{"--envelope", envelope.string(), "--key", key.string()};
    if (rule == signatures::any) {
        arguments.emplace_back("--any");
    }
    return run_verifier("dsse", arguments);
}

verdict verify_bundle(const fs::path& bundle, const fs::path& key, const fs::path& artifact) {
    std::vector<std::string> arguments{"--bundle", bundle.string(), "--key", key.string()};
    if (!artifact.empty()) {
        arguments.insert(arguments.end(), {"--artifact", artifact.string()});
    }
    return run_verifier("bundle", arguments);
}

verdict verify_message(const fs::path& payload, std::string_view signature_base64,
                       const fs::path& key) {
    return run_verifier("message", {"--payload", payload.string(), "--signature-b64",
                                    std::string(signature_base64), "--key", key.string()});
}

verdict verify_statement(const fs::path& envelope, const fs::path& key,
                         std::string_view subject_sha256_hex, std::string_view predicate_type,
                         signatures rule) {
    std::vector<std::string> arguments{
        "--envelope", envelope.string(),  "--key",
        key.string(), "--subject-sha256", std::string(subject_sha256_hex)};
    if (!predicate_type.empty()) {
        arguments.insert(arguments.end(), {"--predicate-type", std::string(predicate_type)});
    }
    if (rule == signatures::any) {
        arguments.emplace_back("--any");
    }
    return run_verifier("statement", arguments);
}

verdict open_cosign_key(const fs::path& private_key, const fs::path& password_file,
                        const fs::path& public_key) {
    return run_verifier("key", {"--private", private_key.string(), "--password-file",
                                password_file.string(), "--key", public_key.string()});
}

}  // namespace hoist::testsupport::sigstore_js
