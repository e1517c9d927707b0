// SPDX-License-Identifier: Apache-2.0
#include "engine/manifest/loader.hpp"

#include "engine/manifest/validate.hpp"
#include "engine/manifest/yaml_tree.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hoist::engine {
namespace fs = std::filesystem;
namespace {

constexpr const char* manifest_file_name = "promoter-manifest.yaml";
constexpr const char* images_file_name = "images.yaml";

void narrow(promotion_manifest& manifest, const std::set<std::string>& digests) {
    for (auto& image : manifest.images) {
        std::erase_if(image.dmap,
                      [&](const digest_entry& entry) { return !digests.contains(entry.digest); });
    }
    // Images left with no digest simply produce nothing, as in kpromo.
    std::erase_if(manifest.images, [](const image_entry& image) { return image.dmap.empty(); });
}

// A large images.yaml (k8s.io's biggest is 1.2 MB, half the corpus) is parsed in pieces
// on several threads: yaml-cpp is the cost of loading, and one file would otherwise
// keep one core busy while the others wait.
constexpr std::size_t split_above = 256 * 1024;
constexpr std::size_t piece_size = 128 * 1024;

struct text_piece {
    std::string_view text;
    std::uint32_t first_line = 1;
};

/// Splits a document whose top level is a block sequence before lines that start with
/// "- ": each piece is then a sequence of its own. A cut in a place where this does not
/// hold (a quoted scalar spanning lines, an alias to an earlier piece) makes a piece
/// fail to parse, and the caller parses the whole file instead.
std::vector<text_piece> split_sequence(std::string_view text) {
    std::vector<text_piece> pieces;
    std::size_t start = 0;
    std::uint32_t line = 1;
    while (start < text.size()) {
        std::size_t cut = text.size();
        if (text.size() - start > piece_size + piece_size / 2) {
            auto found = text.find("\n- ", start + piece_size);
            if (found != std::string_view::npos) {
                cut = found + 1;
            }
        }
        pieces.push_back({text.substr(start, cut - start), line});
        line += static_cast<std::uint32_t>(
            std::count(text.begin() + static_cast<std::ptrdiff_t>(start),
                       text.begin() + static_cast<std::ptrdiff_t>(cut), '\n'));
        start = cut;
    }
    return pieces;
}

struct thin_project {
    std::string name;
    std::string manifest_path;
    std::string images_path;
    std::string manifest_text;
    std::string images_text;
    bool readable = false;
    yaml_document manifest_document;
    std::vector<text_piece> image_pieces;
    std::vector<yaml_document> image_documents;  ///< beside image_pieces
    std::vector<diagnostics> piece_problems;     ///< beside image_pieces
    promotion_manifest manifest;
    diagnostics problems;
};

void read_project(thin_project& project) {
    auto manifest_text = read_text_file(project.manifest_path, project.problems);
    auto images_text = read_text_file(project.images_path, project.problems);
    if (!manifest_text || !images_text) {
        return;
    }
    project.manifest_text = std::move(*manifest_text);
    project.images_text = std::move(*images_text);
    project.readable = true;
    if (project.images_text.size() > split_above) {
        project.image_pieces = split_sequence(project.images_text);
    } else {
        project.image_pieces.push_back({project.images_text, 1});
    }
    project.image_documents.resize(project.image_pieces.size());
    project.piece_problems.resize(project.image_pieces.size());
}

/// One parse on the pool: a promoter-manifest.yaml (piece == npos) or a piece of an
/// images.yaml.
struct parse_job {
    thin_project* project;
    std::size_t piece;
    std::size_t size;
};

void run_parse_job(const parse_job& job) {
    thin_project& project = *job.project;
    if (job.piece == std::string::npos) {
        project.manifest_document =
            load_yaml(project.manifest_text, project.manifest_path, project.problems);
        return;
    }
    const text_piece& piece = project.image_pieces[job.piece];
    project.image_documents[job.piece] = load_yaml(
        piece.text, project.images_path, project.piece_problems[job.piece], piece.first_line);
}

/// The images.yaml document from its pieces; the whole file again when a piece did not
/// stand on its own.
yaml_document join_image_pieces(thin_project& project) {
    if (project.image_documents.size() == 1) {
        project.problems.append(std::move(project.piece_problems.front()));
        return std::move(project.image_documents.front());
    }
    yaml_document joined;
    joined.valid = true;
    for (auto& document : project.image_documents) {
        bool sequence = document.root && document.root->type == yaml_node::kind::sequence;
        if (!document.valid || (document.root && !sequence)) {
            return load_yaml(project.images_text, project.images_path, project.problems);
        }
        if (!document.root) {
            continue;
        }
        if (!joined.root) {
            joined.root = std::move(document.root);
            continue;
        }
        auto& items = joined.root->items;
        items.insert(items.end(), std::make_move_iterator(document.root->items.begin()),
                     std::make_move_iterator(document.root->items.end()));
    }
    return joined;
}

void finish_project(thin_project& project) {
    if (!project.readable) {
        return;
    }
    auto images_document = join_image_pieces(project);
    if (project.manifest_document.valid) {
        project.manifest = decode_thin_manifest(project.manifest_document, project.manifest_path,
                                                project.problems);
    }
    project.manifest.project = project.name;
    project.manifest.file = project.manifest_path;
    project.manifest.images_file = project.images_path;
    if (images_document.valid) {
        project.manifest.images =
            decode_images(images_document, project.images_path, project.problems);
    }
    if (project.problems.empty()) {
        validate_manifest(project.manifest, project.problems);
    }
    // The texts and trees are no longer needed; the manifest holds copies.
    project.manifest_text.clear();
    project.images_text.clear();
    project.image_pieces.clear();
    project.image_documents.clear();
    project.manifest_document = {};
}

/// Runs `work(i)` for i in [0, count) on up to `threads` threads.
template <typename Work>
void parallel_for(std::size_t count, unsigned threads, Work work) {
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, count));
    std::atomic<std::size_t> next{0};
    auto drain = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            work(i);
        }
    };
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) {
        pool.emplace_back(drain);
    }
    drain();
}

