// SPDX-License-Identifier: Apache-2.0
/// BoringSSL glue shared by the crypto/ sources: the key representations behind the
/// public pimpls, PEM I/O and error-queue hygiene. Never included outside crypto/.
#pragma once

#include "crypto/ec_key.hpp"
#include "crypto/error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace hoist::crypto {

struct ec_private_key::impl {
    bssl::UniquePtr<EVP_PKEY> pkey;
};

struct ec_public_key::impl {
    bssl::UniquePtr<EVP_PKEY> pkey;
};

namespace detail {

/// Returns `e` after emptying the thread's BoringSSL error queue, so a failure here never
/// surfaces later as the "reason" of an unrelated TLS error (net/tls.cpp reads the queue).
inline boost::system::error_code fail(errc e) {
    ERR_clear_error();
    return make_error_code(e);
}

/// A read-only memory BIO over `text`; `text` must outlive it.
inline bssl::UniquePtr<BIO> memory_bio(std::string_view text) {
    return bssl::UniquePtr<BIO>(BIO_new_mem_buf(text.data(), static_cast<long>(text.size())));
}

/// Everything written to a memory BIO, as a string.
inline std::string bio_contents(BIO* bio) {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    if (!BIO_mem_contents(bio, &data, &size)) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(data), size);
}

/// Password callback that refuses: encrypted PEM keys fail instead of prompting.
inline int no_password(char*, int, int, void*) {
    return 0;
}

}  // namespace detail
}  // namespace hoist::crypto
