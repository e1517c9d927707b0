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
            case errc::malformed_encrypted_key:
                return "malformed encrypted cosign key";
            case errc::unsupported_key_encryption:
                return "unsupported key encryption (cosign keys use scrypt with N=32768, 65536 "
                       "or 131072, r=8, p=1, and nacl/secretbox)";
            case errc::wrong_password:
                return "wrong password for the encrypted key (or the key file was altered)";
            case errc::encrypted_key_not_pkcs8:
                return "the encrypted key holds no PKCS#8 ECDSA P-256 key";
            case errc::bad_document:
                return "malformed signature document";
            case errc::unsupported_document:
                return "unsupported signature document version, type or algorithm";
            case errc::digest_mismatch:
                return "the signed content names another digest than the artifact's";
            case errc::limit_exceeded:
                return "signature document over a count limit";
            case errc::check_refused:
                return "refused by a supply-chain check";
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
