// SPDX-License-Identifier: Apache-2.0
#include "engine/promote/promote.hpp"

#include "engine/bounded.hpp"
#include "net/registry/media_types.hpp"
#include "net/registry/retry_policy.hpp"
#include "net/wakeup.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>

namespace hoist::engine {
namespace {

namespace reg = net::registry;
using net::result;

/// Slots for network work; waiting for a slot never holds another.
class slots {
public:
    explicit slots(std::size_t count) : available_(count) {}

    asio::awaitable<result<void>> acquire(net::deadline until) {
        while (available_ == 0) {
            auto status = co_await waiters_.wait(until);
            if (status != net::wait_status::notified && available_ == 0) {
                co_return net::fail(net::errc::timeout, "waiting for a transfer slot");
            }
        }
        --available_;
        co_return result<void>{};
    }
    void release() {
        ++available_;
        waiters_.notify_all();
    }

private:
    std::size_t available_;
    net::wait_list waiters_;
};

/// Work done once by whoever comes first; the others wait for it.
struct once_cell {
    bool running = false;
    bool done = false;
    net::wait_list waiters;

    /// Waits while someone else runs it; false on deadline.
    asio::awaitable<bool> wait_idle(net::deadline until) {
        while (running) {
            auto status = co_await waiters.wait(until);
            if (status != net::wait_status::notified && running) {
                co_return false;
            }
        }
        co_return true;
    }
    void finish(bool succeeded) {
        running = false;
        done = succeeded;
        waiters.notify_all();
    }
};

struct manifest_node {
    std::string digest;
    std::string media_type;
    std::string body;
};

/// What one source image consists of: manifests children first (the top one last), and
/// every blob its image manifests name, once.
struct image_graph {
    std::vector<manifest_node> manifests;
    std::vector<reg::descriptor> blobs;
};

struct cached_blob {
    once_cell once;
    std::shared_ptr<const std::string> bytes;
};

/// A source image and the edges that promote it.
struct image_job {
    reg::repository_ref source;
    std::string digest;
    std::vector<std::size_t> edges;
    bool needs_content = false;  ///< some destination lacks the digest itself
    image_graph graph;
    std::map<std::string, std::unique_ptr<cached_blob>> cache;
    /// Blobs too large to cache, one download each shared by the destination registries.
    std::map<std::string, std::shared_ptr<blob_fanout>> fanouts;
    std::uint64_t cached_bytes = 0;  ///< of blobs held whole, against blob_cache_bytes
    /// Destination registries that lack the digest, so need its content.
    std::set<std::string> destination_registries;
};

/// Hands a blob to an upload from memory, in pieces.
class shared_bytes_source final : public reg::blob_source {
public:
    explicit shared_bytes_source(std::shared_ptr<const std::string> bytes)
        : bytes_(std::move(bytes)) {}
    asio::awaitable<result<std::string>> next(net::deadline) override {
        constexpr std::size_t piece = 1u << 20;
        std::size_t n = std::min(piece, bytes_->size() - offset_);
        std::string out = bytes_->substr(offset_, n);
        offset_ += n;
        co_return out;
    }

private:
    std::shared_ptr<const std::string> bytes_;
    std::size_t offset_ = 0;
};

/// Where a blob first landed in a destination registry, so that other repositories of
/// that registry mount it from there.
struct blob_home {
    once_cell placing;
    std::optional<std::string> repository;
};

class promoter {
public:
    promoter(reg::registry_client& client, const promotion_plan& plan, promote_options options,
             net::deadline until)
        : client_(client),
          plan_(plan),
          edges_(*plan.edges),
          options_(options),
          until_(until),
          slots_(std::max<std::size_t>(options.parallel_blobs, 1)) {
        result_.edges.resize(edges_.edges.size());
        memory_.limit = options.blob_cache_bytes;
    }

    asio::awaitable<promote_result> run() {
        group_images();
        if (options_.progress != nullptr) {
            for (const auto& job : jobs_) {
                options_.progress->edges_total += job->edges.size();
            }
        }
        co_await for_each_bounded(jobs_.size(), options_.parallel_images,
                                  [this](std::size_t i) { return promote_image(this, i); });
        for (const auto& edge : result_.edges) {
            if (edge.status == promote_status::promoted) {
                ++result_.counts.edges_promoted;
            } else if (edge.status == promote_status::failed) {
                ++result_.counts.edges_failed;
            }
        }
        result_.counts.images = jobs_.size();
        co_return std::move(result_);
    }

