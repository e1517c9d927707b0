// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/synthetic_image.hpp"

#include "crypto/sha256.hpp"
#include "net/registry/media_types.hpp"

#include <nlohmann/json.hpp>

#include <random>
#include <set>

namespace hoist::testkit {

namespace mt = net::registry::media_type;
using json = nlohmann::ordered_json;

namespace {

std::string random_bytes(std::uint64_t seed, std::size_t size) {
    std::mt19937_64 random(seed);
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        std::uint64_t word = random();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j) {
            out[i + j] = static_cast<char>(word >> (8 * j));
        }
    }
    return out;
}

built_blob make_blob(std::string media_type, std::string bytes) {
    std::string digest = crypto::digest_of(bytes);
    return built_blob{std::move(media_type), std::move(digest), std::move(bytes)};
}

json descriptor_of(const built_blob& blob) {
    return json{
        {"mediaType", blob.media_type}, {"digest", blob.digest}, {"size", blob.bytes.size()}};
}

struct platform_parts {
    std::string os, architecture, variant;
};

platform_parts split_platform(const std::string& text) {
    platform_parts out;
    auto first = text.find('/');
    out.os = text.substr(0, first);
    if (first != std::string::npos) {
        auto second = text.find('/', first + 1);
        out.architecture = text.substr(first + 1, second - first - 1);
        if (second != std::string::npos) {
            out.variant = text.substr(second + 1);
        }
    }
    return out;
}

}  // namespace

std::uint64_t built_image::total_bytes() const {
    std::uint64_t total = top.body.size();
    for (const auto& b : blobs) {
        total += b.bytes.size();
    }
    for (const auto& m : manifests) {
        total += m.body.size();
    }
    return total;
}

built_image build_image(const image_spec& spec) {
    built_image image;
    std::set<std::string> have;
    auto add_blob = [&](const built_blob& blob) {
        if (have.insert(blob.digest).second) {
            image.blobs.push_back(blob);
        }
    };
    std::string layer_type(spec.oci ? mt::oci_layer_gzip : mt::docker_layer);
    std::string config_type(spec.oci ? mt::oci_config : mt::docker_config);
    std::string manifest_type(spec.oci ? mt::oci_manifest : mt::docker_manifest);
    std::string index_type(spec.oci ? mt::oci_index : mt::docker_manifest_list);

    json index_entries = json::array();
    for (std::size_t p = 0; p < spec.platforms.size(); ++p) {
        auto platform = split_platform(spec.platforms[p]);
        std::vector<built_blob> layers;
        if (spec.base_seed != 0) {
            layers.push_back(make_blob(layer_type, random_bytes(spec.base_seed, spec.layer_size)));
        }
        for (std::size_t l = 0; l < spec.layers; ++l) {
            std::uint64_t seed = spec.seed * 1'000'003u + p * 1009u + l + 1;
            layers.push_back(make_blob(layer_type, random_bytes(seed, spec.layer_size)));
        }
        json diff_ids = json::array();
        json layer_list = json::array();
        for (const auto& layer : layers) {
            diff_ids.push_back(layer.digest);
            layer_list.push_back(descriptor_of(layer));
            add_blob(layer);
        }
        json config{{"architecture", platform.architecture},
                    {"os", platform.os},
                    {"config", json::object()},
                    {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
        if (!platform.variant.empty()) {
            config["variant"] = platform.variant;
        }
        auto config_blob = make_blob(config_type, config.dump());
        add_blob(config_blob);
        json manifest{{"schemaVersion", 2},
                      {"mediaType", manifest_type},
                      {"config", descriptor_of(config_blob)},
                      {"layers", layer_list}};
        std::string body = manifest.dump(3);
        built_manifest built{manifest_type, crypto::digest_of(body), body};
        json entry{{"mediaType", manifest_type}, {"digest", built.digest}, {"size", body.size()}};
        entry["platform"] = json{{"architecture", platform.architecture}, {"os", platform.os}};
        if (!platform.variant.empty()) {
            entry["platform"]["variant"] = platform.variant;
        }
        index_entries.push_back(entry);
        image.manifests.push_back(std::move(built));
    }
    if (image.manifests.size() == 1 && !spec.force_index) {
        image.top = image.manifests.front();
        image.manifests.clear();
        return image;
    }
    json index{{"schemaVersion", 2}, {"mediaType", index_type}, {"manifests", index_entries}};
    std::string body = index.dump(3);
    image.top = built_manifest{index_type, crypto::digest_of(body), body};
    return image;
}

asio::awaitable<net::result<std::string>> push_image(net::registry::registry_client& client,
                                                     net::registry::repository_ref repo,
                                                     std::string tag, const built_image& image,
                                                     net::deadline until) {
    for (const auto& blob : image.blobs) {
        auto present = co_await client.head_blob(repo, blob.digest, until);
        if (!present) {
            co_return present.error();
        }
        if (*present) {
            continue;
        }
        net::registry::memory_blob_source source(blob.bytes);
        auto pushed = co_await client.push_blob(
            repo, blob.digest, static_cast<std::int64_t>(blob.bytes.size()), source, until);
        if (!pushed) {
            co_return pushed.error();
        }
    }
    for (const auto& manifest : image.manifests) {
        auto put = co_await client.put_manifest(repo, manifest.digest, manifest.body,
                                                manifest.media_type, until);
        if (!put) {
            co_return put.error();
        }
    }
    auto put = co_await client.put_manifest(repo, tag.empty() ? image.top.digest : tag,
                                            image.top.body, image.top.media_type, until);
    if (!put) {
        co_return put.error();
    }
    co_return image.top.digest;
}

}  // namespace hoist::testkit
