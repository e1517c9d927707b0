// SPDX-License-Identifier: Apache-2.0
#include "net/registry/registry_client.hpp"

#include "crypto/sha256.hpp"
#include "net/registry/link_header.hpp"
#include "net/registry/media_types.hpp"
#include "net/registry/retry_policy.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace hoist::net::registry {

namespace {

constexpr std::size_t max_error_body = 64u << 10;

std::string blobs_path(const repository_ref& repo, std::string_view digest) {
    return "/v2/" + repo.repository + "/blobs/" + std::string(digest);
}

std::string manifests_path(const repository_ref& repo, std::string_view reference) {
    return "/v2/" + repo.repository + "/manifests/" + std::string(reference);
}

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string with_query(std::string target, std::string_view parameter) {
    target += target.find('?') == std::string::npos ? '?' : '&';
    target += parameter;
    return target;
}

std::string encode_digest(std::string_view digest) {
    std::string out(digest);
    if (auto colon = out.find(':'); colon != std::string::npos) {
        out.replace(colon, 1, "%3A");
    }
    return out;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool same_origin(const origin& a, const origin& b) {
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

}  // namespace

asio::awaitable<result<std::string>> memory_blob_source::next(deadline) {
    if (done_) {
        co_return std::string();
    }
    done_ = true;
    co_return std::move(bytes_);
}

struct blob_reader::hasher {
    crypto::sha256 state;
};

blob_reader::blob_reader(std::unique_ptr<http_exchange> exchange, std::string what,
                         std::string digest, std::int64_t size, bool verify_digest,
                         std::chrono::milliseconds stall_timeout)
    : exchange_(std::move(exchange)),
      what_(std::move(what)),
      digest_(std::move(digest)),
      size_(size),
      verify_(verify_digest),
      stall_timeout_(stall_timeout),
      hasher_(verify_digest ? std::make_unique<hasher>() : nullptr) {}

blob_reader::~blob_reader() {
    end_accounting();
}

void blob_reader::account(request_budget* budget, std::string host, request_budget::permit permit) {
    budget_ = budget;
    host_ = std::move(host);
    permit_ = std::move(permit);
}

void blob_reader::abandon() {
    exchange_.reset();
    abandoned_ = true;
    end_accounting();
}

void blob_reader::end_accounting() {
    if (budget_ != nullptr) {
        budget_->record_bytes(host_, 0, static_cast<std::uint64_t>(received_));
        budget_ = nullptr;
    }
    permit_.finish(200);
}

asio::awaitable<result<std::string>> blob_reader::next(deadline until) {
    if (!exchange_) {
        if (abandoned_) {
            co_return fail(errc::cancelled, what_ + ": read after the download was given up");
        }
        co_return std::string();
    }
    auto chunk = co_await exchange_->read_body(until.within(stall_timeout_));
    if (!chunk) {
        abandon();
        co_return with_context(chunk.error(), what_);
    }
    received_ += static_cast<std::int64_t>(chunk->size());
    if (size_ >= 0 && received_ > size_) {
        abandon();
        co_return fail(errc::size_mismatch,
                       what_ + ": more than the expected " + std::to_string(size_) + " bytes");
    }
    if (hasher_) {
        hasher_->state.update(*chunk);
    }
    if (!chunk->empty()) {
        co_return std::move(*chunk);
    }
    exchange_.reset();
    end_accounting();
    if (size_ >= 0 && received_ != size_) {
        co_return fail(errc::truncated_body, what_ + ": got " + std::to_string(received_) + " of " +
                                                 std::to_string(size_) + " bytes");
    }
    if (hasher_) {
        auto actual = crypto::to_digest(hasher_->state.finish());
        if (actual != digest_) {
            co_return fail(errc::digest_mismatch, what_ + ": content hashes to " + actual);
        }
    }
    co_return std::string();
}

registry_client::registry_client(registry_session& session, registry_client_options options)
    : session_(session), options_(options) {}

asio::awaitable<result<origin>> registry_client::ping(std::string registry, deadline until) {
    co_return co_await session_.ping(std::move(registry), until);
}

asio::awaitable<result<std::optional<manifest_info>>> registry_client::head_manifest(
    repository_ref repo, std::string reference, deadline until) {
    registry_call call{"HEAD",
                       manifests_path(repo, reference),
                       {{"accept", std::string(manifest_accept_header())}},
                       {},
                       {scope_for(repo.repository, false)},
                       max_error_body};
    // Built only on failure: this runs for every image of a promotion.
    auto what = [&] {
        return "HEAD manifest " + repo.to_string() +
               (reference.starts_with("sha256:") ? "@" : ":") + reference;
    };
    auto response = co_await session_.send(repo.registry, std::move(call), until);
    if (!response) {
        co_return with_context(response.error(), what());
    }
    if (response->status == 404) {
        co_return std::nullopt;
    }
    if (response->status != 200) {
        co_return status_failure(*response, what());
    }
    auto digest = response->header("docker-content-digest");
    auto type = response->header("content-type");
    if (!digest || !is_valid_digest(*digest)) {
        // Some registries omit the digest on HEAD: fall back to reading the manifest.
        auto fetched = co_await get_manifest(repo, reference, until);
        if (!fetched) {
            if (fetched.error().is(errc::not_found)) {
                co_return std::nullopt;
            }
            co_return fetched.error();
        }
        co_return manifest_info{fetched->digest, fetched->media_type,
                                static_cast<std::int64_t>(fetched->body.size())};
    }
    if (reference.starts_with("sha256:") && *digest != reference) {
        co_return fail(errc::digest_mismatch,
                       what() + ": registry answered for " + std::string(*digest));
    }
    manifest_info info{std::string(*digest),
                       type ? std::string(media_type_essence(*type)) : std::string(), 0};
    if (auto length = response->header("content-length")) {
        info.size = std::strtoll(std::string(*length).c_str(), nullptr, 10);
    }
    co_return info;
}

asio::awaitable<result<fetched_manifest>> registry_client::get_manifest(repository_ref repo,
                                                                        std::string reference,
                                                                        deadline until) {
    // Built only on failure: this runs for every image of a promotion.
    auto what = [&] {
        return "manifest " + repo.to_string() + (reference.starts_with("sha256:") ? "@" : ":") +
               reference;
    };
    registry_call call{"GET",
                       manifests_path(repo, reference),
                       {{"accept", std::string(manifest_accept_header())}},
                       {},
                       {scope_for(repo.repository, false)},
                       max_manifest_size};
    auto response = co_await session_.send(repo.registry, std::move(call), until);
    if (!response) {
        if (response.error().is(errc::body_too_large)) {
            co_return fail(errc::manifest_too_large, what());
        }
        co_return with_context(response.error(), what());
    }
    if (response->status != 200) {
        co_return status_failure(*response, what());
    }
    fetched_manifest out;
    out.body = std::move(response->body);
    out.digest = crypto::digest_of(out.body);
    if (reference.starts_with("sha256:") && out.digest != reference) {
        co_return fail(errc::digest_mismatch, what() + ": content hashes to " + out.digest);
    }
    if (auto header = response->header("docker-content-digest");
        header && header->starts_with("sha256:") && *header != out.digest) {
        co_return fail(errc::digest_mismatch, what() + ": registry says " + std::string(*header) +
                                                  ", content hashes to " + out.digest);
    }
    if (auto type = response->header("content-type")) {
        out.media_type = std::string(media_type_essence(*type));
    }
    if (!is_known_manifest(out.media_type)) {
        // Registries serving OCI manifests without Content-Type: trust the body's mediaType.
        auto parsed = parse_manifest(out.body, out.media_type);
        if (!parsed) {
            co_return with_context(parsed.error(), what());
        }
        out.media_type = parsed->media_type;
    }
    co_return out;
}

asio::awaitable<result<http_response>> registry_client::send_manifest(
    repository_ref repo, const std::string& reference, std::string body, std::string media_type,
    const std::string& what, deadline until) {
    if (body.size() > max_manifest_size) {
        co_return fail(errc::manifest_too_large, what);
    }
    std::string digest = crypto::digest_of(body);
    if (reference.starts_with("sha256:") && reference != digest) {
        co_return fail(errc::digest_mismatch, what + ": content hashes to " + digest);
    }
    registry_call call{"PUT",
                       manifests_path(repo, reference),
                       {{"content-type", std::move(media_type)}},
                       std::move(body),
                       {scope_for(repo.repository, true)},
                       max_error_body};
    auto response = co_await session_.send(repo.registry, std::move(call), until);
    if (!response) {
        co_return with_context(response.error(), what);
    }
    if (response->status != 201 && response->status != 200) {
        co_return status_failure(*response, what);
    }
    if (auto header = response->header("docker-content-digest");
        header && header->starts_with("sha256:") && *header != digest) {
        co_return fail(errc::digest_mismatch,
                       what + ": registry stored " + std::string(*header) + ", sent " + digest);
    }
    ++counters_.manifests_put;
    co_return std::move(*response);
}

asio::awaitable<result<std::string>> registry_client::put_manifest(repository_ref repo,
                                                                   std::string reference,
                                                                   std::string body,
                                                                   std::string media_type,
                                                                   deadline until) {
    std::string what = "PUT manifest " + repo.to_string() +
                       (reference.starts_with("sha256:") ? "@" : ":") + reference;
    std::string digest = crypto::digest_of(body);
    auto response = co_await send_manifest(repo, reference, std::move(body), std::move(media_type),
                                           what, until);
    if (!response) {
        co_return response.error();
    }
    co_return digest;
}

asio::awaitable<result<std::string>> registry_client::attach_referrer(
    repository_ref repo, std::string body, std::string subject_digest, descriptor entry,
    deadline until, std::optional<std::vector<descriptor>> tag_entries) {
    std::string digest = crypto::digest_of(body);
    std::string what = "PUT referrer " + repo.to_string() + "@" + digest + " of " + subject_digest;
    entry.digest = digest;
    entry.size = static_cast<std::int64_t>(body.size());
    entry.media_type = std::string(media_type::oci_manifest);
    auto response = co_await send_manifest(repo, digest, std::move(body),
                                           std::string(media_type::oci_manifest), what, until);
    if (!response) {
        co_return response.error();
    }
    if (response->header("oci-subject") == std::optional<std::string_view>(subject_digest)) {
        co_return digest;
    }
    auto indexed =
        co_await add_to_referrers_tag(repo, subject_digest, entry, until, std::move(tag_entries));
    if (!indexed) {
        co_return with_context(indexed.error(), what);
    }
    co_return digest;
}

asio::awaitable<result<void>> registry_client::add_to_referrers_tag(
    repository_ref repo, const std::string& subject_digest, const descriptor& entry, deadline until,
    std::optional<std::vector<descriptor>> known_entries) {
    std::string tag = digest_as_tag(subject_digest);
    std::vector<descriptor> listed;
    if (known_entries) {
        listed = std::move(*known_entries);
    } else {
        auto current = co_await get_manifest(repo, tag, until);
        if (current) {
            auto parsed = parse_manifest(current->body, media_type_essence(current->media_type));
            if (!parsed) {
                co_return with_context(parsed.error(),
                                       "referrers tag " + repo.to_string() + ":" + tag);
            }
            listed = std::move(parsed->manifests);
        } else if (!current.error().is(errc::not_found)) {
            co_return current.error();
        }
    }
    for (const auto& known : listed) {
        if (known.digest == entry.digest) {
            co_return result<void>{};
        }
    }
    listed.push_back(entry);
    nlohmann::ordered_json index;
    index["schemaVersion"] = 2;
    index["mediaType"] = media_type::oci_index;
    index["manifests"] = nlohmann::ordered_json::array();
    for (const auto& d : listed) {
        nlohmann::ordered_json item;
        item["mediaType"] = d.media_type;
        item["digest"] = d.digest;
        item["size"] = d.size;
        if (!d.artifact_type.empty()) {
            item["artifactType"] = d.artifact_type;
        }
        if (!d.annotations.empty()) {
            item["annotations"] = d.annotations;
        }
        index["manifests"].push_back(std::move(item));
    }
    // Whether the write succeeds or not, what was remembered of the tag no longer holds.
    auto key = repo.to_string() + "@" + subject_digest;
    if (auto stale = referrers_tags_written_.find(key); stale != referrers_tags_written_.end()) {
        referrer_entries_remembered_ -= stale->second.size();
        referrers_tags_written_.erase(stale);
    }
    std::string body = index.dump();
    auto written =
        co_await put_manifest(repo, tag, body, std::string(media_type::oci_index), until);
    if (!written) {
        co_return written.error();
    }
    ++counters_.referrers_tags_put;
    // Kept as a reader parses it back, so that the remembered entries and a read agree.
    constexpr std::size_t remembered_referrer_entries = 1u << 14;
    auto parsed = parse_manifest(body, media_type::oci_index);
    if (parsed &&
        referrer_entries_remembered_ + parsed->manifests.size() <= remembered_referrer_entries) {
        referrer_entries_remembered_ += parsed->manifests.size();
        referrers_tags_written_.emplace(std::move(key), std::move(parsed->manifests));
    }
    co_return result<void>{};
}

asio::awaitable<result<std::optional<std::int64_t>>> registry_client::head_blob(repository_ref repo,
                                                                                std::string digest,
                                                                                deadline until) {
    // Built only on failure: this runs for every image of a promotion.
    auto what = [&] { return "HEAD blob " + repo.to_string() + "@" + digest; };
    registry_call call{
        "HEAD",        blobs_path(repo, digest), {}, {}, {scope_for(repo.repository, false)},
        max_error_body};
    auto response = co_await session_.send(repo.registry, std::move(call), until);
    if (!response) {
        co_return with_context(response.error(), what());
    }
    if (response->status == 404) {
        co_return std::nullopt;
    }
    if (response->status != 200 && response->status != 307) {
        co_return status_failure(*response, what());
    }
    std::int64_t size = -1;
    if (auto length = response->header("content-length")) {
        size = std::strtoll(std::string(*length).c_str(), nullptr, 10);
    }
    co_return size;
}

deferred_blob_download::deferred_blob_download(registry_client& client, repository_ref repo,
                                               std::string digest, std::int64_t size,
                                               std::uint64_t* bytes_read)
    : client_(client),
      repo_(std::move(repo)),
      digest_(std::move(digest)),
      size_(size),
      bytes_read_(bytes_read) {}

asio::awaitable<result<std::string>> deferred_blob_download::next(deadline until) {
    if (!reader_) {
        auto opened = co_await client_.get_blob(repo_, digest_, size_, false, until);
        if (!opened) {
            co_return opened.error();
        }
        reader_ = std::move(*opened);
    }
    auto piece = co_await reader_->next(until);
    if (piece && bytes_read_ != nullptr) {
        *bytes_read_ += piece->size();
    }
    co_return piece;
}

void deferred_blob_download::abandon() {
    if (reader_) {
        reader_->abandon();
    }
}

std::chrono::milliseconds registry_client::stall_timeout() const {
    return session_.budget() != nullptr ? session_.request_timeout() : options_.stall_timeout;
}

asio::awaitable<result<std::unique_ptr<blob_reader>>> registry_client::get_blob(
    repository_ref repo, std::string digest, std::int64_t expected_size, bool verify_digest,
    deadline until) {
    std::string what = "blob " + repo.to_string() + "@" + digest;
    auto home = co_await session_.ping(repo.registry, until);
    if (!home) {
        co_return with_context(home.error(), what);
    }
    std::vector<std::string> scopes{scope_for(repo.repository, false)};
    url target{*home, blobs_path(repo, digest)};
    bool bulk = is_bulk(expected_size);
    target.where.http1_only = bulk;
    const url registry_target = target;  // a retry asks the registry, not where it redirected
    bool auth_refreshed = false;
    const auto stall = stall_timeout();
    const int attempts = session_.attempts();
    for (int redirects = 0, attempt = 0;;) {
        header_list headers;
        std::string auth;
        if (same_origin(target.where, *home)) {
            auto header = co_await session_.authorization(repo.registry, scopes, until);
            if (!header) {
                co_return with_context(header.error(), what);
            }
            auth = std::move(*header);
            if (!auth.empty()) {
                headers.push_back({"authorization", auth});
            }
        }
        // Built before the co_await: g++ 12 mishandles braced temporaries inside one.
        request_head request{"GET", target.target, std::move(headers), 0};
        request_budget::permit permit;
        auto* budget = session_.budget();
        if (budget != nullptr) {
            auto granted = co_await budget->acquire(repo.registry, until);
            if (!granted) {
                co_return with_context(granted.error(), what);
            }
            permit = std::move(*granted);
        }
        // Until a body byte is read, a GET that met a reset, a timeout, a 429 or a 5xx is
        // asked again here, as the session asks again its other requests.
        bool retry_left = attempt + 1 < attempts && !until.expired();
        auto exchange = co_await session_.http().start(target.where, std::move(request), until);
        // No answer, whether the request could not go out or its head never came: one case.
        result<response_head> head = exchange.error();
        if (exchange) {
            head = co_await (*exchange)->read_head(until.within(stall));
        }
        if (budget != nullptr) {
            budget->record(repo.registry, "GET", head ? head->status : 0, 0, 0, attempt);
        }
        if (!head) {
            permit.finish(0);
            if (retry_left && is_transient(head.error())) {
                co_await sleep_for(retry_delay(attempt++, std::nullopt), until);
                target = registry_target;
                continue;
            }
            co_return with_context(head.error(), what);
        }
        if (head->status != 200) {
            permit.finish(head->status);  // a 429 narrows the host's window
        }
        if (should_retry_status(head->status) && retry_left) {
            auto delay = retry_delay(attempt, find_header(head->headers, "retry-after"));
            // A pause past the deadline would only turn the registry's answer into a timeout.
            if (delay < until.remaining()) {
                ++attempt;
                (void)co_await read_all(**exchange, until.within(stall), max_error_body);
                co_await sleep_for(delay, until);
                target = registry_target;
                continue;
            }
        }
        if (head->status == 200) {
            std::int64_t size = expected_size;
            if (head->content_length) {
                auto announced = static_cast<std::int64_t>(*head->content_length);
                if (expected_size >= 0 && announced != expected_size) {
                    co_return fail(errc::size_mismatch,
                                   what + ": registry announces " + std::to_string(announced) +
                                       " bytes, descriptor says " + std::to_string(expected_size));
                }
                size = announced;
            }
            auto reader = std::make_unique<blob_reader>(std::move(*exchange), what, digest, size,
                                                        verify_digest, stall);
            if (budget != nullptr) {
                reader->account(budget, repo.registry, std::move(permit));
            }
            co_return reader;
        }
        if (head->status == 401 && !auth_refreshed && same_origin(target.where, *home)) {
            auth_refreshed = true;
            auto challenge = find_header(head->headers, "www-authenticate");
            session_.reject_authorization(
                repo.registry, scopes, auth,
                challenge ? std::optional<std::string>(*challenge) : std::nullopt);
            continue;
        }
        if (is_redirect(head->status)) {
            auto location = find_header(head->headers, "location");
            if (!location) {
                co_return fail(errc::bad_response, what + ": redirect without Location");
            }
            if (++redirects > options_.max_redirects) {
                co_return fail(errc::too_many_redirects, what);
            }
            auto next = resolve_url(target, *location);
            if (!next) {
                co_return with_context(next.error(), what + ": redirect");
            }
            if (leaves_tls(target.where, next->where)) {
                co_return fail(errc::insecure_refused,
                               what + ": redirect from https to " + next->where.to_string());
            }
            target = std::move(*next);
            target.where.http1_only = bulk;
            continue;
        }
        http_response response{head->status, head->headers, {}};
        if (auto body = co_await read_all(**exchange, until.within(stall), max_error_body)) {
            response.body = std::move(*body);
        }
        co_return status_failure(response, what);
    }
}

asio::awaitable<result<std::string>> registry_client::read_blob(repository_ref repo,
                                                                std::string digest,
                                                                std::int64_t expected_size,
                                                                std::int64_t max_size,
                                                                deadline until) {
    const int attempts = session_.attempts();
    for (int attempt = 0;; ++attempt) {
        auto bytes = co_await read_blob_once(repo, digest, expected_size, max_size, until);
        if (bytes || !is_transient(bytes.error()) || attempt + 1 >= attempts || until.expired()) {
            co_return bytes;
        }
        co_await sleep_for(retry_delay(attempt, std::nullopt), until);
    }
}

asio::awaitable<result<std::string>> registry_client::read_blob_once(const repository_ref& repo,
                                                                     const std::string& digest,
                                                                     std::int64_t expected_size,
                                                                     std::int64_t max_size,
                                                                     deadline until) {
    auto reader = co_await get_blob(repo, digest, expected_size, true, until);
    if (!reader) {
        co_return reader.error();
    }
    std::string bytes;
    if (expected_size > 0 && expected_size <= max_size) {
        bytes.reserve(static_cast<std::size_t>(expected_size));
    }
    for (;;) {
        auto piece = co_await (*reader)->next(until);
        if (!piece) {
            co_return piece.error();
        }
        if (piece->empty()) {
            co_return bytes;
        }
        if (static_cast<std::int64_t>(bytes.size() + piece->size()) > max_size) {
            co_return fail(errc::body_too_large, "blob " + repo.to_string() + "@" + digest +
                                                     " is over " + std::to_string(max_size) +
                                                     " bytes");
        }
        bytes += *piece;
    }
}

asio::awaitable<result<std::string>> registry_client::open_upload(repository_ref repo,
                                                                  deadline until) {
    std::string what = "start upload to " + repo.to_string();
    registry_call call{"POST", "/v2/" + repo.repository + "/blobs/uploads/", {},
                       {},     {scope_for(repo.repository, true)},           max_error_body};
    auto response = co_await session_.send(repo.registry, std::move(call), until);
    if (!response) {
        co_return with_context(response.error(), what);
    }
    if (response->status != 202) {
        co_return status_failure(*response, what);
    }
    auto location = response->header("location");
    if (!location) {
        co_return fail(errc::bad_response, what + ": no Location for the upload");
    }
    co_return std::string(*location);
}

asio::awaitable<void> registry_client::cancel_upload(repository_ref repo, std::string location) {
    registry_call call{
        "DELETE", std::move(location), {}, {}, {scope_for(repo.repository, true)}, max_error_body};
    // Best effort: an abandoned session expires on its own; nothing was committed either way.
    (void)co_await session_.send(repo.registry, std::move(call),
                                 deadline::from_now(std::chrono::seconds(10)));
}

asio::awaitable<result<push_outcome>> registry_client::push_blob(
    repository_ref repo, std::string digest, std::int64_t size, blob_source& source, deadline until,
    std::optional<std::string> mount_from) {
    std::string key = repo.to_string() + "@" + digest;
    for (;;) {
        if (blobs_placed_.contains(key)) {
            co_return push_outcome::joined;
        }
        auto running = pushes_in_flight_.find(key);
        if (running == pushes_in_flight_.end()) {
            break;
        }
        auto flight = running->second;  // outlives its removal from the map
        while (!flight->finished) {
            auto status = co_await flight->waiters.wait(until);
            if (status != wait_status::notified && !flight->finished) {
                co_return fail(errc::timeout,
                               "push blob " + key + ": waiting for the same upload to finish");
            }
        }
        if (flight->succeeded) {
            co_return push_outcome::joined;
        }
        // The other push failed: try again, unless yet another caller already does.
    }
    std::string home_key = repo.registry + "@" + digest;
    std::string repository = repo.repository;
    // Registered before any wait, so that pushes into this repository join this one.
    auto flight = std::make_shared<in_flight>();
    pushes_in_flight_.emplace(key, flight);
    auto pushed = co_await place_blob(std::move(repo), std::move(digest), size, source, until,
                                      std::move(mount_from), home_key, flight);
    flight->finished = true;
    flight->succeeded = pushed.has_value();
    pushes_in_flight_.erase(key);
    // A run places tens of thousands of blobs at most; past the bound, pushes go out.
    constexpr std::size_t remembered_blobs = 1u << 17;
    if (pushed && blobs_placed_.size() < remembered_blobs) {
        blobs_placed_.insert(std::move(key));
        blob_homes_.try_emplace(std::move(home_key), std::move(repository));
    }
    flight->waiters.notify_all();
    co_return pushed;
}

asio::awaitable<result<void>> registry_client::wait_for_placement(const std::string& home_key,
                                                                  deadline until) {
    // The blob on its way into another repository of this registry: waiting to mount it
    // from there beats uploading the same bytes a second time.
    for (auto placing = first_placements_.find(home_key);
         placing != first_placements_.end() && !blob_homes_.contains(home_key);
         placing = first_placements_.find(home_key)) {
        auto other = placing->second;  // outlives its removal from the map
        while (!other->finished) {
            auto status = co_await other->waiters.wait(until);
            if (status != wait_status::notified && !other->finished) {
                co_return fail(errc::timeout, "waiting for its upload into another repository");
            }
        }
    }
    co_return result<void>{};
}

asio::awaitable<result<push_outcome>> registry_client::place_blob(
    repository_ref repo, std::string digest, std::int64_t size, blob_source& source, deadline until,
    std::optional<std::string> mount_from, const std::string& home_key,
    const std::shared_ptr<in_flight>& flight) {
    if (!mount_from) {
        if (auto waited = co_await wait_for_placement(home_key, until); !waited) {
            co_return with_context(waited.error(), "push blob " + repo.to_string() + "@" + digest);
        }
        if (auto home = blob_homes_.find(home_key); home != blob_homes_.end()) {
            mount_from = home->second;
        }
    }
    if (mount_from) {
        co_return co_await push_blob_now(std::move(repo), std::move(digest), size, source, until,
                                         std::move(mount_from));
    }
    // The first placement in this registry: pushes into its other repositories wait for it.
    first_placements_.emplace(home_key, flight);
    auto pushed = co_await push_blob_now(std::move(repo), std::move(digest), size, source, until,
                                         std::nullopt);
    first_placements_.erase(home_key);
    co_return pushed;
}

asio::awaitable<result<push_outcome>> registry_client::push_blob_now(
    repository_ref repo, std::string digest, std::int64_t size, blob_source& source, deadline until,
    std::optional<std::string> mount_from) {
    std::string what = "push blob " + repo.to_string() + "@" + digest;
    if (!is_valid_digest(digest) || !digest.starts_with("sha256:")) {
        co_return fail(errc::digest_mismatch, what + ": only sha256 digests can be verified");
    }
    auto home = co_await session_.ping(repo.registry, until);
    if (!home) {
        co_return with_context(home.error(), what);
    }
    std::string location;
    if (mount_from && *mount_from != repo.repository) {
        registry_call call{"POST",
                           "/v2/" + repo.repository + "/blobs/uploads/?mount=" +
                               encode_digest(digest) + "&from=" + *mount_from,
                           {},
                           {},
                           {scope_for(repo.repository, true), scope_for(*mount_from, false)},
                           max_error_body};
        auto response = co_await session_.send(repo.registry, std::move(call), until);
        if (!response) {
            co_return with_context(response.error(), what + " (mount)");
        }
        if (response->status == 201) {
            ++counters_.blobs_mounted;
            co_return push_outcome::mounted;
        }
        if (response->status != 202) {
            co_return status_failure(*response, what + " (mount)");
        }
        // Declined (the source repository is not readable, or mounts are off): the
        // registry opened an ordinary upload session instead, which we use.
        ++counters_.mounts_declined;
        if (auto header = response->header("location")) {
            location = std::string(*header);
        }
    }
    if (location.empty()) {
        auto opened = co_await open_upload(repo, until);
        if (!opened) {
            co_return opened.error();
        }
        location = std::move(*opened);
    }
    auto resolved = resolve_url(url{*home, "/v2/"}, location);
    if (!resolved) {
        co_return with_context(resolved.error(), what + ": upload Location");
    }
    location = resolved->where.to_string() + resolved->target;
    // No co_await inside ?: — g++ 12 destroys the temporaries of such an expression twice.
    result<void> pushed;
    if (static_cast<std::uint64_t>(size) <= options_.monolithic_upload_limit) {
        pushed = co_await upload_monolithic(repo, location, digest, size, source, until);
    } else {
        pushed = co_await upload_chunked(repo, location, digest, size, source, until);
    }
    if (!pushed) {
        source.abandon();  // its download's place in the budget is for the requests below
    }
    if (!pushed && !pushed.error().is(errc::digest_mismatch) &&
        !pushed.error().is(errc::size_mismatch)) {
        // The commit may have landed with only its answer lost: the retried PUT then meets
        // an upload session the registry already closed (404 BLOB_UPLOAD_UNKNOWN). The blob
        // itself is the truth; the registry verified its digest when it committed it.
        auto landed = co_await head_blob(repo, digest, until);
        if (landed && *landed && **landed == size) {
            ++counters_.commits_recovered;
            pushed = result<void>{};
        }
    }
    if (!pushed) {
        co_await cancel_upload(repo, location);
        co_return with_context(pushed.error(), what);
    }
    ++counters_.blobs_uploaded;
    counters_.bytes_uploaded += static_cast<std::uint64_t>(size);
    co_return push_outcome::uploaded;
}

asio::awaitable<result<void>> registry_client::upload_monolithic(
    repository_ref repo, std::string location, std::string digest, std::int64_t size,
    blob_source& source, deadline until) {
    // Small enough to hold: read it all, check it, and only then send a single byte.
    std::string body;
    for (;;) {
        auto chunk = co_await source.next(until);
        if (!chunk) {
            co_return chunk.error();
        }
        if (chunk->empty()) {
            break;
        }
        if (body.size() + chunk->size() > static_cast<std::uint64_t>(size)) {
            co_return fail(errc::size_mismatch,
                           "source has more than the expected " + std::to_string(size) + " bytes");
        }
        body += *chunk;
    }
    if (static_cast<std::int64_t>(body.size()) != size) {
        co_return fail(errc::size_mismatch, "source has " + std::to_string(body.size()) +
                                                " bytes, expected " + std::to_string(size));
    }
    if (auto actual = crypto::digest_of(body); actual != digest) {
        co_return fail(errc::digest_mismatch, "content hashes to " + actual);
    }
    registry_call call{"PUT",
                       with_query(location, "digest=" + encode_digest(digest)),
                       {{"content-type", std::string("application/octet-stream")}},
                       std::move(body),
                       {scope_for(repo.repository, true)},
                       max_error_body,
                       is_bulk(size)};
    auto response = co_await session_.send(repo.registry, std::move(call), until);
    if (!response) {
        co_return response.error();
    }
    if (response->status != 201) {
        co_return status_failure(*response, "commit upload");
    }
    co_return result<void>{};
}

asio::awaitable<result<void>> registry_client::upload_chunked(repository_ref repo,
                                                              std::string location,
                                                              std::string digest, std::int64_t size,
                                                              blob_source& source, deadline until) {
    const auto stall = stall_timeout();
    auto home = session_.origin_of(repo.registry);
    if (!home) {
        co_return home.error();
    }
    std::vector<std::string> scopes{scope_for(repo.repository, true)};
    crypto::sha256 hash;
    std::uint64_t total = static_cast<std::uint64_t>(size);
    std::uint64_t offset = 0;
    std::string carry;  // bytes read from the source beyond the current chunk
    bool source_done = false;
    while (offset < total) {
        std::uint64_t chunk_size =
            std::min<std::uint64_t>(options_.upload_chunk_size, total - offset);
        auto target = parse_url(location);
        if (!target) {
            co_return target.error();
        }
        if (same_origin(target->where, *home)) {
            target->where.verify_tls = home->verify_tls;  // an insecure registry stays one
        }
        target->where.http1_only = is_bulk(size);
        header_list headers{{"content-type", std::string("application/octet-stream")},
                            {"content-range", std::to_string(offset) + "-" +
                                                  std::to_string(offset + chunk_size - 1)}};
        if (same_origin(target->where, *home)) {
            auto auth = co_await session_.authorization(repo.registry, scopes, until);
            if (!auth) {
                co_return auth.error();
            }
            if (!auth->empty()) {
                headers.push_back({"authorization", std::move(*auth)});
            }
        }
        request_head request{"PATCH", target->target, std::move(headers), chunk_size};
        // The source's download (when it streams one) takes its place in the budget first,
        // and this request its own beside it: see request_budget::acquire.
        if (carry.empty() && !source_done) {
            auto first = co_await source.next(until);
            if (!first) {
                co_return first.error();
            }
            source_done = first->empty();
            carry = std::move(*first);
        }
        request_budget::permit permit;
        auto* budget = session_.budget();
        if (budget != nullptr) {
            auto granted = co_await budget->acquire(repo.registry, until, source.holds_request());
            if (!granted) {
                co_return granted.error();
            }
            permit = std::move(*granted);
        }
        auto exchange = co_await session_.http().start(target->where, std::move(request), until);
        if (!exchange) {
            co_return exchange.error();
        }
        std::uint64_t sent = 0;
        while (sent < chunk_size) {
            std::string piece;
            if (!carry.empty()) {
                piece = std::move(carry);
                carry.clear();
            } else if (!source_done) {
                auto next = co_await source.next(until);
                if (!next) {
                    co_return next.error();
                }
                source_done = next->empty();
                piece = std::move(*next);
            }
            if (piece.empty()) {
                co_return fail(errc::size_mismatch, "source ended at " +
                                                        std::to_string(offset + sent) + " of " +
                                                        std::to_string(total) + " bytes");
            }
            if (piece.size() > chunk_size - sent) {
                carry = piece.substr(chunk_size - sent);
                piece.resize(chunk_size - sent);
            }
            hash.update(piece);
            auto written = co_await (*exchange)->write_body(as_bytes(piece), until.within(stall));
            if (!written) {
                co_return written.error();
            }
            sent += piece.size();
        }
        if (offset + sent == total) {
            // Everything is out except the END of this request. A mismatch found now
            // aborts the request, so the registry never holds a complete wrong body.
            if (!carry.empty()) {
                co_return fail(errc::size_mismatch,
                               "source has more than " + std::to_string(total) + " bytes");
            }
            if (!source_done) {
                auto tail = co_await source.next(until);
                if (!tail) {
                    co_return tail.error();
                }
                if (!tail->empty()) {
                    co_return fail(errc::size_mismatch,
                                   "source has more than " + std::to_string(total) + " bytes");
                }
                source_done = true;
            }
            if (auto actual = crypto::to_digest(hash.finish()); actual != digest) {
                co_return fail(errc::digest_mismatch, "content hashes to " + actual);
            }
        }
        if (auto finished = co_await (*exchange)->finish_body(until.within(stall)); !finished) {
            co_return finished.error();
        }
        auto head = co_await (*exchange)->read_head(until.within(stall));
        if (budget != nullptr) {
            budget->record(repo.registry, "PATCH", head ? head->status : 0, sent, 0, 0);
        }
        permit.finish(head ? head->status : 0);
        if (!head) {
            co_return head.error();
        }
        if (head->status != 202 && head->status != 204) {
            http_response response{head->status, head->headers, {}};
            if (auto body = co_await read_all(**exchange, until.within(stall), max_error_body)) {
                response.body = std::move(*body);
            }
            co_return status_failure(response, "upload chunk at " + std::to_string(offset));
        }
        (void)co_await read_all(**exchange, until.within(stall), max_error_body);
        if (auto next_location = find_header(head->headers, "location")) {
            auto resolved = resolve_url(*target, *next_location);
            if (!resolved) {
                co_return resolved.error();
            }
            location = resolved->where.to_string() + resolved->target;
        }
        offset += sent;
    }
    registry_call commit{"PUT",  with_query(location, "digest=" + encode_digest(digest)),
                         {},     {},
                         scopes, max_error_body};
    auto response = co_await session_.send(repo.registry, std::move(commit), until);
    if (!response) {
        co_return response.error();
    }
    if (response->status != 201) {
        co_return status_failure(*response, "commit upload");
    }
    co_return result<void>{};
}

asio::awaitable<result<std::vector<std::string>>> registry_client::paginate(
    std::string registry, std::string first_page, std::vector<std::string> scopes, std::string what,
    deadline until, std::vector<tag_page>* tag_pages) {
    std::vector<std::string> items;
    std::set<std::string> seen{first_page};
    std::string page = std::move(first_page);
    for (;;) {
        registry_call call{"GET", page, {}, {}, scopes, 64u << 20};
        auto response = co_await session_.send(registry, std::move(call), until);
        if (!response) {
            co_return with_context(response.error(), what);
        }
        if (response->status != 200) {
            co_return status_failure(*response, what);
        }
        if (tag_pages != nullptr) {
            auto parsed = parse_tag_page(response->body);
            if (!parsed) {
                co_return with_context(parsed.error(), what);
            }
            tag_pages->push_back(std::move(*parsed));
        } else {
            auto parsed = parse_catalog_page(response->body);
            if (!parsed) {
                co_return with_context(parsed.error(), what);
            }
            items.insert(items.end(), parsed->begin(), parsed->end());
        }
        auto next = next_page(*response, seen, what);
        if (!next) {
            co_return next.error();
        }
        if (!*next) {
            co_return items;
        }
        page = std::move(**next);
    }
}

result<std::optional<std::string>> registry_client::next_page(const http_response& page,
                                                              std::set<std::string>& seen,
                                                              const std::string& what) const {
    auto link = page.header("link");
    if (!link) {
        return std::optional<std::string>();
    }
    auto next = next_link(*link);
    if (!next) {
        return with_context(next.error(), what);
    }
    if (*next && (seen.size() >= options_.max_pages || !seen.insert(**next).second)) {
        return fail(errc::pagination_loop, what + ": Link chain repeats or exceeds " +
                                               std::to_string(options_.max_pages) + " pages at " +
                                               **next);
    }
    return *next;
}

asio::awaitable<result<tag_listing>> registry_client::list_tags(repository_ref repo,
                                                                deadline until) {
    std::vector<tag_page> pages;
    std::vector<std::string> scopes;
    scopes.push_back(scope_for(repo.repository, false));
    auto listed = co_await paginate(
        repo.registry,
        "/v2/" + repo.repository + "/tags/list?n=" + std::to_string(options_.page_size),
        std::move(scopes), "tags of " + repo.to_string(), until, &pages);
    if (!listed) {
        co_return listed.error();
    }
    tag_listing out;
    out.pages = pages.size();
    for (auto& page : pages) {
        out.tags.insert(out.tags.end(), page.tags.begin(), page.tags.end());
        if (page.has_digest_map) {
            out.has_digest_map = true;
            for (auto& [digest, tags] : page.tags_by_digest) {
                auto& into = out.tags_by_digest[digest];
                into.insert(into.end(), tags.begin(), tags.end());
            }
        }
    }
    co_return out;
}

asio::awaitable<result<std::vector<std::string>>> registry_client::catalog(std::string registry,
                                                                           deadline until) {
    std::string first = "/v2/_catalog?n=" + std::to_string(options_.page_size);
    std::vector<std::string> scopes;
    scopes.emplace_back(catalog_scope);
    co_return co_await paginate(registry, first, std::move(scopes), "catalog of " + registry, until,
                                nullptr);
}

asio::awaitable<result<std::vector<descriptor>>> registry_client::referrers(
    repository_ref repo, std::string digest, std::string artifact_type, deadline until,
    bool tag_known_absent) {
    std::string what = "referrers of " + repo.to_string() + "@" + digest;
    std::string target = "/v2/" + repo.repository + "/referrers/" + digest;
    if (!artifact_type.empty()) {
        target += "?artifactType=" + artifact_type;
    }
    // A registry that ignores the filter (no OCI-Filters-Applied) lists them all.
    auto of_type = [&](std::vector<descriptor> listed) {
        std::erase_if(listed, [&](const descriptor& d) {
            return !artifact_type.empty() && d.artifact_type != artifact_type;
        });
        return listed;
    };
    std::shared_ptr<in_flight> probe;  // set when this call asks whether the API exists
    if (!without_referrers_api_.contains(repo.registry) &&
        !with_referrers_api_.contains(repo.registry)) {
        if (auto running = referrers_probes_.find(repo.registry);
            running != referrers_probes_.end()) {
            auto other = running->second;  // outlives its removal from the map
            while (!other->finished) {
                auto waited = co_await other->waiters.wait(until);
                if (waited != wait_status::notified && !other->finished) {
                    co_return fail(errc::timeout, what + ": waiting for the referrers API probe");
                }
            }
        } else {
            probe = std::make_shared<in_flight>();
            referrers_probes_.emplace(repo.registry, probe);
        }
    }
    if (!without_referrers_api_.contains(repo.registry)) {
        registry_call call{"GET",
                           target,
                           {{"accept", std::string(media_type::oci_index)}},
                           {},
                           {scope_for(repo.repository, false)},
                           max_manifest_size};
        auto response = co_await session_.send(repo.registry, std::move(call), until);
        bool no_api = response && (response->status == 404 || response->status == 400);
        if (response && response->status == 200) {
            with_referrers_api_.insert(repo.registry);
        } else if (no_api) {
            without_referrers_api_.insert(repo.registry);
        }
        if (probe) {
            // Answered or not, the waiting calls go on: they find the verdict, or ask.
            probe->finished = true;
            referrers_probes_.erase(repo.registry);
            probe->waiters.notify_all();
        }
        if (!response) {
            co_return with_context(response.error(), what);
        }
        if (!no_api) {
            if (response->status != 200) {
                co_return status_failure(*response, what);
            }
            auto listed =
                co_await referrer_pages(repo, std::move(*response), std::move(target), what, until);
            if (!listed) {
                co_return listed.error();
            }
            co_return of_type(std::move(*listed));
        }
    }
    // No referrers API here: the fallback tag `sha256-<hex>` holds an index of them.
    if (auto written = referrers_tags_written_.find(repo.to_string() + "@" + digest);
        written != referrers_tags_written_.end()) {
        co_return of_type(written->second);
    }
    if (tag_known_absent) {
        co_return std::vector<descriptor>();
    }
    auto index = co_await get_manifest(repo, digest_as_tag(digest), until);
    if (!index) {
        if (index.error().is(errc::not_found)) {
            co_return std::vector<descriptor>();
        }
        co_return with_context(index.error(), what);
    }
    auto parsed = parse_manifest(index->body, media_type_essence(index->media_type));
    if (!parsed) {
        co_return with_context(parsed.error(), what);
    }
    co_return of_type(std::move(parsed->manifests));
}

asio::awaitable<result<std::vector<descriptor>>> registry_client::referrer_pages(
    const repository_ref& repo, http_response first, std::string first_target,
    const std::string& what, deadline until) {
    std::vector<descriptor> listed;
    std::set<std::string> seen{std::move(first_target)};
    http_response page = std::move(first);
    for (;;) {
        auto content_type = page.header("content-type").value_or(media_type::oci_index);
        auto parsed = parse_manifest(page.body, media_type_essence(content_type));
        if (!parsed) {
            co_return with_context(parsed.error(), what);
        }
        std::move(parsed->manifests.begin(), parsed->manifests.end(), std::back_inserter(listed));
        auto next = next_page(page, seen, what);
        if (!next) {
            co_return next.error();
        }
        if (!*next) {
            co_return listed;
        }
        registry_call call{"GET",
                           **next,
                           {{"accept", std::string(media_type::oci_index)}},
                           {},
                           {scope_for(repo.repository, false)},
                           max_manifest_size};
        auto response = co_await session_.send(repo.registry, std::move(call), until);
        if (!response) {
            co_return with_context(response.error(), what);
        }
        if (response->status != 200) {
            co_return status_failure(*response, what);
        }
        page = std::move(*response);
    }
}

}  // namespace hoist::net::registry