    // Coroutine bodies handed to for_each_bounded: named functions with pointer
    // parameters, not capturing lambdas (g++ 12 miscompiles those).
    static asio::awaitable<void> promote_image(promoter* self, std::size_t index) {
        image_job& job = *self->jobs_[index];
        // Reading the manifests is retried as an edge is: their edges all wait for it.
        int attempts = std::max(1, self->options_.edge_attempts);
        auto graph = co_await self->fetch_graph(job);
        for (int attempt = 1; attempt < attempts && !graph && net::is_transient(graph.error()) &&
                              !self->until_.expired();
             ++attempt) {
            auto delay = graph.error().retry_after.value_or(reg::retry_delay(attempt, {}));
            co_await reg::sleep_for(delay, self->until_);
            graph = co_await self->fetch_graph(job);
        }
        if (!graph) {
            for (std::size_t edge : job.edges) {
                self->fail_edge(edge, graph.error().message());
                self->note_edge_done(true);
            }
            co_return;
        }
        job.graph = std::move(*graph);
        co_await for_each_bounded(job.edges.size(), job.edges.size(), [self, &job](std::size_t i) {
            return promote_edge(self, &job, job.edges[i]);
        });
        self->memory_.used -= job.cached_bytes;
        job.cache.clear();
        job.fanouts.clear();
        job.graph = {};
    }

    /// Every step of an edge is idempotent, so one that failed transiently (a reset
    /// mid-blob, a 503 after the session's own retries) is simply run again.
    static asio::awaitable<void> promote_edge(promoter* self, image_job* job, std::size_t edge) {
        int attempts = std::max(1, self->options_.edge_attempts);
        for (int attempt = 0;; ++attempt) {
            auto done = co_await self->promote_one(*job, edge);
            if (done) {
                self->result_.edges[edge].status = promote_status::promoted;
                self->note_edge_done(false);
                co_return;
            }
            if (attempt + 1 >= attempts || !net::is_transient(done.error()) ||
                self->until_.expired()) {
                self->fail_edge(edge, done.error().message());
                self->note_edge_done(true);
                co_return;
            }
            ++self->result_.counts.edge_retries;
            // What a 429 or 503 asked for (Retry-After), else a jittered exponential pause.
            auto delay = done.error().retry_after.value_or(reg::retry_delay(attempt + 1, {}));
            co_await reg::sleep_for(delay, self->until_);
        }
    }

private:
    void group_images() {
        std::map<std::pair<std::uint32_t, std::string_view>, std::size_t> job_of;
        for (std::size_t i = 0; i < edges_.edges.size(); ++i) {
            const auto& decision = plan_.decisions[i];
            if (decision.outcome != edge_outcome::promote) {
                continue;
            }
            const auto& edge = edges_.edges[i];
            auto key = std::make_pair(edge.source_repository, std::string_view(edge.digest()));
            auto [it, inserted] = job_of.try_emplace(key, jobs_.size());
            if (inserted) {
                auto job = std::make_unique<image_job>();
                auto repo = reg::parse_repository_ref(edges_.source_path(edge));
                if (!repo) {
                    fail_edge(i, repo.error().message());
                    job_of.erase(it);
                    continue;
                }
                job->source = *repo;
                job->digest = edge.digest();
                jobs_.push_back(std::move(job));
            }
            image_job& job = *jobs_[it->second];
            job.edges.push_back(i);
            if (!decision.digest_present) {
                const auto& destination = edges_.destination_path(edge);
                job.destination_registries.insert(destination.substr(0, destination.find('/')));
            }
            job.needs_content = job.needs_content || !decision.digest_present;
        }
    }

    void note_edge_done(bool failed) {
        if (options_.progress != nullptr) {
            ++options_.progress->edges_done;
            options_.progress->edges_failed += failed ? 1 : 0;
        }
    }

    void fail_edge(std::size_t edge, std::string error) {
        result_.edges[edge].status = promote_status::failed;
        result_.edges[edge].error = std::move(error);
    }

    asio::awaitable<result<manifest_node>> fetch_manifest(const reg::repository_ref& repo,
                                                          const std::string& digest) {
        auto fetched = co_await client_.get_manifest(repo, digest, until_);
        if (!fetched) {
            co_return fetched.error();
        }
        co_return manifest_node{fetched->digest, fetched->media_type, std::move(fetched->body)};
    }

