#include "tools/scratchnet/commands.h"

#include <cstdio>
#include <exception>

namespace sn::cli {

std::vector<Registrar>& registry() {
  static std::vector<Registrar> r;
  return r;
}

static int g_exit_code = 0;

void run(const std::function<int()>& body) {
  try {
    g_exit_code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scratchnet: error: %s\n", e.what());
    g_exit_code = 1;
  }
}

int exit_code() { return g_exit_code; }

}  // namespace sn::cli
