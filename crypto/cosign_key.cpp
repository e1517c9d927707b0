// SPDX-License-Identifier: Apache-2.0
#include "crypto/cosign_key.hpp"

#include "crypto/detail/bssl.hpp"
#include "crypto/encoding.hpp"

#include <openssl/mem.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>
#include <vector>

namespace hoist::crypto {
namespace {

// The format is go-securesystemslib's `encrypted` package, which cosign uses as is.
constexpr std::string_view kdf_name = "scrypt";
constexpr std::string_view cipher_name = "nacl/secretbox";
constexpr std::size_t box_key_size = crypto_secretbox_KEYBYTES;
constexpr std::size_t box_nonce_size = crypto_secretbox_NONCEBYTES;
constexpr std::size_t salt_size = 32;

struct scrypt_params {
    std::uint64_t n = 0;
    std::uint64_t r = 0;
    std::uint64_t p = 0;
    bool operator==(const scrypt_params&) const = default;
};

// The only sets cosign reads: legacy keys, what it writes today, and OWASP's advice.
constexpr std::array<scrypt_params, 3> accepted_params{
    {{32768, 8, 1}, {65536, 8, 1}, {131072, 8, 1}}};
constexpr scrypt_params written_params{65536, 8, 1};

// BoringSSL's scrypt needs 128·r·(N + p + 1) bytes of scratch and refuses to run above
// `max_mem`; this admits the largest accepted set and nothing bigger.
constexpr std::size_t scrypt_memory_limit = 128 * 8 * (131072 + 1 + 1);

static_assert(box_key_size == 32 && box_nonce_size == 24 && crypto_secretbox_MACBYTES == 16,
              "NaCl secretbox sizes are part of the file format");

// sodium_init is idempotent and thread-safe; the static only avoids calling it each time.
void require_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        // Happens only when the system cannot provide randomness at all.
        throw std::runtime_error("libsodium cannot be initialised");
    }
}

const std::uint8_t* bytes(std::string_view s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

// Heap bytes that are wiped before they are freed: derived keys and decrypted keys.
class secret_buffer {
public:
    explicit secret_buffer(std::size_t size) : bytes_(size) {}
    secret_buffer(const secret_buffer&) = delete;
    secret_buffer& operator=(const secret_buffer&) = delete;
    ~secret_buffer() { sodium_memzero(bytes_.data(), bytes_.size()); }

    std::uint8_t* data() { return bytes_.data(); }
    std::size_t size() const { return bytes_.size(); }
    std::string_view view() const {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }

private:
    std::vector<std::uint8_t> bytes_;
};

struct pem_block {
    std::string label;
    std::string body;  ///< the decoded DER (or JSON) bytes
};

// The next PEM block of `bio`; nullopt once no block is left. Text around blocks is skipped,
// as Go's pem.Decode does. Errors: errc::bad_pem for a block that does not decode.
result<std::optional<pem_block>> read_pem_block(BIO* bio) {
    char* name = nullptr;
    char* header = nullptr;
    std::uint8_t* data = nullptr;
    long length = 0;
    if (!PEM_read_bio(bio, &name, &header, &data, &length)) {
        const auto reason = ERR_GET_REASON(ERR_peek_last_error());
        ERR_clear_error();
        if (reason == PEM_R_NO_START_LINE) {
            return std::optional<pem_block>();
        }
        return make_error_code(errc::bad_pem);
    }
    pem_block block{
        name, std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length))};
    // The body may be an unencrypted private key.
    OPENSSL_cleanse(data, static_cast<std::size_t>(length));
    OPENSSL_free(data);
    OPENSSL_free(header);
    OPENSSL_free(name);
    return std::optional<pem_block>(std::move(block));
}

result<pem_block> first_pem_block(std::string_view pem) {
    auto bio = detail::memory_bio(pem);
    if (!bio) {
        throw std::bad_alloc();
    }
    auto block = read_pem_block(bio.get());
    if (!block) {
        return block.error();
    }
    if (!*block) {
        return make_error_code(errc::bad_pem);
    }
    return std::move(**block);
}

bool is_encrypted_key_label(std::string_view label) {
    return label == sigstore_key_pem_label || label == cosign_key_pem_label;
}