    /// Reads the top manifest and, when some destination needs the content, every child
    /// (nested indexes too, to a bounded depth), collecting the blobs.
    asio::awaitable<result<image_graph>> fetch_graph(const image_job& job) {
        image_graph graph;
        std::set<std::string> seen_blobs;
        auto top = co_await fetch_manifest(job.source, job.digest);
        if (!top) {
            co_return top.error();
        }
        std::vector<std::pair<manifest_node, int>> pending;  // node, depth
        pending.emplace_back(std::move(*top), 0);
        std::vector<manifest_node> ordered;  // parents before children; reversed below
        while (!pending.empty()) {
            auto [node, depth] = std::move(pending.back());
            pending.pop_back();
            auto parsed = reg::parse_manifest(node.body, node.media_type);
            if (!parsed) {
                co_return net::with_context(
                    parsed.error(), "manifest " + job.source.to_string() + "@" + node.digest);
            }
            manifest_facts facts{node.media_type, static_cast<std::int64_t>(node.body.size()), {}};
            for (const auto& child : parsed->manifests) {
                facts.children.push_back(child.digest);
            }
            result_.manifests.insert_or_assign(node.digest, std::move(facts));
            if (job.needs_content) {
                if (parsed->is_index()) {
                    if (depth >= 4) {
                        co_return net::fail(net::errc::bad_response,
                                            "indexes nested deeper than 4 levels in " +
                                                job.source.to_string() + "@" + job.digest);
                    }
                    for (const auto& child : parsed->manifests) {
                        auto fetched = co_await fetch_manifest(job.source, child.digest);
                        if (!fetched) {
                            co_return fetched.error();
                        }
                        pending.emplace_back(std::move(*fetched), depth + 1);
                    }
                } else {
                    if (parsed->config && seen_blobs.insert(parsed->config->digest).second) {
                        graph.blobs.push_back(*parsed->config);
                    }
                    for (const auto& layer : parsed->layers) {
                        if (seen_blobs.insert(layer.digest).second) {
                            graph.blobs.push_back(layer);
                        }
                    }
                }
            }
            ordered.push_back(std::move(node));
        }
        // Children before parents: the top manifest, read first, is written last.
        graph.manifests.assign(std::make_move_iterator(ordered.rbegin()),
                               std::make_move_iterator(ordered.rend()));
        co_return graph;
    }

    asio::awaitable<result<void>> promote_one(image_job& job, std::size_t edge_index) {
        const auto& edge = edges_.edges[edge_index];
        const auto& decision = plan_.decisions[edge_index];
        auto destination = reg::parse_repository_ref(edges_.destination_path(edge));
        if (!destination) {
            co_return destination.error();
        }
        const manifest_node& top = job.graph.manifests.back();
        if (!decision.digest_present) {
            const auto& blobs = job.graph.blobs;
            auto placed = co_await for_each_bounded_checked(
                blobs.size(), blobs.size(), [this, &job, &destination, &blobs](std::size_t i) {
                    return ensure_blob(job, *destination, blobs[i]);
                });
            if (!placed) {
                co_return placed.error();
            }
            for (std::size_t i = 0; i + 1 < job.graph.manifests.size(); ++i) {
                const auto& child = job.graph.manifests[i];
                auto put = co_await client_.put_manifest(*destination, child.digest, child.body,
                                                         child.media_type, until_);
                if (!put) {
                    co_return put.error();
                }
                ++result_.counts.manifests_put;
            }
        }
        // The top manifest goes up under its first missing tag (which stores it too), or
        // by digest when it has no tag; the other tags follow.
        std::vector<std::string> references = decision.missing_tags;
        if (references.empty()) {
            references.push_back(top.digest);
        }
        for (const auto& reference : references) {
            auto put = co_await client_.put_manifest(*destination, reference, top.body,
                                                     top.media_type, until_);
            if (!put) {
                co_return put.error();
            }
            if (*put != top.digest) {
                co_return net::fail(net::errc::digest_mismatch,
                                    destination->to_string() + ":" + reference + " stored as " +
                                        *put + ", expected " + top.digest);
            }
            ++result_.counts.manifests_put;
            if (reference != top.digest) {
                ++result_.counts.tags_put;
            }
        }
        co_return result<void>{};
    }

