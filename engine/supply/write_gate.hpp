// SPDX-License-Identifier: Apache-2.0
/// A last word before a signature or attestation is written.
#pragma once

#include "net/asio.hpp"
#include "net/error.hpp"

#include <functional>

namespace hoist::engine {

/// Asked once, after a writer has found that it must write and before its first write: an
/// error refuses the write and is the writer's result. Sign and Attest use it to check a
/// source image that neither Validate nor Provenance saw (one already in place before the
/// run), only when something would be written for it. Empty: writes need no permission.
using write_gate = std::function<asio::awaitable<net::result<void>>()>;

}  // namespace hoist::engine