bool require_directory(const fs::path& path, diagnostics& problems) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec) {
        problems.add(path.string(), {}, "cannot read directory: " + ec.message());
        return false;
    }
    if (!fs::is_directory(status)) {
        problems.add(path.string(), {},
                     "is not a directory; a thin manifest tree has "
                     "manifests/<project>/ and images/<project>/");
        return false;
    }
    return true;
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path, diagnostics& problems) {
    std::error_code ec;
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
        problems.add(path, {}, "cannot read: not a regular file");
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        problems.add(path, {}, std::string("cannot read: ") + std::strerror(errno));
        return std::nullopt;
    }
    std::string text;
    in.seekg(0, std::ios::end);
    auto size = in.tellg();
    if (size > 0) {
        text.resize(static_cast<std::size_t>(size));
        in.seekg(0);
        in.read(text.data(), size);
    }
    if (!in) {
        problems.add(path, {}, "cannot read the whole file");
        return std::nullopt;
    }
    return text;
}

manifest_set load_plain_manifest(const std::string& path, const load_options& options) {
    manifest_set set;
    auto text = read_text_file(path, set.problems);
    if (!text) {
        return set;
    }
    auto document = load_yaml(*text, path, set.problems);
    if (!document.valid) {
        return set;
    }
    auto manifest = decode_plain_manifest(document, path, set.problems);
    validate_manifest(manifest, set.problems);
    merge_repeated_images(manifest);
    if (options.only_digests) {
        narrow(manifest, *options.only_digests);
    }
    set.manifests.push_back(std::move(manifest));
    check_overlaps(set.manifests, set.problems);
    set.problems.sort();
    return set;
}