    /// The blob is in `destination` when this returns: it was there, or was mounted from
    /// where it already is in that registry, or uploaded.
    asio::awaitable<result<void>> ensure_blob(image_job& job,
                                              const reg::repository_ref& destination,
                                              const reg::descriptor& blob) {
        if (reg::is_foreign_layer(blob.media_type) && !blob.urls.empty()) {
            ++result_.counts.blobs_foreign;  // non-distributable: stays where its URLs point
            co_return result<void>{};
        }
        auto& cell = in_repository_[destination.to_string() + "@" + blob.digest];
        if (!cell) {
            cell = std::make_unique<once_cell>();
        }
        while (true) {
            if (cell->done) {
                co_return result<void>{};
            }
            if (!cell->running) {
                break;
            }
            bool idle = co_await cell->wait_idle(until_);
            if (!idle) {
                co_return net::fail(net::errc::timeout, "waiting for blob " + blob.digest);
            }
        }
        cell->running = true;
        auto placed = co_await place_blob(job, destination, blob);
        cell->finish(placed.has_value());
        co_return placed;
    }

    asio::awaitable<result<void>> place_blob(image_job& job, const reg::repository_ref& destination,
                                             const reg::descriptor& blob) {
        auto& home = homes_[destination.registry + "@" + blob.digest];
        if (!home) {
            home = std::make_unique<blob_home>();
        }
        bool idle = co_await home->placing.wait_idle(until_);
        if (!idle) {
            co_return net::fail(net::errc::timeout, "waiting for blob " + blob.digest);
        }
        if (home->repository) {
            co_return co_await transfer(job, destination, blob, *home->repository);
        }
        home->placing.running = true;
        std::optional<std::string> mount_from;
        if (destination.registry == job.source.registry) {
            mount_from = job.source.repository;
        }
        auto placed = co_await transfer(job, destination, blob, mount_from);
        if (placed) {
            home->repository = destination.repository;
        }
        home->placing.finish(placed.has_value());
        co_return placed;
    }

    asio::awaitable<result<void>> transfer(image_job& job, const reg::repository_ref& destination,
                                           const reg::descriptor& blob,
                                           std::optional<std::string> mount_from) {
        auto slot = co_await slots_.acquire(until_);
        if (!slot) {
            co_return slot.error();
        }
        auto done = co_await transfer_in_slot(job, destination, blob, std::move(mount_from));
        slots_.release();
        co_return done;
    }

    asio::awaitable<result<void>> transfer_in_slot(image_job& job,
                                                   const reg::repository_ref& destination,
                                                   const reg::descriptor& blob,
                                                   std::optional<std::string> mount_from) {
        // Announced before the HEAD and the upload's POST, so that the shared download
        // keeps its first pieces until this upload gets there.
        std::optional<blob_fanout::expectation> shared;
        if (auto fanout = !mount_from ? fanout_for(job, blob) : nullptr) {
            shared.emplace(std::move(fanout));
        }
        if (!mount_from && static_cast<std::uint64_t>(blob.size) >= options_.head_before_upload) {
            auto present = co_await client_.head_blob(destination, blob.digest, until_);
            if (!present) {
                co_return present.error();
            }
            if (*present) {
                ++result_.counts.blobs_present;
                co_return result<void>{};
            }
        }
        deferred_source source(*this, job, blob, shared ? &*shared : nullptr);
        auto pushed = co_await client_.push_blob(destination, blob.digest, blob.size, source,
                                                 until_, mount_from);
        if (!pushed) {
            co_return pushed.error();
        }
        if (*pushed == reg::push_outcome::mounted) {
            ++result_.counts.blobs_mounted;
        } else if (*pushed == reg::push_outcome::uploaded) {
            ++result_.counts.blobs_uploaded;
            result_.counts.bytes_uploaded += static_cast<std::uint64_t>(blob.size);
            if (options_.progress != nullptr) {
                options_.progress->bytes_uploaded += static_cast<std::uint64_t>(blob.size);
            }
        }
        co_return result<void>{};
    }

    /// The bytes of a blob for one push, got when the push first asks for them: from memory
    /// when cached_bytes keeps the blob for the image's destinations, else streamed from the
    /// source, through the download shared with the image's other destination registries
    /// when there is one. A push that mounts the blob, or finds it there, never asks: the
    /// source is not read for it (in a fan-out, the images after the first mount their
    /// shared layers).
    class deferred_source final : public reg::blob_source {
    public:
        // lifetime: `shared` (if set) outlives the source.
        deferred_source(promoter& owner, image_job& job, const reg::descriptor& blob,
                        blob_fanout::expectation* shared)
            : owner_(owner), job_(job), blob_(blob), shared_(shared) {}