// What an encrypted key's JSON says, decoded; the names are kept for the checks.
struct sealed_key {
    std::string kdf;
    scrypt_params params;
    std::string salt;
    std::string cipher;
    std::string nonce;
    std::string ciphertext;
};

const nlohmann::json* member(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) {
        return nullptr;
    }
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const nlohmann::json& object, const char* key) {
    const auto* value = member(object, key);
    if (value == nullptr || !value->is_string()) {
        return std::nullopt;
    }
    return value->get<std::string>();
}

std::optional<std::string> base64_member(const nlohmann::json& object, const char* key) {
    auto text = string_member(object, key);
    return text ? base64_decode(*text) : std::nullopt;
}

std::optional<std::uint64_t> count_member(const nlohmann::json& object, const char* key) {
    // nlohmann stores every non-negative integer literal as unsigned; 8.0 or -1 fail here, as
    // they fail Go's decoding into an int field or scrypt's parameter checks.
    const auto* value = member(object, key);
    if (value == nullptr || !value->is_number_unsigned()) {
        return std::nullopt;
    }
    return value->get<std::uint64_t>();
}

// Keys are matched exactly and unknown ones ignored; Go's decoder would also take other
// letter cases, which no writer produces.
std::optional<sealed_key> parse_sealed_key(std::string_view json_text) {
    const auto json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    const auto* kdf = member(json, "kdf");
    const auto* cipher = member(json, "cipher");
    if (kdf == nullptr || cipher == nullptr) {
        return std::nullopt;
    }
    const auto* params = member(*kdf, "params");
    if (params == nullptr) {
        return std::nullopt;
    }
    auto kdf_name = string_member(*kdf, "name");
    auto n = count_member(*params, "N");
    auto r = count_member(*params, "r");
    auto p = count_member(*params, "p");
    auto salt = base64_member(*kdf, "salt");
    auto cipher_name = string_member(*cipher, "name");
    auto nonce = base64_member(*cipher, "nonce");
    auto ciphertext = base64_member(json, "ciphertext");
    if (!kdf_name || !n || !r || !p || !salt || !cipher_name || !nonce || !ciphertext) {
        return std::nullopt;
    }
    return sealed_key{std::move(*kdf_name),    {*n, *r, *p},      std::move(*salt),
                      std::move(*cipher_name), std::move(*nonce), std::move(*ciphertext)};
}

// scrypt into `key`. Fails only on allocation failure, once the parameters are accepted.
bool derive_key(std::string_view password, std::string_view salt, const scrypt_params& params,
                secret_buffer& key) {
    // An empty view may carry a null pointer; scrypt wants a valid one even for no bytes.
    const char* password_bytes = password.empty() ? "" : password.data();
    const std::uint8_t* salt_bytes = salt.empty() ? bytes("") : bytes(salt);
    const bool ok =
        EVP_PBE_scrypt(password_bytes, password.size(), salt_bytes, salt.size(), params.n, params.r,
                       params.p, scrypt_memory_limit, key.data(), key.size()) == 1;
    ERR_clear_error();
    return ok;
}

// The body of an encrypted key block (its JSON), opened with `password`.
result<ec_private_key> open_sealed_key(std::string_view json_text, std::string_view password) {
    auto sealed = parse_sealed_key(json_text);
    if (!sealed) {
        return make_error_code(errc::malformed_encrypted_key);
    }
    // Checked before any key derivation: a file must not choose how much work we do.
    if (sealed->kdf != kdf_name || sealed->cipher != cipher_name ||
        std::find(accepted_params.begin(), accepted_params.end(), sealed->params) ==
            accepted_params.end()) {
        return make_error_code(errc::unsupported_key_encryption);
    }
    if (sealed->nonce.size() != box_nonce_size ||
        sealed->ciphertext.size() < crypto_secretbox_MACBYTES) {
        return make_error_code(errc::malformed_encrypted_key);
    }

    require_sodium();
    secret_buffer box_key(box_key_size);
    if (!derive_key(password, sealed->salt, sealed->params, box_key)) {
        throw std::bad_alloc();
    }
    secret_buffer plaintext(sealed->ciphertext.size() - crypto_secretbox_MACBYTES);
    if (crypto_secretbox_open_easy(plaintext.data(), bytes(sealed->ciphertext),
                                   sealed->ciphertext.size(), bytes(sealed->nonce),
                                   box_key.data()) != 0) {
        return make_error_code(errc::wrong_password);
    }
    auto key = ec_private_key::from_pkcs8_der(plaintext.view());
    if (!key) {
        return make_error_code(errc::encrypted_key_not_pkcs8);
    }
    return key;
}

