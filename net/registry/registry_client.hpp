// SPDX-License-Identifier: Apache-2.0
/// The OCI distribution API: manifests (HEAD/GET/PUT, bodies byte-exact), blobs (HEAD,
/// streaming GET through redirects, uploads monolithic or chunked, cross-repository
/// mounts), tag listing with pagination, the catalog, and referrers.
/// Executor: the io_context of the session's http_client; not thread-safe.
#pragma once

#include "net/asio.hpp"
#include "net/deadline.hpp"
#include "net/error.hpp"
#include "net/http_connection.hpp"
#include "net/registry/listing.hpp"
#include "net/registry/manifest_parse.hpp"
#include "net/registry/reference.hpp"
#include "net/registry/registry_session.hpp"
#include "net/wakeup.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace hoist::net::registry {

struct registry_client_options {
    /// Blobs up to this size are uploaded in one PUT; larger ones in PATCH chunks.
    std::uint64_t monolithic_upload_limit = 8u << 20;
    /// Bytes per PATCH of a chunked upload.
    std::uint64_t upload_chunk_size = 64u << 20;
    /// Entries requested per page of tags/list and _catalog (`n=`).
    std::size_t page_size = 1000;
    /// Pages followed at most before a listing is declared a loop.
    std::size_t max_pages = 100'000;
    int max_redirects = 5;
    /// Blobs at least this large travel over dedicated HTTP/1.1 connections, the rest over
    /// the shared HTTP/2 ones: Go registries serve bulk bodies with less CPU over HTTP/1.1.
    /// 0 sends everything over HTTP/2.
    std::uint64_t bulk_threshold = 1u << 20;
    /// A blob transfer that moves no byte for this long has stalled (without a budget;
    /// with one, its request timeout).
    std::chrono::milliseconds stall_timeout{60'000};
};

struct manifest_info {
    std::string digest;
    std::string media_type;
    std::int64_t size = 0;
};

struct fetched_manifest {
    std::string digest;      ///< sha256 of `body`, verified
    std::string media_type;  ///< from Content-Type, else from the body
    std::string body;        ///< exactly the registry's bytes
};

/// Where upload bytes come from. `next` returns the next piece, empty at the end.
class blob_source {
public:
    virtual ~blob_source() = default;
    virtual asio::awaitable<result<std::string>> next(deadline until) = 0;
    /// True while the source holds a place in the request budget (a download still
    /// running): a request that it feeds then takes its place beside it instead of
    /// queueing (request_budget::acquire).
    virtual bool holds_request() const { return false; }
    /// Gives up what the source holds once its consumer failed: nothing more is read.
    virtual void abandon() {}
};

/// A blob held in memory.
class memory_blob_source final : public blob_source {
public:
    explicit memory_blob_source(std::string bytes) : bytes_(std::move(bytes)) {}
    asio::awaitable<result<std::string>> next(deadline until) override;

private:
    std::string bytes_;
    bool done_ = false;
};

/// The body of a blob GET. It fails with size_mismatch when the blob is longer or
/// shorter than expected, truncated_body when the connection ends early, and (when asked
/// to verify) digest_mismatch when its bytes do not hash to the digest.
class blob_reader final : public blob_source {
public:
    blob_reader(std::unique_ptr<http_exchange> exchange, std::string what, std::string digest,
                std::int64_t size, bool verify_digest, std::chrono::milliseconds stall_timeout);
    ~blob_reader() override;
    asio::awaitable<result<std::string>> next(deadline until) override;
    bool holds_request() const override { return permit_.held(); }
    void abandon() override;
    /// The length announced by the registry, or the expected size, or -1.
    std::int64_t size() const { return size_; }
    /// Holds the budget's place for this download until it ends, and counts its bytes.
    void account(request_budget* budget, std::string host, request_budget::permit permit);

private:
    std::unique_ptr<http_exchange> exchange_;
    std::string what_;
    std::string digest_;
    std::int64_t size_;
    std::int64_t received_ = 0;
    bool verify_;
    std::chrono::milliseconds stall_timeout_;
    struct hasher;
    std::unique_ptr<hasher> hasher_;
    request_budget* budget_ = nullptr;
    std::string host_;
    request_budget::permit permit_;
    bool abandoned_ = false;
    void end_accounting();
};

class registry_client;

/// A blob GET opened only when its first bytes are asked for: a push that mounts the blob,
/// or finds it in place, never reads the source. Its bytes are not verified here: the
/// upload it feeds verifies every byte before it commits.
// lifetime: `client` outlives the source.
class deferred_blob_download final : public blob_source {
public:
    /// `bytes_read` (if set) is increased by every piece read.
    deferred_blob_download(registry_client& client, repository_ref repo, std::string digest,
                           std::int64_t size, std::uint64_t* bytes_read = nullptr);
    asio::awaitable<result<std::string>> next(deadline until) override;
    bool holds_request() const override { return reader_ && reader_->holds_request(); }
    void abandon() override;

private:
    registry_client& client_;
    repository_ref repo_;
    std::string digest_;
    std::int64_t size_;
    std::uint64_t* bytes_read_;
    std::unique_ptr<blob_reader> reader_;
};

struct tag_listing {
    std::vector<std::string> tags;
    std::map<std::string, std::vector<std::string>> tags_by_digest;
    bool has_digest_map = false;
    std::size_t pages = 0;
};

enum class push_outcome {
    uploaded,
    mounted,
    /// This client placed the blob in that repository already (or was placing it, and
    /// this push waited for that); nothing was sent.
    joined,
};

struct client_counters {
    std::size_t blobs_uploaded = 0;
    std::size_t blobs_mounted = 0;
    std::size_t mounts_declined = 0;
    /// Uploads whose commit answer was lost but whose blob was found committed.
    std::size_t commits_recovered = 0;
    std::uint64_t bytes_uploaded = 0;
    std::size_t manifests_put = 0;
    /// Referrers tag indexes written for registries without the referrers API.
    std::size_t referrers_tags_put = 0;
};

class registry_client {
public:
    // lifetime: `session` outlives the client.
    explicit registry_client(registry_session& session, registry_client_options options = {});

