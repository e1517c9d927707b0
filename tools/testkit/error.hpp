// SPDX-License-Identifier: Apache-2.0
/// Errors of the test kit (registry launcher, token server, child processes): a code from
/// `testkit::errc`, the generic (errno) category or `crypto::errc`, plus a detail string
/// (for a registry that did not start: the tail of its log), so a failing test says why.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace hoist::testkit {

enum class errc {
    executable_not_found = 1,  ///< docker-registry, htpasswd, … not found in $PATH
    spawn_failed,              ///< fork/exec of a child process failed
    command_failed,            ///< a helper command exited non-zero
    command_timeout,           ///< a helper command did not finish in time (it was killed)
    registry_exited,           ///< the registry process exited while starting
    start_timeout,             ///< the registry did not accept connections in time
    bad_options,               ///< contradictory or unusable options
    io_failed,                 ///< a file or directory could not be created or written
};

const boost::system::error_category& testkit_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), testkit_category()};
}

/// What went wrong, with context.
struct failure {
    boost::system::error_code code;
    std::string detail;

    /// "<detail>: <code message>", or just the code message when there is no detail.
    std::string message() const;
};

/// Required by boost::system::result<T, failure>::value(); throws
/// boost::system::system_error carrying message(). Tests may rely on it; the kit does not.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, failure>;

/// A failure with a test kit code.
failure fail(errc e, std::string detail = {});
/// A failure from an errno value (after a failed system call).
failure fail_errno(int error_number, std::string detail);

}  // namespace hoist::testkit

template <>
struct boost::system::is_error_code_enum<hoist::testkit::errc> : std::true_type {};
