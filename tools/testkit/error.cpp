// SPDX-License-Identifier: Apache-2.0
#include "tools/testkit/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <string>

namespace hoist::testkit {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "hoist.testkit"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::executable_not_found:
                return "executable not found";
            case errc::spawn_failed:
                return "could not start child process";
            case errc::command_failed:
                return "command failed";
            case errc::command_timeout:
                return "command timed out";
            case errc::registry_exited:
                return "registry exited during startup";
            case errc::start_timeout:
                return "registry did not start in time";
            case errc::bad_options:
                return "invalid options";
            case errc::io_failed:
                return "file I/O failed";
        }
        return "unknown hoist.testkit error";
    }
};

}  // namespace

const boost::system::error_category& testkit_category() noexcept {
    static const category instance;
    return instance;
}

std::string failure::message() const {
    return detail.empty() ? code.message() : detail + ": " + code.message();
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(f.code, f.detail), loc);
}

failure fail(errc e, std::string detail) {
    return failure{make_error_code(e), std::move(detail)};
}

failure fail_errno(int error_number, std::string detail) {
    return failure{boost::system::error_code(error_number, boost::system::generic_category()),
                   std::move(detail)};
}

}  // namespace hoist::testkit
