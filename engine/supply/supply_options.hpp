// SPDX-License-Identifier: Apache-2.0
/// What the supply-chain phases (Provenance, Validate, Sign, Attest) are told, and what
/// they leave behind for the report.
#pragma once

#include "crypto/ec_key.hpp"
#include "engine/supply/provenance_policy.hpp"
#include "net/error.hpp"
#include "net/wakeup.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hoist::engine {

struct supply_options {
    /// `--signing-key`: signs and attests when `sign` is on; absent, nothing is signed.
    std::optional<crypto::ec_private_key> signing_key;
    /// `--verify-key` (repeatable): staging signatures and provenance must verify with one.
    std::vector<crypto::ec_public_key> verify_keys;
    check_mode validate = check_mode::if_present;
    check_mode provenance = check_mode::if_present;
    std::optional<provenance_policy> policy;
    /// `--signature-format=bundle`: signatures as bundle referrers instead of `.sig` images.
    bool bundle_signatures = false;
    /// The promotion predicate's builderId, promoter.version and promoter.gitCommit (the
    /// commit hoist was built from; empty when unknown).
    std::string builder_id;
    std::string promoter_version;
    std::string promoter_commit;
    /// Registry operations of these phases at once (`--max-signature-ops`).
    std::size_t parallel = 50;
};

/// A check's verdict on one source image.
struct image_verdict {
    std::string phase;  ///< "provenance" or "validate"
    std::string image;  ///< "<source repository>@<digest>"
    bool passed = true;
    std::string detail;  ///< what was found, or why it was refused
    /// Set when a read failed after its retries: then `passed` is false, but the verdict
    /// says nothing of the image itself, only that it could not be checked.
    std::optional<net::failure> unread;
};

struct signing_counts {
    std::size_t digests = 0;  ///< (identity, digest) groups considered
    std::size_t written = 0;  ///< signatures or attestations written now
    std::size_t present = 0;  ///< already there from an earlier run
    std::size_t carried = 0;  ///< staging signatures copied along
    /// Groups in place before the run whose source image the checks refused: their edges
    /// are blocked, nothing written for them.
    std::size_t refused = 0;
    std::size_t failed = 0;
};

/// What this run's checks (Provenance and Validate together) found of one source image.
struct source_image_check {
    bool finished = false;
    std::optional<std::string> refusal;  ///< why nothing may be promoted or signed for it
    /// Why it could not be checked (a read failed): nothing is signed for it in this run,
    /// and a later run asks again.
    std::optional<net::failure> unchecked;
    net::wait_list waiters;  ///< others asking while the check runs
};

struct supply_record {
    std::vector<image_verdict> verdicts;
    /// By "<source repository>@<digest>". Provenance and Validate enter the images they
    /// check; Sign and Attest check, once, the images in place before the run that they
    /// are about to write for, and reuse what the phases found.
    std::map<std::string, std::unique_ptr<source_image_check>> source_checks;
    signing_counts signatures;
    signing_counts attestations;
    std::vector<std::string> errors;  ///< one line per failed signature or attestation
};

}  // namespace hoist::engine