    registry_session& session() { return session_; }

    /// Resolves the registry's origin and authentication (GET /v2/).
    asio::awaitable<result<origin>> ping(std::string registry, deadline until);

    /// HEAD of a manifest by tag or digest; nullopt when it does not exist.
    asio::awaitable<result<std::optional<manifest_info>>> head_manifest(repository_ref repo,
                                                                        std::string reference,
                                                                        deadline until);
    /// GET of a manifest, accepting the four manifest media types. Refuses bodies over
    /// 4 MiB (manifest_too_large); verifies the digest when `reference` is one.
    asio::awaitable<result<fetched_manifest>> get_manifest(repository_ref repo,
                                                           std::string reference, deadline until);
    /// PUT of exact manifest bytes under a tag or digest. Returns the digest.
    asio::awaitable<result<std::string>> put_manifest(repository_ref repo, std::string reference,
                                                      std::string body, std::string media_type,
                                                      deadline until);

    /// HEAD of a blob: its size, or nullopt when absent.
    asio::awaitable<result<std::optional<std::int64_t>>> head_blob(repository_ref repo,
                                                                   std::string digest,
                                                                   deadline until);
    /// Opens a blob for reading, following redirects; Authorization is sent only to the
    /// registry's own origin. `expected_size` is -1 when unknown.
    asio::awaitable<result<std::unique_ptr<blob_reader>>> get_blob(repository_ref repo,
                                                                   std::string digest,
                                                                   std::int64_t expected_size,
                                                                   bool verify_digest,
                                                                   deadline until);
    /// A whole blob of at most `max_size` bytes, its digest verified. A read that fails
    /// transiently, even halfway through the body, is asked again from the start, within
    /// the session's attempts.
    asio::awaitable<result<std::string>> read_blob(repository_ref repo, std::string digest,
                                                   std::int64_t expected_size,
                                                   std::int64_t max_size, deadline until);
    /// Uploads a blob from `source`, verifying its sha256 and size before committing:
    /// on a mismatch the upload session is cancelled and nothing becomes visible. With
    /// `mount_from` (a repository of the same registry) a mount is tried first, and the
    /// source is only read if the registry declines it. A blob is pushed into a
    /// repository once per client: later and concurrent callers wait for the first and
    /// get `joined` (docker-registry rewrites a blob's link file on every commit; a
    /// manifest PUT that reads it meanwhile fails with DIGEST_INVALID). Without
    /// `mount_from`, a repository of the same registry this client placed the blob in
    /// is mounted from (one request instead of an upload's two), after waiting for that
    /// upload if it is still on its way.
    // lifetime: `source` outlives the call (owned by the caller's frame).
    asio::awaitable<result<push_outcome>> push_blob(repository_ref repo, std::string digest,
                                                    std::int64_t size, blob_source& source,
                                                    deadline until,
                                                    std::optional<std::string> mount_from = {});

