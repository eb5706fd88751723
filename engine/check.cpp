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

}  // namespace sn::detail
