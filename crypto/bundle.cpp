// SPDX-License-Identifier: Apache-2.0
#include "crypto/bundle.hpp"

#include "crypto/detail/dsse_json.hpp"
#include "crypto/detail/json_io.hpp"
#include "crypto/encoding.hpp"
#include "crypto/intoto.hpp"

namespace hoist::crypto {
namespace {

using json = nlohmann::json;

constexpr std::string_view sha2_256 = "SHA2_256";

// The minor version (1, 2 or 3) of a bundle media type hoist reads.
std::optional<int> bundle_minor_version(std::string_view media_type) {
    constexpr std::string_view older_form = "application/vnd.dev.sigstore.bundle+json;version=0.";
    if (media_type == bundle_v03_media_type) {
        return 3;
    }
    if (media_type.starts_with(older_form) && media_type.size() == older_form.size() + 1) {
        const char minor = media_type.back();
        if (minor >= '1' && minor <= '3') {
            return minor - '0';
        }
    }
    return std::nullopt;
}

std::string key_bundle_prefix(const ec_public_key& key) {
    std::string out = R"({"mediaType":)";
    detail::append_go_string(out, bundle_v03_media_type);
    out += R"(,"verificationMaterial":{"publicKey":{"hint":)";
    detail::append_go_string(out, key.hint());
    out += "}}";
    return out;
}

// A certificate object `{"rawBytes": b64}` as DER; nullopt when malformed.
std::optional<std::string> certificate_der(const json& certificate) {
    if (!certificate.is_object()) {
        return std::nullopt;
    }
    auto der = detail::base64_member(certificate, "rawBytes");
    if (!der || der->empty()) {
        return std::nullopt;
    }
    return der;
}

boost::system::error_code read_material(const json& material, int minor_version,
                                        sigstore_bundle& bundle) {
    const auto bad = make_error_code(errc::bad_document);
    if (!material.is_object()) {
        return bad;
    }
    const auto public_key = material.find("publicKey");
    const auto certificate = material.find("certificate");
    const auto chain = material.find("x509CertificateChain");
    const int kinds = (public_key != material.end()) + (certificate != material.end()) +
                      (chain != material.end());
    if (kinds != 1) {
        return bad;
    }
    if (public_key != material.end()) {
        if (!public_key->is_object()) {
            return bad;
        }
        bundle.material = verification_material::public_key;
        if (const auto hint = public_key->find("hint"); hint != public_key->end()) {
            if (!hint->is_string()) {
                return bad;
            }
            bundle.public_key_hint = hint->get<std::string>();
        }
    } else if (certificate != material.end()) {
        auto der = certificate_der(*certificate);
        if (!der) {
            return bad;
        }
        bundle.material = verification_material::certificate;
        bundle.certificates_der.push_back(std::move(*der));
    } else {
        // v0.3 replaced the chain by the leaf alone (sigstore-go refuses a chain there).
        if (minor_version >= 3 || !chain->is_object()) {
            return bad;
        }
        const auto certificates = chain->find("certificates");
        if (certificates == chain->end() || !certificates->is_array() || certificates->empty()) {
            return bad;
        }
        bundle.material = verification_material::certificate_chain;
        for (const auto& entry : *certificates) {
            auto der = certificate_der(entry);
            if (!der) {
                return bad;
            }
            bundle.certificates_der.push_back(std::move(*der));
        }
    }
    if (const auto entries = material.find("tlogEntries"); entries != material.end()) {
        if (!entries->is_array()) {
            return bad;
        }
        bundle.tlog_entries = entries->size();
    }
    if (const auto timestamps = material.find("timestampVerificationData");
        timestamps != material.end()) {
        if (!timestamps->is_object()) {
            return bad;
        }
        if (const auto list = timestamps->find("rfc3161Timestamps"); list != timestamps->end()) {
            if (!list->is_array()) {
                return bad;
            }
            bundle.rfc3161_timestamps = list->size();
        }
    }
    return {};
}

result<message_signature> read_message_signature(const json& value) {
    const auto bad = make_error_code(errc::bad_document);
    if (!value.is_object()) {
        return bad;
    }
    const auto digest = value.find("messageDigest");
    if (digest == value.end() || !digest->is_object()) {
        return bad;
    }
    const auto algorithm = digest->find("algorithm");
    auto digest_bytes = detail::base64_member(*digest, "digest");
    auto signature = detail::base64_member(value, "signature");
    if (algorithm == digest->end() || !algorithm->is_string() || !digest_bytes ||
        digest_bytes->empty() || !signature || signature->empty()) {
        return bad;
    }
    return message_signature{algorithm->get<std::string>(), std::move(*digest_bytes),
                             std::move(*signature)};
}

std::string_view bytes_of(const sha256_hash& hash) {
    return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

}  // namespace

result<std::string> dsse_bundle_json(const dsse_envelope& envelope, const ec_public_key& key) {
    if (envelope.signatures.size() != 1) {
        return make_error_code(errc::invalid_argument);
    }
    std::string out = key_bundle_prefix(key);
    out += R"(,"dsseEnvelope":{"payload":)";
    detail::append_go_string(out, base64_encode(envelope.payload));
    out += R"(,"payloadType":)";
    detail::append_go_string(out, envelope.payload_type);
    out += R"(,"signatures":[{"sig":)";
    detail::append_go_string(out, base64_encode(envelope.signatures.front().sig));
    out += "}]}}";
    return out;
}

std::string message_signature_bundle_json(const sha256_hash& artifact_digest,
                                          std::string_view der_signature,
                                          const ec_public_key& key) {
    std::string out = key_bundle_prefix(key);
    out += R"(,"messageSignature":{"messageDigest":{"algorithm":)";
    detail::append_go_string(out, sha2_256);
    out += R"(,"digest":)";
    detail::append_go_string(out, base64_encode(bytes_of(artifact_digest)));
    out += R"(},"signature":)";
    detail::append_go_string(out, base64_encode(der_signature));
    out += "}}";
    return out;
}

result<sigstore_bundle> parse_bundle(std::string_view json_text) {
    const auto bad = make_error_code(errc::bad_document);
    const auto document = detail::parse_json(json_text);
    if (!document || !document->is_object()) {
        return bad;
    }
    const auto media_type = document->find("mediaType");
    if (media_type == document->end() || !media_type->is_string()) {
        return bad;
    }
    const auto minor_version = bundle_minor_version(media_type->get_ref<const std::string&>());
    if (!minor_version) {
        return make_error_code(errc::unsupported_document);
    }
    sigstore_bundle bundle;
    bundle.media_type = media_type->get<std::string>();
    const auto material = document->find("verificationMaterial");
    if (material == document->end()) {
        return bad;
    }
    if (const auto error = read_material(*material, *minor_version, bundle); error) {
        return error;
    }
    const auto envelope = document->find("dsseEnvelope");
    const auto message = document->find("messageSignature");
    if ((envelope == document->end()) == (message == document->end())) {
        return bad;  // neither or both
    }
    if (envelope != document->end()) {
        auto parsed = detail::dsse_envelope_from_json(*envelope);
        if (!parsed) {
            return parsed.error();
        }
        if (parsed->signatures.size() != 1) {
            return bad;
        }
        bundle.content = std::move(*parsed);
    } else {
        auto parsed = read_message_signature(*message);
        if (!parsed) {
            return parsed.error();
        }
        bundle.content = std::move(*parsed);
    }
    return bundle;
}

result<void> verify_bundle(const sigstore_bundle& bundle, const ec_public_key& key,
                           std::optional<std::string_view> artifact) {
    if (const auto* envelope = std::get_if<dsse_envelope>(&bundle.content)) {
        if (envelope->signatures.size() != 1) {
            return make_error_code(errc::invalid_argument);
        }
        if (!key.verify_der(pae(envelope->payload_type, envelope->payload),
                            envelope->signatures.front().sig)) {
            return make_error_code(errc::verify_failed);
        }
        if (!artifact) {
            return {};
        }
        if (envelope->payload_type != intoto_payload_type) {
            return make_error_code(errc::bad_document);
        }
        const auto statement = parse_statement(envelope->payload);
        if (!statement) {
            return statement.error();
        }
        if (!has_subject_digest(*statement, to_hex(sha256::of(*artifact)))) {
            return make_error_code(errc::digest_mismatch);
        }
        return {};
    }
    const auto& message = std::get<message_signature>(bundle.content);
    if (!artifact) {
        return make_error_code(errc::invalid_argument);
    }
    if (message.digest_algorithm != sha2_256) {
        return make_error_code(errc::unsupported_document);
    }
    if (message.digest != bytes_of(sha256::of(*artifact))) {
        return make_error_code(errc::digest_mismatch);
    }
    if (!key.verify_der(*artifact, message.signature)) {
        return make_error_code(errc::verify_failed);
    }
    return {};
}

}  // namespace hoist::crypto
