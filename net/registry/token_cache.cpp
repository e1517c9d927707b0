// SPDX-License-Identifier: Apache-2.0
#include "net/registry/token_cache.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace hoist::net::registry {
namespace {

// simdjson 3.0's document has no at_end(); past the last token current_location() says so.
bool at_end(simdjson::ondemand::document& doc) {
    const char* at = nullptr;
    return doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
}

// simdjson's message without its trailing period, to be followed by a position.
std::string json_message(simdjson::error_code e) {
    std::string out = simdjson::error_message(e);
    while (!out.empty() && (out.back() == '.' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

std::string json_problem(simdjson::error_code e, simdjson::ondemand::document& doc,
                         const simdjson::padded_string& text) {
    std::string out = "malformed JSON";
    const char* at = nullptr;
    if (e != simdjson::INCOMPLETE_ARRAY_OR_OBJECT && !doc.current_location().get(at) &&
        at >= text.data() && at <= text.data() + text.size()) {
        out += " at offset " + std::to_string(at - text.data());
    }
    return out + ": " + json_message(e);
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) {
        return false;
    }
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// RFC 3339 §5.6 date-time: 2006-01-02T15:04:05.999999999+07:00 (or Z).
std::optional<token_clock::time_point> parse_rfc3339(std::string_view s) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (s.size() < 20 || !read_digits(s, 0, 4, y) || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
        s[7] != '-' || !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
        !read_digits(s, 11, 2, h) || s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' ||
        !read_digits(s, 17, 2, sec)) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    std::chrono::nanoseconds fraction{0};
    if (s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        std::int64_t scale = 100'000'000;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            fraction += std::chrono::nanoseconds((s[pos] - '0') * scale);
            scale /= 10;  // digits past nanoseconds add nothing
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
    }
    std::chrono::minutes offset{0};
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh = 0, om = 0;
        if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset = std::chrono::hours(oh) + std::chrono::minutes(om);
        if (s[pos] == '-') {
            offset = -offset;
        }
        pos += 6;
    } else {
        return std::nullopt;
    }
    std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(unsigned(mo)),
                                     std::chrono::day(unsigned(d))};
    // Second 60 is a leap second (RFC 3339 §5.7).
    if (pos != s.size() || !date.ok() || h > 23 || mi > 59 || sec > 60) {
        return std::nullopt;
    }
    auto t = std::chrono::sys_days(date) + std::chrono::hours(h) + std::chrono::minutes(mi) +
             std::chrono::seconds(sec) + fraction - offset;
    return std::chrono::time_point_cast<token_clock::duration>(t);
}

}  // namespace

std::string scope_for(std::string_view repository, bool push) {
    std::string out = "repository:";
    out += repository;
    out += push ? ":pull,push" : ":pull";
    return out;
}

std::vector<std::string> merge_scopes(std::vector<std::string> scopes) {
    std::map<std::string, std::set<std::string>> actions_of;  // "type:name" -> actions
    std::set<std::string> out_set;
    for (auto& scope : scopes) {
        std::size_t first = scope.find(':');
        std::size_t last = scope.rfind(':');
        if (first == std::string::npos || first == last) {
            out_set.insert(std::move(scope));
            continue;
        }
        auto& actions = actions_of[scope.substr(0, last)];
        std::string_view list = std::string_view(scope).substr(last + 1);
        while (true) {
            std::size_t comma = list.find(',');
            if (!list.substr(0, comma).empty()) {
                actions.emplace(list.substr(0, comma));
            }
            if (comma == std::string_view::npos) {
                break;
            }
            list.remove_prefix(comma + 1);
        }
    }
    for (const auto& [resource, actions] : actions_of) {
        std::string scope = resource + ":";
        for (const auto& action : actions) {
            if (scope.back() != ':') {
                scope += ',';
            }
            scope += action;
        }
        out_set.insert(std::move(scope));
    }
    return {out_set.begin(), out_set.end()};
}

token_key::token_key(std::string realm, std::string service, std::vector<std::string> scopes)
    : realm_(std::move(realm)),
      service_(std::move(service)),
      scopes_(merge_scopes(std::move(scopes))) {}

