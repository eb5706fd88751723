#include "tools/scratchnet/commands.h"

#include <cstdio>
#include <exception>

#include "engine/check.h"
#include "tools/experiment/interrupt.h"

namespace sn::cli {

std::vector<Registrar>& registry() {
  static std::vector<Registrar> r;
  return r;
}

static int g_exit_code = 0;
static std::string g_program = "scratchnet";

void run(const std::function<int()>& body) {
  try {
    g_exit_code = body();
  } catch (const train::Interrupted& e) {
    // Not a failure: the person asked. The message says where it stopped and how to go on.
    std::fprintf(stderr, "scratchnet: %s\n", e.what());
    g_exit_code = e.signal ? 128 + e.signal : 1;
  } catch (const UserError& e) {
    std::fprintf(stderr, "scratchnet: error: %s\n", e.what());  // one line, no source location
    g_exit_code = 1;
  } catch (const Error& e) {
    // A failed invariant: the message ends with the file and line of the check.
    std::fprintf(stderr, "scratchnet: internal error (a bug in scratchnet): %s\n", e.what());
    g_exit_code = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scratchnet: error: %s\n", e.what());
    g_exit_code = 1;
  }
}

int exit_code() { return g_exit_code; }

void set_program(const char* argv0) {
  if (argv0 && *argv0) g_program = argv0;
}
const std::string& program() { return g_program; }

std::string parse_failure(const CLI::App* app, const CLI::Error& e) {
  // One line, like every other user error; point at the subcommand's help.
  std::string help = g_program;
  for (const CLI::App* sub : app->get_subcommands()) help += " " + sub->get_name();
  return "scratchnet: error: " + std::string(e.what()) + " (see " + help + " --help)\n";
}

}  // namespace sn::cli
