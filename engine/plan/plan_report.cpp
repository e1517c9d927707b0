// SPDX-License-Identifier: Apache-2.0
#include "engine/plan/plan_report.hpp"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

namespace hoist::engine {
namespace {

struct destination_row {
    std::string project;
    std::string source;
    std::string registry;
    plan_counts counts;
};

/// Rows in manifest order (projects sorted by the loader), destinations as listed.
std::vector<destination_row> rows_of(const promotion_plan& plan) {
    std::vector<destination_row> rows;
    std::map<const registry_entry*, std::size_t> row_of;
    const auto& edges = plan.edges->edges;
    for (std::size_t i = 0; i < edges.size(); ++i) {
        const auto& edge = edges[i];
        auto [it, inserted] = row_of.try_emplace(edge.destination, rows.size());
        if (inserted) {
            rows.push_back({edge.manifest->project, edge.source->name, edge.destination->name, {}});
        }
        rows[it->second].counts.add(plan.decisions[i].outcome);
    }
    return rows;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += ',';
        }
        out += item;
    }
    return out;
}

std::string fixed(double value, int digits) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(digits) << value;
    return out.str();
}

nlohmann::ordered_json counts_json(const plan_counts& counts) {
    return {{"promote", counts.promote}, {"present", counts.present}, {"tag_move", counts.tag_move},
            {"lost", counts.lost},       {"failed", counts.failed},   {"blocked", counts.blocked}};
}

}  // namespace

void print_plan(std::ostream& out, const promotion_plan& plan) {
    const auto& set = *plan.edges;
    const auto& c = plan.counts;
    out << "plan: " << set.edges.size() << " edges: " << c.promote << " to promote, " << c.present
        << " present, " << c.tag_move << " refused (tag moves), " << c.lost << " lost";
    if (c.failed != 0) {
        out << ", " << c.failed << " unreadable";
    }
    if (c.blocked != 0) {
        out << ", " << c.blocked << " blocked";
    }
    if (set.redundant != 0) {
        out << " (" << set.redundant << " redundant edges merged)";
    }
    out << '\n';

    std::string project;
    for (const auto& row : rows_of(plan)) {
        if (row.project != project) {
            project = row.project;
            out << "  " << project << " (from " << row.source << ")\n";
        }
        out << "    " << std::left << std::setw(60) << row.registry << " promote "
            << row.counts.promote << ", present " << row.counts.present;
        if (row.counts.tag_move + row.counts.lost + row.counts.failed != 0) {
            out << ", refused " << row.counts.tag_move << ", lost " << row.counts.lost;
        }
        if (row.counts.failed != 0) {
            out << ", unreadable " << row.counts.failed;
        }
        if (row.counts.blocked != 0) {
            out << ", blocked " << row.counts.blocked;
        }
        out << '\n';
    }

    const auto& edges = set.edges;
    for (std::size_t i = 0; i < edges.size(); ++i) {
        const auto& d = plan.decisions[i];
        const auto& edge = edges[i];
        switch (d.outcome) {
            case edge_outcome::tag_move:
                out << "refused: " << set.destination_path(edge) << " wants " << edge.digest()
                    << " for tags " << join(set.tags(edge)) << ", but " << d.detail
                    << " (tag moves are not supported)\n";
                break;
            case edge_outcome::lost:
                out << "lost: " << set.source_path(edge) << "@" << edge.digest()
                    << " is missing from the source (for " << set.destination_path(edge)
                    << "): " << d.detail << '\n';
                break;
            case edge_outcome::failed:
                out << "unreadable: " << d.detail << '\n';
                break;
            case edge_outcome::blocked:
                out << "blocked: " << set.source_path(edge) << "@" << edge.digest() << " (for "
                    << set.destination_path(edge) << "): " << d.detail << '\n';
                break;
            default:
                break;
        }
    }

    const auto& r = plan.requests;
    double per_edge = edges.empty() ? 0 : double(r.listings + r.heads) / double(edges.size());
    double minimum = edges.empty() ? 0 : double(r.minimum) / double(edges.size());
    out << "requests: " << r.listings << " listings (" << r.listing_pages << " pages), " << r.heads
        << " HEADs";
    if (r.http_requests != 0) {
        out << ", " << r.http_requests << " HTTP requests in all";
    }
    out << "; " << fixed(per_edge, 3) << " per edge (minimum " << fixed(minimum, 3) << ")\n";
}

nlohmann::ordered_json plan_to_json(const promotion_plan& plan) {
    const auto& set = *plan.edges;
    nlohmann::ordered_json json;
    json["summary"] = counts_json(plan.counts);
    json["summary"]["edges"] = set.edges.size();
    json["summary"]["redundant"] = set.redundant;

    auto destinations = nlohmann::ordered_json::array();
    for (const auto& row : rows_of(plan)) {
        nlohmann::ordered_json item{
            {"project", row.project}, {"source", row.source}, {"destination", row.registry}};
        item.update(counts_json(row.counts));
        destinations.push_back(std::move(item));
    }
    json["destinations"] = std::move(destinations);

    auto edges = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < set.edges.size(); ++i) {
        const auto& edge = set.edges[i];
        const auto& d = plan.decisions[i];
        nlohmann::ordered_json item{{"project", edge.manifest->project},
                                    {"source", set.source_path(edge)},
                                    {"destination", set.destination_path(edge)},
                                    {"digest", edge.digest()},
                                    {"tags", set.tags(edge)},
                                    {"outcome", to_string(d.outcome)}};
        if (d.outcome == edge_outcome::promote) {
            item["missing_tags"] = d.missing_tags;
            item["digest_present"] = d.digest_present;
        }
        if (!d.detail.empty()) {
            item["detail"] = d.detail;
        }
        edges.push_back(std::move(item));
    }
    json["edges"] = std::move(edges);

    const auto& r = plan.requests;
    json["requests"] = {{"listings", r.listings},
                        {"listing_pages", r.listing_pages},
                        {"heads", r.heads},
                        {"http_requests", r.http_requests},
                        {"minimum", r.minimum}};
    return json;
}

}  // namespace hoist::engine
