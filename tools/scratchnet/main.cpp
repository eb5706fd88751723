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
  sn::cli::set_program(argc > 0 ? argv[0] : nullptr);
  app.failure_message(sn::cli::parse_failure);  // before the subcommands, which copy it
  sn::cli::add_backend_options(app);            // --conv, --tf32: accepted after any subcommand too
  app.fallthrough();
  for (auto& reg : sn::cli::registry()) reg(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Subcommands run from their callbacks, inside sn::cli::run, which reports
  // errors (commands.h).
  return sn::cli::exit_code();
}
