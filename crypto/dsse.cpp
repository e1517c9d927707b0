// SPDX-License-Identifier: Apache-2.0
#include "crypto/dsse.hpp"

#include "crypto/detail/dsse_json.hpp"
#include "crypto/detail/json_io.hpp"
#include "crypto/encoding.hpp"

#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include <cstdint>
#include <optional>

namespace hoist::crypto {
namespace {

bool is_der_signature(std::string_view signature) {
    bssl::UniquePtr<ECDSA_SIG> parsed(ECDSA_SIG_from_bytes(
        reinterpret_cast<const std::uint8_t*>(signature.data()), signature.size()));
    ERR_clear_error();
    return parsed != nullptr;
}

}  // namespace

std::string pae(std::string_view payload_type, std::string_view payload) {
    std::string out = "DSSEv1 ";
    out += std::to_string(payload_type.size());
    out += ' ';
    out += payload_type;
    out += ' ';
    out += std::to_string(payload.size());
    out += ' ';
    out += payload;
    return out;
}

result<dsse_envelope> parse_dsse_envelope(std::string_view json) {
    const auto document = detail::parse_json(json);
    if (!document) {
        return make_error_code(errc::bad_document);
    }
    return detail::dsse_envelope_from_json(*document);
}

std::string to_json(const dsse_envelope& envelope) {
    std::string out = R"({"payloadType":)";
    detail::append_go_string(out, envelope.payload_type);
    out += R"(,"payload":)";
    detail::append_go_string(out, base64_encode(envelope.payload));
    out += R"(,"signatures":[)";
    for (std::size_t i = 0; i < envelope.signatures.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += R"({"keyid":)";
        detail::append_go_string(out, envelope.signatures[i].keyid);
        out += R"(,"sig":)";
        detail::append_go_string(out, base64_encode(envelope.signatures[i].sig));
        out += '}';
    }
    out += "]}";
    return out;
}

result<dsse_envelope> sign_dsse(std::string_view payload_type, std::string payload,
                                const ec_private_key& key) {
    auto signature = key.sign_der(pae(payload_type, payload));
    if (!signature) {
        return signature.error();
    }
    return dsse_envelope{std::string(payload_type), std::move(payload), {{"", *signature}}};
}

bool verify_dsse(const dsse_envelope& envelope, const ec_public_key& key) {
    const std::string signed_bytes = pae(envelope.payload_type, envelope.payload);
    for (const auto& signature : envelope.signatures) {
        if (key.verify_der(signed_bytes, signature.sig)) {
            return true;
        }
        if (signature.sig.size() == 64 && !is_der_signature(signature.sig) &&
            key.verify_raw(signed_bytes, signature.sig)) {
            return true;
        }
    }
    return false;
}

namespace detail {

result<dsse_envelope> dsse_envelope_from_json(const nlohmann::json& value) {
    const auto bad = make_error_code(errc::bad_document);
    if (!value.is_object()) {
        return bad;
    }
    const auto type = value.find("payloadType");
    const auto payload = detail::base64_member(value, "payload");
    const auto signatures = value.find("signatures");
    if (type == value.end() || !type->is_string() || !payload || signatures == value.end() ||
        !signatures->is_array()) {
        return bad;
    }
    dsse_envelope envelope{type->get<std::string>(), *payload, {}};
    for (const auto& entry : *signatures) {
        if (!entry.is_object()) {
            return bad;
        }
        auto sig = detail::base64_member(entry, "sig");
        const auto keyid = entry.find("keyid");
        const bool keyid_ok = keyid == entry.end() || keyid->is_string();
        if (!sig || sig->empty() || !keyid_ok) {
            return bad;
        }
        envelope.signatures.push_back(
            {keyid == entry.end() ? std::string() : keyid->get<std::string>(), std::move(*sig)});
    }
    return envelope;
}

}  // namespace detail

}  // namespace hoist::crypto
