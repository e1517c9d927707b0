// SPDX-License-Identifier: Apache-2.0
#include "engine/image_copy.hpp"

#include "engine/bounded.hpp"
#include "net/registry/media_types.hpp"

#include <set>

namespace hoist::engine {

namespace reg = net::registry;
using net::errc;
using net::fail;
using net::result;

namespace {

bool platform_matches(const reg::descriptor& d, std::string_view wanted) {
    if (!d.platform) {
        return false;
    }
    std::string name = d.platform->os + "/" + d.platform->architecture;
    if (wanted == name) {
        return true;
    }
    return !d.platform->variant.empty() && wanted == name + "/" + d.platform->variant;
}

class copier {
public:
    copier(reg::registry_client& client, reg::image_ref source, reg::image_ref destination,
           copy_options options, net::deadline until)
        : client_(client),
          source_(std::move(source)),
          destination_(std::move(destination)),
          options_(std::move(options)),
          until_(until) {}

    asio::awaitable<result<copy_report>> run() {
        auto top = co_await client_.get_manifest(source_.repo, source_.reference(), until_);
        if (!top) {
            co_return top.error();
        }
        auto parsed = reg::parse_manifest(top->body, top->media_type);
        if (!parsed) {
            co_return net::with_context(parsed.error(), "manifest " + source_.to_string());
        }
        if (parsed->is_index() && !options_.all) {
            const reg::descriptor* chosen = nullptr;
            for (const auto& child : parsed->manifests) {
                if (platform_matches(child, options_.platform)) {
                    chosen = &child;
                    break;
                }
            }
            if (chosen == nullptr) {
                co_return fail(errc::not_found, source_.to_string() + " has no image for " +
                                                    options_.platform +
                                                    " (use --all to copy "
                                                    "the whole index)");
            }
            auto child = co_await client_.get_manifest(source_.repo, chosen->digest, until_);
            if (!child) {
                co_return child.error();
            }
            auto child_parsed = reg::parse_manifest(child->body, child->media_type);
            if (!child_parsed) {
                co_return child_parsed.error();
            }
            top = std::move(child);
            parsed = std::move(child_parsed);
        }
        if (!destination_.digest.empty() && destination_.digest != top->digest) {
            co_return fail(errc::digest_mismatch, "destination digest " + destination_.digest +
                                                      " differs from the source's " + top->digest);
        }
        if (parsed->is_index()) {
            for (const auto& child : parsed->manifests) {
                if (auto r = co_await copy_child(child); !r) {
                    co_return r.error();
                }
            }
        } else if (auto r = co_await copy_blobs(*parsed); !r) {
            co_return r.error();
        }
        // Everything the manifest refers to is at the destination: now it may be named.
        std::string reference = destination_.tag.empty() ? top->digest : destination_.tag;
        auto written = co_await client_.put_manifest(destination_.repo, reference, top->body,
                                                     top->media_type, until_);
        if (!written) {
            co_return written.error();
        }
        ++report_.manifests_written;
        report_.digest = top->digest;
        co_return report_;
    }

private:
    asio::awaitable<result<void>> copy_child(const reg::descriptor& child) {
        auto present = co_await client_.head_manifest(destination_.repo, child.digest, until_);
        if (!present) {
            co_return present.error();
        }
        if (*present) {
            ++report_.manifests_present;
            co_return result<void>{};
        }
        auto fetched = co_await client_.get_manifest(source_.repo, child.digest, until_);
        if (!fetched) {
            co_return fetched.error();
        }
        auto parsed = reg::parse_manifest(fetched->body, fetched->media_type);
        if (!parsed) {
            co_return net::with_context(parsed.error(), "manifest " + child.digest);
        }
        if (parsed->is_index()) {
            // Nested indexes exist (an index of indexes); copy them the same way.
            for (const auto& grandchild : parsed->manifests) {
                if (auto r = co_await copy_child(grandchild); !r) {
                    co_return r.error();
                }
            }
        } else if (auto r = co_await copy_blobs(*parsed); !r) {
            co_return r.error();
        }
        auto written = co_await client_.put_manifest(destination_.repo, child.digest, fetched->body,
                                                     fetched->media_type, until_);
        if (!written) {
            co_return written.error();
        }
        ++report_.manifests_written;
        co_return result<void>{};
    }

    asio::awaitable<result<void>> copy_blobs(const reg::parsed_manifest& manifest) {
        std::vector<const reg::descriptor*> blobs;
        if (manifest.config) {
            blobs.push_back(&*manifest.config);
        }
        for (const auto& layer : manifest.layers) {
            blobs.push_back(&layer);
        }
        co_return co_await for_each_bounded_checked(
            blobs.size(), options_.parallel_blobs,
            [this, &blobs](std::size_t i) { return copy_blob(*blobs[i]); });
    }

    asio::awaitable<result<void>> copy_blob(const reg::descriptor& blob) {
        if (reg::is_foreign_layer(blob.media_type) && !blob.urls.empty()) {
            // Non-distributable layers stay where their URLs point, as registries expect.
            ++report_.blobs_foreign;
            co_return result<void>{};
        }
        if (!done_blobs_.insert(blob.digest).second) {
            co_return result<void>{};  // the same layer twice in one image
        }
        auto present = co_await client_.head_blob(destination_.repo, blob.digest, until_);
        if (!present) {
            co_return present.error();
        }
        if (*present) {
            ++report_.blobs_present;
            co_return result<void>{};
        }
        std::optional<std::string> mount_from;
        if (source_.repo.registry == destination_.repo.registry) {
            mount_from = source_.repo.repository;
        }
        reg::deferred_blob_download bytes(client_, source_.repo, blob.digest, blob.size);
        auto pushed = co_await client_.push_blob(destination_.repo, blob.digest, blob.size, bytes,
                                                 until_, mount_from);
        if (!pushed) {
            co_return pushed.error();
        }
        if (*pushed == reg::push_outcome::mounted) {
            ++report_.blobs_mounted;
        } else if (*pushed == reg::push_outcome::uploaded) {
            ++report_.blobs_uploaded;
            report_.bytes_uploaded += static_cast<std::uint64_t>(blob.size);
        }
        co_return result<void>{};
    }

    reg::registry_client& client_;
    reg::image_ref source_;
    reg::image_ref destination_;
    copy_options options_;
    net::deadline until_;
    copy_report report_;
    std::set<std::string> done_blobs_;
};

}  // namespace

asio::awaitable<result<copy_report>> copy_image(reg::registry_client& client, reg::image_ref source,
                                                reg::image_ref destination, copy_options options,
                                                net::deadline until) {
    copier job(client, std::move(source), std::move(destination), std::move(options), until);
    co_return co_await job.run();
}

}  // namespace hoist::engine
