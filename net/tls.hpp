// SPDX-License-Identifier: Apache-2.0
/// Trust configuration for TLS connections to registries. Verification is on by default;
/// trusted roots are the system bundle (or $SSL_CERT_FILE), any --ca-file, and the
/// docker/containers convention `certs.d/<host:port>/*.crt` (with an optional client
/// certificate `*.cert` + `*.key` for mutual TLS).
#pragma once

#include "net/origin.hpp"

#include <memory>
#include <string>
#include <vector>

namespace hoist::net {

struct tls_options {
    /// Extra CA bundles trusted for every registry.
    std::vector<std::string> ca_files;
    /// Directories searched for `<host:port>/` (or `<host>/`) folders of certificates.
    std::vector<std::string> certs_dirs;
    /// Offer "h2" in ALPN; without it every TLS connection speaks HTTP/1.1.
    bool offer_h2 = true;

    /// The defaults docker and podman use: /etc/docker/certs.d, /etc/containers/certs.d,
    /// ~/.config/containers/certs.d.
    static std::vector<std::string> default_certs_dirs();
};

/// Builds and caches one TLS client context per registry host (trust can differ per
/// host through certs.d). Not thread-safe: owned by one io_context's thread.
class tls_client {
public:
    explicit tls_client(tls_options options);
    ~tls_client();
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;

    const tls_options& options() const;

    struct impl;
    impl& internals() { return *impl_; }

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace hoist::net