manifest_set load_thin_manifests(const std::string& directory, const load_options& options) {
    manifest_set set;
    // kpromo fails every manifest when the directory ends in '/'; hoist normalises it.
    fs::path root = fs::path(directory).lexically_normal();
    if (root.has_filename() == false && root.has_parent_path()) {
        root = root.parent_path();
    }
    fs::path manifests_dir = root / "manifests";
    fs::path images_dir = root / "images";
    bool images_ok = require_directory(images_dir, set.problems);
    bool manifests_ok = require_directory(manifests_dir, set.problems);
    if (!images_ok || !manifests_ok) {
        return set;
    }

    std::vector<thin_project> projects;
    std::error_code ec;
    fs::recursive_directory_iterator walk(manifests_dir, ec), end;
    if (ec) {
        set.problems.add(manifests_dir.string(), {}, "cannot walk: " + ec.message());
        return set;
    }
    for (; walk != end; walk.increment(ec)) {
        if (ec) {
            set.problems.add(manifests_dir.string(), {}, "cannot walk: " + ec.message());
            break;
        }
        const fs::path& path = walk->path();
        if (path.filename() != manifest_file_name) {
            continue;
        }
        if (walk.depth() != 1) {
            set.problems.add(path.string(), {},
                             "unexpected manifest path; expected manifests/<project>/" +
                                 std::string(manifest_file_name));
            continue;
        }
        if (!walk->is_regular_file(ec)) {
            continue;
        }
        thin_project project;
        project.name = path.parent_path().filename().string();
        project.manifest_path = path.string();
        fs::path images = images_dir / project.name / images_file_name;
        project.images_path = images.string();
        auto status = fs::status(images, ec);
        if (ec || !fs::exists(status)) {
            set.problems.add(project.images_path, {},
                             "does not exist; every manifests/" + project.name +
                                 "/promoter-manifest.yaml needs images/" + project.name +
                                 "/images.yaml beside it");
            continue;
        }
        if (!fs::is_regular_file(status)) {
            set.problems.add(project.images_path, {}, "is not a regular file");
            continue;
        }
        projects.push_back(std::move(project));
    }
    for (const auto& entry : fs::directory_iterator(manifests_dir, ec)) {
        if (entry.is_directory(ec) && !fs::exists(entry.path() / manifest_file_name, ec)) {
            set.warnings.add(entry.path().string(), {},
                             "no promoter-manifest.yaml in this directory; skipped");
        }
    }
    if (projects.empty() && set.problems.empty()) {
        set.problems.add(root.string(), {},
                         "no manifests found (expected manifests/<project>/" +
                             std::string(manifest_file_name) + ")");
        return set;
    }
    std::sort(projects.begin(), projects.end(),
              [](const thin_project& a, const thin_project& b) { return a.name < b.name; });

    parallel_for(projects.size(), options.threads,
                 [&](std::size_t i) { read_project(projects[i]); });
    std::vector<parse_job> jobs;
    for (auto& project : projects) {
        if (!project.readable) {
            continue;
        }
        jobs.push_back({&project, std::string::npos, project.manifest_text.size()});
        for (std::size_t piece = 0; piece < project.image_pieces.size(); ++piece) {
            jobs.push_back({&project, piece, project.image_pieces[piece].text.size()});
        }
    }
    // Largest first, so that no big piece starts last and runs alone.
    std::sort(jobs.begin(), jobs.end(),
              [](const parse_job& a, const parse_job& b) { return a.size > b.size; });
    parallel_for(jobs.size(), options.threads, [&](std::size_t i) { run_parse_job(jobs[i]); });
    parallel_for(projects.size(), options.threads,
                 [&](std::size_t i) { finish_project(projects[i]); });
    for (auto& project : projects) {
        set.problems.append(std::move(project.problems));
        merge_repeated_images(project.manifest);
        if (options.only_digests) {
            narrow(project.manifest, *options.only_digests);
        }
        set.manifests.push_back(std::move(project.manifest));
    }
    check_overlaps(set.manifests, set.problems);
    set.problems.sort();
    set.warnings.sort();
    return set;
}

}  // namespace hoist::engine