result<token_response> parse_token_response(std::string_view json) {
    auto bad = [](const std::string& what) {
        return fail(errc::bad_response, "token response: " + what);
    };
    simdjson::padded_string text(json);
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    if (auto e = parser.iterate(text).get(doc)) {
        return bad("malformed JSON: " + json_message(e));
    }
    simdjson::ondemand::object object;
    if (auto e = doc.get_object().get(object)) {
        return bad(e == simdjson::INCORRECT_TYPE ? std::string("not a JSON object")
                                                 : json_problem(e, doc, text));
    }
    token_response out;
    std::string token;
    std::string access_token;
    for (auto field_result : object) {
        simdjson::ondemand::field field;
        std::string_view key;
        if (auto e = std::move(field_result).get(field)) {
            return bad(json_problem(e, doc, text));
        }
        if (auto e = field.unescaped_key().get(key)) {
            return bad(json_problem(e, doc, text));
        }
        simdjson::ondemand::value value = field.value();
        simdjson::ondemand::json_type type;
        if (auto e = value.type().get(type)) {
            return bad(json_problem(e, doc, text));
        }
        if (type == simdjson::ondemand::json_type::null) {
            continue;  // as Go's encoding/json does: null leaves the field unset
        }
        bool is_token = key == "token" || key == "access_token";
        if (is_token || key == "issued_at" || key == "refresh_token") {
            std::string_view s;
            if (type != simdjson::ondemand::json_type::string || value.get_string().get(s)) {
                return bad("\"" + std::string(key) + "\" is not a string");
            }
            if (key == "token") {
                token = s;
            } else if (key == "access_token") {
                access_token = s;
            } else if (key == "refresh_token") {
                out.refresh_token = std::string(s);
            } else {
                out.issued_at = parse_rfc3339(s);
                if (!out.issued_at) {
                    return bad("issued_at \"" + std::string(s) + "\" is not an RFC 3339 time");
                }
            }
        } else if (key == "expires_in") {
            double seconds = 0;
            if (type != simdjson::ondemand::json_type::number || value.get_double().get(seconds)) {
                return bad("\"expires_in\" is not a number");
            }
            // Absurd values are clamped, not rejected: a day is plenty.
            seconds = std::clamp(seconds, 0.0, 86400.0);
            out.expires_in = std::chrono::seconds(static_cast<std::int64_t>(std::floor(seconds)));
            if (out.expires_in <= std::chrono::seconds(0)) {
                out.expires_in = min_token_lifetime;
            }
        }
    }
    if (!at_end(doc)) {
        return bad("malformed JSON: content after the top-level object");
    }
    // "access_token" and "token" mean the same; docker prefers access_token.
    out.token = !access_token.empty() ? std::move(access_token) : std::move(token);
    if (out.token.empty()) {
        return bad("no \"token\" or \"access_token\"");
    }
    return out;
}

token_cache::token_cache(clock_function now) : now_(std::move(now)), sweep_at_(64) {}

std::optional<bearer_token> token_cache::find(const token_key& key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        return std::nullopt;
    }
    if (it->second.token.expires_at - now_() < it->second.margin) {
        return std::nullopt;
    }
    return it->second.token;
}

bearer_token token_cache::store(const token_key& key, std::string token,
                                std::chrono::seconds expires_in,
                                std::optional<token_clock::time_point> issued_at) {
    token_clock::time_point now = now_();
    token_clock::duration lifetime = std::max(expires_in, min_token_lifetime);
    token_clock::time_point start = issued_at ? std::min(*issued_at, now) : now;
    bearer_token out{std::move(token), start + lifetime};
    token_clock::duration margin = std::min<token_clock::duration>(max_token_margin, lifetime / 10);
    entries_.insert_or_assign(key, entry{out, margin});
    if (entries_.size() >= sweep_at_) {
        drop_expired(now);
        sweep_at_ = std::max<std::size_t>(64, 2 * entries_.size());
    }
    return out;
}

void token_cache::invalidate(const token_key& key, std::string_view rejected_token) {
    auto it = entries_.find(key);
    if (it != entries_.end() &&
        (rejected_token.empty() || it->second.token.token == rejected_token)) {
        entries_.erase(it);
    }
}

void token_cache::drop_expired(token_clock::time_point now) {
    std::erase_if(entries_, [now](const auto& item) {
        return item.second.token.expires_at - now < item.second.margin;
    });
}

}  // namespace hoist::net::registry