        asio::awaitable<result<std::string>> next(net::deadline until) override {
            if (!inner_) {
                auto cached = co_await owner_.cached_bytes(job_, blob_);
                if (!cached) {
                    co_return cached.error();
                }
                if (*cached) {
                    inner_ = std::make_unique<shared_bytes_source>(*cached);
                } else if (auto joined = shared_ ? shared_->join() : nullptr) {
                    inner_ = std::move(joined);
                } else {
                    inner_ = std::make_unique<reg::deferred_blob_download>(
                        owner_.client_, job_.source, blob_.digest, blob_.size,
                        &owner_.result_.counts.source_bytes_read);
                }
            }
            co_return co_await inner_->next(until);
        }
        bool holds_request() const override { return inner_ && inner_->holds_request(); }
        void abandon() override {
            if (inner_) {
                inner_->abandon();
            }
        }

    private:
        promoter& owner_;
        image_job& job_;
        const reg::descriptor& blob_;
        blob_fanout::expectation* shared_;
        std::unique_ptr<reg::blob_source> inner_;
    };

    /// The blob's bytes read once for all destinations of this image, or null when it is
    /// too large or memory is short (the upload then streams it from the source).
    asio::awaitable<result<std::shared_ptr<const std::string>>> cached_bytes(
        image_job& job, const reg::descriptor& blob) {
        auto size = static_cast<std::uint64_t>(blob.size);
        auto& cell = job.cache[blob.digest];
        if (!cell) {
            if (size > options_.cached_blob_limit || memory_.used + size > memory_.limit ||
                job.edges.size() < 2) {
                job.cache.erase(blob.digest);
                co_return std::shared_ptr<const std::string>();
            }
            cell = std::make_unique<cached_blob>();
            memory_.used += size;
            job.cached_bytes += size;
        }
        bool idle = co_await cell->once.wait_idle(until_);
        if (!idle) {
            co_return net::fail(net::errc::timeout, "waiting for blob " + blob.digest);
        }
        if (cell->once.done) {
            co_return cell->bytes;
        }
        cell->once.running = true;
        auto read = co_await read_blob(job, blob);
        if (read) {
            cell->bytes = std::move(*read);
        }
        cell->once.finish(read.has_value());
        if (!read) {
            co_return read.error();
        }
        co_return cell->bytes;
    }

    /// The one download of `blob` that feeds every destination registry of the image
    /// needing it, or null when the blob is kept whole in memory instead or only one
    /// registry needs it.
    std::shared_ptr<blob_fanout> fanout_for(image_job& job, const reg::descriptor& blob) {
        if (job.destination_registries.size() < 2 ||
            static_cast<std::uint64_t>(blob.size) <= options_.cached_blob_limit) {
            return nullptr;
        }
        auto& fanout = job.fanouts[blob.digest];
        if (!fanout || fanout->failed()) {
            // The first upload to ask, or a retry after the shared download failed.
            fanout = std::make_shared<blob_fanout>(client_, job.source, blob.digest, blob.size,
                                                   options_.fanout, memory_,
                                                   &result_.counts.source_bytes_read);
        }
        return fanout;
    }

    asio::awaitable<result<std::shared_ptr<const std::string>>> read_blob(
        image_job& job, const reg::descriptor& blob) {
        auto bytes =
            co_await client_.read_blob(job.source, blob.digest, blob.size, blob.size, until_);
        if (!bytes) {
            co_return bytes.error();
        }
        result_.counts.source_bytes_read += bytes->size();
        co_return std::make_shared<const std::string>(std::move(*bytes));
    }

    reg::registry_client& client_;
    const promotion_plan& plan_;
    const edge_set& edges_;
    promote_options options_;
    net::deadline until_;
    slots slots_;
    promote_result result_;
    std::vector<std::unique_ptr<image_job>> jobs_;
    std::map<std::string, std::unique_ptr<once_cell>> in_repository_;
    std::map<std::string, std::unique_ptr<blob_home>> homes_;
    memory_budget memory_;  ///< blobs held whole, and shared downloads' windows
};

}  // namespace

asio::awaitable<promote_result> promote(reg::registry_client& client, const promotion_plan& plan,
                                        promote_options options, net::deadline until) {
    promoter job(client, plan, options, until);
    co_return co_await job.run();
}

}  // namespace hoist::engine