std::string pem_encode(std::string_view label, std::string_view body) {
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    const std::string name(label);
    if (!bio || PEM_write_bio(bio.get(), name.c_str(), "", bytes(body),
                              static_cast<long>(body.size())) <= 0) {
        ERR_clear_error();
        throw std::bad_alloc();
    }
    return detail::bio_contents(bio.get());
}

}  // namespace

bool needs_password(std::string_view pem) {
    auto block = first_pem_block(pem);
    return block && is_encrypted_key_label(block->label);
}

result<ec_private_key> decrypt_cosign_key(std::string_view pem, std::string_view password) {
    auto block = first_pem_block(pem);
    if (!block) {
        return block.error();
    }
    if (!is_encrypted_key_label(block->label)) {
        return make_error_code(errc::bad_pem);
    }
    return open_sealed_key(block->body, password);
}

result<ec_private_key> load_signing_key(std::string_view pem, std::string_view password) {
    auto block = first_pem_block(pem);
    if (!block) {
        return block.error();
    }
    if (is_encrypted_key_label(block->label)) {
        return open_sealed_key(block->body, password);
    }
    OPENSSL_cleanse(block->body.data(), block->body.size());
    if (block->label != "PRIVATE KEY" && block->label != "EC PRIVATE KEY") {
        return make_error_code(errc::bad_key);
    }
    // from_pem takes the first private-key block, which is the one just looked at.
    return ec_private_key::from_pem(pem);
}

std::string encrypt_cosign_key(const ec_private_key& key, std::string_view password) {
    require_sodium();
    std::string salt(salt_size, '\0');
    std::string nonce(box_nonce_size, '\0');
    randombytes_buf(salt.data(), salt.size());
    randombytes_buf(nonce.data(), nonce.size());

    secret_buffer box_key(box_key_size);
    if (!derive_key(password, salt, written_params, box_key)) {
        throw std::bad_alloc();
    }
    std::string der = key.to_pkcs8_der();
    std::string ciphertext(der.size() + crypto_secretbox_MACBYTES, '\0');
    crypto_secretbox_easy(reinterpret_cast<std::uint8_t*>(ciphertext.data()), bytes(der),
                          der.size(), bytes(nonce), box_key.data());
    sodium_memzero(der.data(), der.size());

    // cosign's field order; ordered_json keeps it as written.
    nlohmann::ordered_json json;
    json["kdf"]["name"] = kdf_name;
    json["kdf"]["params"]["N"] = written_params.n;
    json["kdf"]["params"]["r"] = written_params.r;
    json["kdf"]["params"]["p"] = written_params.p;
    json["kdf"]["salt"] = base64_encode(salt);
    json["cipher"]["name"] = cipher_name;
    json["cipher"]["nonce"] = base64_encode(nonce);
    json["ciphertext"] = base64_encode(ciphertext);
    return pem_encode(sigstore_key_pem_label, json.dump());
}

result<std::vector<ec_public_key>> load_verification_keys(std::string_view pem) {
    auto bio = detail::memory_bio(pem);
    if (!bio) {
        throw std::bad_alloc();
    }
    std::vector<ec_public_key> keys;
    for (;;) {
        auto block = read_pem_block(bio.get());
        if (!block) {
            return block.error();
        }
        if (!*block) {
            break;
        }
        if ((*block)->label != "PUBLIC KEY") {
            return make_error_code(errc::bad_pem);
        }
        auto key = ec_public_key::from_spki_der((*block)->body);
        if (!key) {
            return key.error();
        }
        keys.push_back(std::move(*key));
    }
    if (keys.empty()) {
        return make_error_code(errc::bad_pem);
    }
    return keys;
}

}  // namespace hoist::crypto