    /// All tags of a repository, following Link pagination (bounded; a repeating chain
    /// fails with pagination_loop). A repository that does not exist fails with not_found.
    asio::awaitable<result<tag_listing>> list_tags(repository_ref repo, deadline until);
    /// All repositories of a registry (_catalog), paginated like tags.
    asio::awaitable<result<std::vector<std::string>>> catalog(std::string registry, deadline until);
    /// Manifests that refer to `digest` (OCI 1.1 referrers API, every page its `Link`
    /// headers lead to), optionally of one artifact type; falls back to the `sha256-<hex>`
    /// tag where the API is missing (a 404, which the spec reserves for that, or a 400, as
    /// go-containerregistry also takes it; remembered per registry). The tag is not
    /// read when `tag_known_absent` (the caller listed the repository's tags) or when this
    /// client wrote it last: what it wrote is what a read would return.
    asio::awaitable<result<std::vector<descriptor>>> referrers(repository_ref repo,
                                                               std::string digest,
                                                               std::string artifact_type,
                                                               deadline until,
                                                               bool tag_known_absent = false);

    /// Pushes `body` (an OCI image manifest whose `subject` is `subject_digest`) by its
    /// digest. When the registry does not confirm that it indexed the subject (no
    /// OCI-Subject header, as docker-registry 2.8), the referrers tag `sha256-<hex>` is
    /// kept up to date instead: its index gains `entry` unless it already lists it.
    /// Not safe against other writers of the same subject's tag at the same time: the
    /// caller serialises them. `tag_entries`, when given, is what the referrers tag held
    /// when the caller just read it (empty: no tag), which spares reading it again.
    /// Returns the manifest's digest.
    asio::awaitable<result<std::string>> attach_referrer(
        repository_ref repo, std::string body, std::string subject_digest, descriptor entry,
        deadline until, std::optional<std::vector<descriptor>> tag_entries = std::nullopt);
    /// True once `registry` answered that it has no referrers API: referrers() then reads
    /// the `sha256-<hex>` tag, and what it returns is that tag's whole index.
    bool lacks_referrers_api(const std::string& registry) const {
        return without_referrers_api_.contains(registry);
    }

    const client_counters& counters() const { return counters_; }

private:
    /// How long a blob transfer may make no progress.
    std::chrono::milliseconds stall_timeout() const;

