// SPDX-License-Identifier: Apache-2.0
#include "crypto/error.hpp"

#include <string>

namespace hoist::crypto {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "hoist.crypto"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::bad_key:
                return "unusable key (expected unencrypted ECDSA P-256)";
            case errc::sign_failed:
                return "signing failed";
            case errc::verify_failed:
                return "signature verification failed";
            case errc::bad_certificate:
                return "unusable certificate";
            case errc::bad_pem:
                return "malformed PEM";
            case errc::invalid_argument:
                return "invalid argument";
            case errc::random_failed:
                return "random number generator failed";
        }
        return "unknown hoist.crypto error";
    }
};

}  // namespace

const boost::system::error_category& crypto_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace hoist::crypto
