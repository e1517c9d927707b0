// SPDX-License-Identifier: Apache-2.0
#include "crypto/slsa.hpp"

#include <algorithm>
#include <optional>

namespace hoist::crypto {
namespace {

using json = nlohmann::json;

// Distinguishes "absent" (nullptr) from "present with the wrong type" (nullopt).
std::optional<const json*> member_of_type(const json& object, const char* name,
                                          bool (json::*is_expected)() const noexcept) {
    const auto member = object.find(name);
    if (member == object.end()) {
        return nullptr;
    }
    if (!((*member).*is_expected)()) {
        return std::nullopt;
    }
    return &*member;
}

const json* non_empty_string(const json& object, const char* name) {
    const auto member = object.find(name);
    if (member == object.end() || !member->is_string() ||
        member->get_ref<const std::string&>().empty()) {
        return nullptr;
    }
    return &*member;
}

void add_source(provenance_facts& facts, const std::string& uri) {
    if (!uri.empty() && std::find(facts.source_uris.begin(), facts.source_uris.end(), uri) ==
                            facts.source_uris.end()) {
        facts.source_uris.push_back(uri);
    }
}

// Checks the optional array `name` (materials, resolvedDependencies) and, when the
// predicate named no source elsewhere, adds the `uri` of its first entry. The list holds
// every input of the build (base images, modules, tools); by convention the first is the
// repository built from. An allowed repository among a build's inputs must not make its
// source allowed, so the list never adds to a source the predicate names.
bool add_first_uri_of(provenance_facts& facts, const json& object, const char* name) {
    const bool source_named = !facts.source_uris.empty();
    const auto list = member_of_type(object, name, &json::is_array);
    if (!list) {
        return false;
    }
    if (*list == nullptr) {
        return true;
    }
    bool first = true;
    for (const auto& entry : **list) {
        if (!entry.is_object()) {
            return false;
        }
        const auto uri = member_of_type(entry, "uri", &json::is_string);
        if (!uri) {
            return false;
        }
        if (first && !source_named && *uri != nullptr) {
            add_source(facts, (*uri)->get_ref<const std::string&>());
        }
        first = false;
    }
    return true;
}

result<provenance_facts> facts_v02(const json& predicate) {
    const auto bad = make_error_code(errc::bad_document);
    const auto builder = predicate.find("builder");
    if (builder == predicate.end() || !builder->is_object()) {
        return bad;
    }
    const json* builder_id = non_empty_string(*builder, "id");
    if (builder_id == nullptr || non_empty_string(predicate, "buildType") == nullptr) {
        return bad;
    }
    provenance_facts facts{builder_id->get<std::string>(), {}};
    const auto invocation = member_of_type(predicate, "invocation", &json::is_object);
    if (!invocation) {
        return bad;
    }
    if (*invocation != nullptr) {
        const auto config_source = member_of_type(**invocation, "configSource", &json::is_object);
        if (!config_source) {
            return bad;
        }
        if (*config_source != nullptr) {
            const auto uri = member_of_type(**config_source, "uri", &json::is_string);
            if (!uri) {
                return bad;
            }
            if (*uri != nullptr) {
                add_source(facts, (*uri)->get_ref<const std::string&>());
            }
        }
    }
    if (!add_first_uri_of(facts, predicate, "materials")) {
        return bad;
    }
    return facts;
}

result<provenance_facts> facts_v1(const json& predicate) {
    const auto bad = make_error_code(errc::bad_document);
    const auto definition = predicate.find("buildDefinition");
    const auto run_details = predicate.find("runDetails");
    if (definition == predicate.end() || !definition->is_object() ||
        run_details == predicate.end() || !run_details->is_object()) {
        return bad;
    }
    const auto parameters = definition->find("externalParameters");
    const auto builder = run_details->find("builder");
    if (non_empty_string(*definition, "buildType") == nullptr || parameters == definition->end() ||
        !parameters->is_object() || parameters->empty() || builder == run_details->end() ||
        !builder->is_object()) {
        return bad;
    }
    const json* builder_id = non_empty_string(*builder, "id");
    if (builder_id == nullptr) {
        return bad;
    }
    provenance_facts facts{builder_id->get<std::string>(), {}};
    // Build types name their parameters freely; these are the common spellings of "the
    // repository built from": GitHub Actions' workflow.repository, and `source` (a string
    // for Google Cloud Build and the SLSA generic builders, or a resource descriptor).
    if (const auto workflow = parameters->find("workflow");
        workflow != parameters->end() && workflow->is_object()) {
        if (const auto repository = workflow->find("repository");
            repository != workflow->end() && repository->is_string()) {
            add_source(facts, repository->get_ref<const std::string&>());
        }
    }
    if (const auto source = parameters->find("source"); source != parameters->end()) {
        if (source->is_string()) {
            add_source(facts, source->get_ref<const std::string&>());
        } else if (source->is_object()) {
            if (const auto uri = source->find("uri"); uri != source->end() && uri->is_string()) {
                add_source(facts, uri->get_ref<const std::string&>());
            }
        }
    }
    if (!add_first_uri_of(facts, *definition, "resolvedDependencies")) {
        return bad;
    }
    return facts;
}

}  // namespace

bool is_slsa_provenance(std::string_view predicate_type) {
    return predicate_type == slsa_provenance_v02 || predicate_type == slsa_provenance_v1;
}

result<provenance_facts> provenance_facts_of(const intoto_statement& statement) {
    if (!is_slsa_provenance(statement.predicate_type)) {
        return make_error_code(errc::unsupported_document);
    }
    if (!statement.predicate.is_object()) {
        return make_error_code(errc::bad_document);
    }
    return statement.predicate_type == slsa_provenance_v1 ? facts_v1(statement.predicate)
                                                          : facts_v02(statement.predicate);
}

}  // namespace hoist::crypto
