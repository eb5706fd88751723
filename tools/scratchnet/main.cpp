// main.cpp — the `scratchnet` command line. Each subcommand lives in its own
// file (cmd_<name>.cpp) and registers itself through commands.h.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "engine/check.h"
#include "engine/parallel.h"
#include "tools/scratchnet/backend_options.h"
#include "tools/scratchnet/commands.h"

int main(int argc, char** argv) {
  sn::adopt_thread_wait_policy(argv);  // may re-execute this program once (engine/parallel.h)
  CLI::App app{"scratchnet: a from-scratch deep-learning engine (C++17/CUDA) for transfer learning"};
  app.require_subcommand(1);
  sn::cli::add_backend_options(app);  // --conv, --tf32: accepted after any subcommand too
  app.fallthrough();
  for (auto& reg : sn::cli::registry()) reg(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Subcommands run from their callbacks; errors are reported here once,
  // without a stack trace: the message names the file and the problem.
  return sn::cli::exit_code();
}
