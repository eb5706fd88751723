// `scratchnet report --run RUN_DIR`: (re)writes RUN_DIR/report.html from the
// run's files (`scratchnet eval` also does this after evaluating).
#include <cstdio>
#include <memory>

#include "engine/train/report.h"
#include "tools/scratchnet/commands.h"

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "Write RUN_DIR/report.html (curves, prediction grid, configuration)");
  auto run_dir = std::make_shared<std::string>();
  cmd->add_option("--run", *run_dir, "run directory written by `scratchnet train`")->required();
  cmd->callback([run_dir] {
    sn::cli::run([&] {
      const std::string path = sn::train::write_report(sn::train::RunPaths(*run_dir));
      std::printf("report: %s\n", path.c_str());
      return 0;
    });
  });
});
