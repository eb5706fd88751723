// commands.h — how a subcommand file plugs into the `scratchnet` tool.
//
//   static sn::cli::Register reg([](CLI::App& app) {
//     auto* cmd = app.add_subcommand("info", "Print a weight file's header");
//     ...
//     cmd->callback([opts] { sn::cli::run([&] { return do_info(*opts); }); });
//   });
#pragma once
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace sn::cli {

using Registrar = std::function<void(CLI::App&)>;
std::vector<Registrar>& registry();

struct Register {
  explicit Register(Registrar r) { registry().push_back(std::move(r)); }
};

// Runs a command body; a thrown sn::Error or std::exception is printed as
// "scratchnet: error: ..." and turns into exit code 1.
void run(const std::function<int()>& body);
int exit_code();

}  // namespace sn::cli
