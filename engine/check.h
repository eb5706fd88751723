// check.h — the one error-reporting mechanism of scratchnet.
//
// SN_CHECK(cond, msg...) (a message is required: say what is wrong) throws sn::Error naming the file and line of the
// failed check and the condition text, followed by a message built from the
// remaining arguments (anything that can go to an std::ostream). Errors are
// exceptions, not aborts, so a command-line tool can report a bad input file
// cleanly and tests can assert on the message.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace sn {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_error(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace detail

}  // namespace sn

#define SN_CHECK(cond, ...)                                                              \
  do {                                                                                   \
    if (!(cond)) ::sn::detail::throw_error(__FILE__, __LINE__, #cond,                     \
                                           ::sn::detail::concat(__VA_ARGS__));       \
  } while (0)

// SN_FAIL(msg...) always throws; for unreachable branches and unsupported cases.
#define SN_FAIL(...) ::sn::detail::throw_error(__FILE__, __LINE__, nullptr, ::sn::detail::concat(__VA_ARGS__))
