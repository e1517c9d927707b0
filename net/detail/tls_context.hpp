// SPDX-License-Identifier: Apache-2.0
/// The TLS context cache behind `tls_client`; only transport.cpp and tls.cpp see it.
#pragma once

#include "net/error.hpp"
#include "net/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <map>
#include <memory>

namespace hoist::net {

struct tls_client::impl {
    tls_options options;
    std::map<std::string, std::unique_ptr<boost::asio::ssl::context>> contexts;

    /// The context for `where`: cached per authority and verification mode.
    result<boost::asio::ssl::context*> context_for(const origin& where);
};

}  // namespace hoist::net
