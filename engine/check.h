// check.h — the one error-reporting mechanism of scratchnet.
//
// Two kinds of failure, told apart by who must act:
//   SN_CHECK(cond, msg...)       an internal invariant (a bug in scratchnet): throws sn::Error whose message
//                                ends with the file and line of the check and the condition text, for the
//                                developer who fixes it.
//   SN_USER_CHECK(cond, msg...)  a mistake or problem of the user's (bad option, missing folder, bad image or
//                                weight file, run directory in use, disk full): throws sn::UserError, a
//                                sn::Error whose message is the text alone, one line saying what is wrong and
//                                what to do; no source path, which would only hide the point.
// A message is required in both (anything that can go to an std::ostream). Errors are exceptions, not
// aborts, so a command-line tool can report a bad input file cleanly and tests can assert on the message;
// `catch (const sn::Error&)` catches both kinds.
#pragma once
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>

namespace sn {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A user's mistake (see above): the CLI prints its message as it is.
struct UserError : Error {
  using Error::Error;
};

// An error of the same kind as `e` (UserError or Error) with another message, for
// code that adds context (the file a worker thread was decoding) and rethrows.
std::exception_ptr same_kind(const Error& e, const std::string& message);

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_error(const char* file, int line, const char* cond, const std::string& msg);
[[noreturn]] void throw_user_error(const std::string& msg);
}  // namespace detail

}  // namespace sn

#define SN_CHECK(cond, ...)                                                                               \
  do {                                                                                                    \
    if (!(cond)) ::sn::detail::throw_error(__FILE__, __LINE__, #cond, ::sn::detail::concat(__VA_ARGS__)); \
  } while (0)

// SN_FAIL(msg...) always throws; for unreachable branches and unsupported cases.
#define SN_FAIL(...) ::sn::detail::throw_error(__FILE__, __LINE__, nullptr, ::sn::detail::concat(__VA_ARGS__))

// SN_USER_CHECK(cond, msg...): a check of user input; the message alone, no source location.
#define SN_USER_CHECK(cond, ...)                                                    \
  do {                                                                              \
    if (!(cond)) ::sn::detail::throw_user_error(::sn::detail::concat(__VA_ARGS__)); \
  } while (0)

// SN_USER_FAIL(msg...) always throws a UserError.
#define SN_USER_FAIL(...) ::sn::detail::throw_user_error(::sn::detail::concat(__VA_ARGS__))