    /// Work one call does for all that ask the same meanwhile (a blob push, the referrers
    /// API probe); the others wait for `finished`.
    struct in_flight {
        bool finished = false;
        bool succeeded = false;  ///< pushes only: a probe's verdict is in the API sets
        wait_list waiters;
    };
    /// Returns once no push of the blob `home_key` ("registry@digest") into another
    /// repository is on its way, or this client has placed it there.
    asio::awaitable<result<void>> wait_for_placement(const std::string& home_key, deadline until);
    /// Pushes the blob with `flight` registered: mounted from where this client placed it in
    /// the registry, else uploaded as the registry's first placement.
    asio::awaitable<result<push_outcome>> place_blob(repository_ref repo, std::string digest,
                                                     std::int64_t size, blob_source& source,
                                                     deadline until,
                                                     std::optional<std::string> mount_from,
                                                     const std::string& home_key,
                                                     const std::shared_ptr<in_flight>& flight);
    asio::awaitable<result<push_outcome>> push_blob_now(repository_ref repo, std::string digest,
                                                        std::int64_t size, blob_source& source,
                                                        deadline until,
                                                        std::optional<std::string> mount_from);
    asio::awaitable<result<http_response>> send_manifest(repository_ref repo,
                                                         const std::string& reference,
                                                         std::string body, std::string media_type,
                                                         const std::string& what, deadline until);
    asio::awaitable<result<void>> add_to_referrers_tag(
        repository_ref repo, const std::string& subject_digest, const descriptor& entry,
        deadline until, std::optional<std::vector<descriptor>> known_entries);
    asio::awaitable<result<std::string>> open_upload(repository_ref repo, deadline until);
    asio::awaitable<result<std::string>> read_blob_once(const repository_ref& repo,
                                                        const std::string& digest,
                                                        std::int64_t expected_size,
                                                        std::int64_t max_size, deadline until);
    asio::awaitable<result<void>> upload_monolithic(repository_ref repo, std::string location,
                                                    std::string digest, std::int64_t size,
                                                    blob_source& source, deadline until);
    asio::awaitable<result<void>> upload_chunked(repository_ref repo, std::string location,
                                                 std::string digest, std::int64_t size,
                                                 blob_source& source, deadline until);
    asio::awaitable<void> cancel_upload(repository_ref repo, std::string location);
    /// The referrers listed by `first` (the API's answer to `first_target`) and by the
    /// pages its Link headers lead to (bounded like tag pages).
    asio::awaitable<result<std::vector<descriptor>>> referrer_pages(const repository_ref& repo,
                                                                    http_response first,
                                                                    std::string first_target,
                                                                    const std::string& what,
                                                                    deadline until);
    /// The page `page`'s Link header leads to, recorded in `seen` (which holds the pages
    /// read so far); nullopt after the last page. Fails on a malformed header, and with
    /// pagination_loop on a chain that repeats or runs past max_pages.
    result<std::optional<std::string>> next_page(const http_response& page,
                                                 std::set<std::string>& seen,
                                                 const std::string& what) const;
    bool is_bulk(std::int64_t size) const {
        return options_.bulk_threshold != 0 && size >= 0 &&
               static_cast<std::uint64_t>(size) >= options_.bulk_threshold;
    }
    asio::awaitable<result<std::vector<std::string>>> paginate(std::string registry,
                                                               std::string first_page,
                                                               std::vector<std::string> scopes,
                                                               std::string what, deadline until,
                                                               std::vector<tag_page>* tag_pages);

    registry_session& session_;
    registry_client_options options_;
    client_counters counters_;
    std::map<std::string, std::shared_ptr<in_flight>> pushes_in_flight_;  ///< "repo@digest"
    std::set<std::string> blobs_placed_;  ///< "repo@digest" pushed by this client (bounded)
    /// "registry@digest" → the first repository this client placed the blob in (bounded).
    std::unordered_map<std::string, std::string> blob_homes_;
    /// "registry@digest" → the upload of a blob this client has placed nowhere there yet,
    /// which pushes of it into other repositories wait for, to mount it afterwards.
    std::map<std::string, std::shared_ptr<in_flight>> first_placements_;
    /// "repo@subject" → the referrers tag's entries as this client last wrote them
    /// (bounded by remembered_referrer_entries in all).
    std::map<std::string, std::vector<descriptor>> referrers_tags_written_;
    std::size_t referrer_entries_remembered_ = 0;
    std::set<std::string> without_referrers_api_;  ///< registries that answered 404
    std::set<std::string> with_referrers_api_;     ///< registries that answered 200
    /// Registries whose first referrers request is on its way: other calls wait for its
    /// answer rather than each asking whether the API exists.
    std::map<std::string, std::shared_ptr<in_flight>> referrers_probes_;
};

}  // namespace hoist::net::registry
