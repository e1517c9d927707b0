// SPDX-License-Identifier: Apache-2.0
#include "crypto/intoto.hpp"

#include "crypto/detail/digest_syntax.hpp"
#include "crypto/detail/json_io.hpp"

#include <algorithm>

namespace hoist::crypto {
namespace {

bool valid_subject(const intoto_subject& subject) {
    if (subject.digest.empty()) {
        return false;
    }
    for (const auto& [algorithm, hex] : subject.digest) {
        if (algorithm.empty() || hex.empty() ||
            (algorithm == "sha256" && !detail::is_lower_hex(hex, 64))) {
            return false;
        }
    }
    return true;
}

result<intoto_subject> parse_subject(const nlohmann::json& entry) {
    const auto bad = make_error_code(errc::bad_document);
    if (!entry.is_object()) {
        return bad;
    }
    intoto_subject subject;
    if (const auto name = entry.find("name"); name != entry.end()) {
        if (!name->is_string()) {
            return bad;
        }
        subject.name = name->get<std::string>();
    }
    const auto digest = entry.find("digest");
    if (digest == entry.end() || !digest->is_object()) {
        return bad;
    }
    for (const auto& [algorithm, hex] : digest->items()) {
        if (!hex.is_string()) {
            return bad;
        }
        subject.digest.emplace(algorithm, hex.get<std::string>());
    }
    return subject;
}

}  // namespace

result<std::string> statement_json(const std::vector<intoto_subject>& subjects,
                                   std::string_view predicate_type,
                                   const nlohmann::json& predicate) {
    if (subjects.empty() || !std::all_of(subjects.begin(), subjects.end(), valid_subject) ||
        predicate_type.empty() || !(predicate.is_object() || predicate.is_null())) {
        return make_error_code(errc::invalid_argument);
    }
    std::string out = R"({"_type":)";
    detail::append_go_string(out, statement_type_v1);
    out += R"(,"subject":[)";
    for (std::size_t i = 0; i < subjects.size(); ++i) {
        out += i > 0 ? ",{" : "{";
        if (!subjects[i].name.empty()) {
            out += R"("name":)";
            detail::append_go_string(out, subjects[i].name);
            out += ',';
        }
        out += R"("digest":)";
        detail::append_go_json(out, nlohmann::json(subjects[i].digest));
        out += '}';
    }
    out += R"(],"predicateType":)";
    detail::append_go_string(out, predicate_type);
    if (!predicate.is_null()) {
        out += R"(,"predicate":)";
        detail::append_go_json(out, predicate);
    }
    out += '}';
    return out;
}

result<intoto_statement> parse_statement(std::string_view json) {
    const auto bad = make_error_code(errc::bad_document);
    auto document = detail::parse_json(json);
    if (!document || !document->is_object()) {
        return bad;
    }
    const auto type = document->find("_type");
    const auto subjects = document->find("subject");
    const auto predicate_type = document->find("predicateType");
    if (type == document->end() || !type->is_string() || subjects == document->end() ||
        !subjects->is_array() || predicate_type == document->end() ||
        !predicate_type->is_string() || predicate_type->get_ref<const std::string&>().empty()) {
        return bad;
    }
    if (const auto& name = type->get_ref<const std::string&>();
        name != statement_type_v1 && name != statement_type_v01) {
        return make_error_code(errc::unsupported_document);
    }
    intoto_statement statement{
        type->get<std::string>(), {}, predicate_type->get<std::string>(), nullptr};
    for (const auto& entry : *subjects) {
        auto subject = parse_subject(entry);
        if (!subject) {
            return subject.error();
        }
        statement.subjects.push_back(std::move(*subject));
    }
    if (const auto predicate = document->find("predicate"); predicate != document->end()) {
        if (!predicate->is_object() && !predicate->is_null()) {
            return bad;
        }
        statement.predicate = std::move(*predicate);
    }
    return statement;
}

bool has_subject_digest(const intoto_statement& statement, std::string_view sha256_hex) {
    if (sha256_hex.empty()) {
        return false;
    }
    return std::any_of(statement.subjects.begin(), statement.subjects.end(),
                       [&](const intoto_subject& subject) {
                           const auto digest = subject.digest.find("sha256");
                           return digest != subject.digest.end() && digest->second == sha256_hex;
                       });
}

}  // namespace hoist::crypto
