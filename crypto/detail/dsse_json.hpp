// SPDX-License-Identifier: Apache-2.0
/// A DSSE envelope read from an already parsed JSON value, for documents that embed one
/// (sigstore bundles). Never included outside crypto/.
#pragma once

#include "crypto/dsse.hpp"
#include "crypto/error.hpp"

#include <nlohmann/json.hpp>

namespace hoist::crypto::detail {

/// The rules of `parse_dsse_envelope`, applied to `value`. Errors: errc::bad_document.
result<dsse_envelope> dsse_envelope_from_json(const nlohmann::json& value);

}  // namespace hoist::crypto::detail
