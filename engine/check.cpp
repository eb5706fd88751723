#include "engine/check.h"

namespace sn::detail {

void throw_error(const char* file, int line, const char* cond, const std::string& msg) {
  std::ostringstream os;
  os << msg;
  // Source location last: the message is for the user, the location for the developer.
  os << " [" << file << ":" << line;
  if (cond) os << ", check failed: " << cond;
  os << "]";
  throw Error(os.str());
}

void throw_user_error(const std::string& msg) { throw UserError(msg); }

}  // namespace sn::detail

namespace sn {

std::exception_ptr same_kind(const Error& e, const std::string& message) {
  if (dynamic_cast<const UserError*>(&e)) return std::make_exception_ptr(UserError(message));
  return std::make_exception_ptr(Error(message));
}

}  // namespace sn
