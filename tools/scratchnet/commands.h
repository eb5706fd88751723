// commands.h — how a subcommand file plugs into the `scratchnet` tool.
//
//   static sn::cli::Register reg([](CLI::App& app) {
//     auto* cmd = app.add_subcommand("info", "Print a weight file's header");
//     ...
//     cmd->callback([opts] { sn::cli::run([&] { return do_info(*opts); }); });
//   });
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace sn::cli {

using Registrar = std::function<void(CLI::App&)>;
std::vector<Registrar>& registry();

struct Register {
  explicit Register(Registrar r) { registry().push_back(std::move(r)); }
};

// Runs a command body and turns what it throws into one message on stderr and an exit code:
//   sn::UserError (a user's mistake)        "scratchnet: error: <message>", 1
//   sn::Error (an internal invariant)       "scratchnet: internal error (a bug in scratchnet): <message>
//   [file:line...]", 1 sn::train::Interrupted (Ctrl-C, SIGTERM) "scratchnet: <where it stopped, how to go on>", 128 +
//   the signal
void run(const std::function<int()>& body);
int exit_code();

// argv[0], for the commands that messages tell the user to run.
void set_program(const char* argv0);
const std::string& program();

// CLI11's message for a bad option or a missing argument, in the same one-line form.
std::string parse_failure(const CLI::App* app, const CLI::Error& e);

}  // namespace sn::cli
