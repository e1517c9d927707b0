// SPDX-License-Identifier: Apache-2.0
#include "net/tls.hpp"

#include "net/detail/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <filesystem>

namespace hoist::net {
namespace {

namespace fs = std::filesystem;

std::string last_ssl_error() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown error";
    }
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    return text;
}

// BoringSSL built for Android does not know Debian's trust store location. The hashed
// directory is preferred to the bundle: certificates are then read only when a chain
// needs them, instead of parsing all ~150 roots at start-up (~15 ms of CPU per context).
constexpr const char* system_bundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr const char* system_hashed_dir = "/etc/ssl/certs";

result<void> add_system_roots(SSL_CTX* ctx) {
    const char* env_file = std::getenv("SSL_CERT_FILE");
    const char* env_dir = std::getenv("SSL_CERT_DIR");
    std::error_code ec;
    std::string file;
    std::string dir;
    if (env_file && *env_file) {
        file = env_file;
    }
    if (env_dir && *env_dir) {
        dir = env_dir;
    }
    if (file.empty() && dir.empty()) {
        // Debian keeps c_rehash links (<hash>.0) next to the bundle; without them, use the bundle.
        bool hashed = false;
        for (const auto& entry : fs::directory_iterator(system_hashed_dir, ec)) {
            if (entry.path().extension() == ".0") {
                hashed = true;
                break;
            }
        }
        if (hashed) {
            dir = system_hashed_dir;
        } else if (fs::exists(system_bundle, ec)) {
            file = system_bundle;
        }
    }
    if (file.empty() && dir.empty()) {
        return {};  // no system roots: only explicitly trusted CAs will do
    }
    if (SSL_CTX_load_verify_locations(ctx, file.empty() ? nullptr : file.c_str(),
                                      dir.empty() ? nullptr : dir.c_str()) != 1) {
        return fail(errc::tls_handshake_failed, "cannot load system trust store " + file + " " +
                                                    dir + ": " + last_ssl_error());
    }
    return {};
}

result<void> add_ca_file(SSL_CTX* ctx, const std::string& path) {
    if (SSL_CTX_load_verify_locations(ctx, path.c_str(), nullptr) != 1) {
        return fail(errc::tls_handshake_failed,
                    "cannot load CA certificates from " + path + ": " + last_ssl_error());
    }
    return {};
}

// docker and podman look for `<host:port>` first, then `<host>`.
result<void> add_certs_d(SSL_CTX* ctx, const tls_options& options, const origin& where) {
    std::vector<std::string> names{where.host + ":" + std::to_string(where.port), where.host};
    for (const auto& root : options.certs_dirs) {
        for (const auto& name : names) {
            fs::path dir = fs::path(root) / name;
            std::error_code ec;
            if (!fs::is_directory(dir, ec)) {
                continue;
            }
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                auto path = entry.path();
                if (path.extension() == ".crt") {
                    if (auto r = add_ca_file(ctx, path.string()); !r) {
                        return r;
                    }
                } else if (path.extension() == ".cert") {
                    auto key = path;
                    key.replace_extension(".key");
                    if (SSL_CTX_use_certificate_chain_file(ctx, path.c_str()) != 1 ||
                        SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
                        return fail(errc::tls_handshake_failed, "cannot load client certificate " +
                                                                    path.string() + ": " +
                                                                    last_ssl_error());
                    }
                }
            }
            return {};  // the first matching folder wins, as in docker
        }
    }
    return {};
}

}  // namespace

std::vector<std::string> tls_options::default_certs_dirs() {
    std::vector<std::string> dirs{"/etc/docker/certs.d", "/etc/containers/certs.d"};
    if (const char* home = std::getenv("HOME"); home && *home) {
        dirs.push_back(std::string(home) + "/.config/containers/certs.d");
    }
    return dirs;
}

tls_client::tls_client(tls_options options) : impl_(std::make_unique<impl>()) {
    impl_->options = std::move(options);
}

tls_client::~tls_client() = default;

const tls_options& tls_client::options() const {
    return impl_->options;
}

result<boost::asio::ssl::context*> tls_client::impl::context_for(const origin& where) {
    std::string key = where.host + ":" + std::to_string(where.port) +
                      (where.verify_tls ? "" : "/insecure") + (where.http1_only ? "/h1" : "");
    if (auto it = contexts.find(key); it != contexts.end()) {
        return it->second.get();
    }
    auto context =
        std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    SSL_CTX* ctx = context->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    static constexpr unsigned char alpn_both[] = "\x02h2\x08http/1.1";
    static constexpr unsigned char alpn_h1[] = "\x08http/1.1";
    if (options.offer_h2 && !where.http1_only) {
        SSL_CTX_set_alpn_protos(ctx, alpn_both, sizeof(alpn_both) - 1);
    } else {
        SSL_CTX_set_alpn_protos(ctx, alpn_h1, sizeof(alpn_h1) - 1);
    }
    if (where.verify_tls) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        if (auto r = add_system_roots(ctx); !r) {
            return r.error();
        }
        for (const auto& file : options.ca_files) {
            if (auto r = add_ca_file(ctx, file); !r) {
                return r.error();
            }
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (auto r = add_certs_d(ctx, options, where); !r) {
        return r.error();
    }
    auto* raw = context.get();
    contexts.emplace(std::move(key), std::move(context));
    return raw;
}

}  // namespace hoist::net
