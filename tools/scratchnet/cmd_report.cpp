// `scratchnet report --run RUN_DIR`: (re)writes RUN_DIR/report.html from the
// run's files (`scratchnet eval` also does this after evaluating).
#include <cstdio>
#include <memory>
#include <optional>

#include "tools/experiment/report.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/run_lock.h"
#include "tools/scratchnet/commands.h"

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "Write RUN_DIR/report.html (curves, prediction grid, configuration)");
  auto run_dir = std::make_shared<std::string>();
  cmd->add_option("--run", *run_dir, "run directory written by `scratchnet train`")->required();
  cmd->callback([run_dir] {
    sn::cli::run([&] {
      const sn::train::RunPaths run(*run_dir);
      // Locked like train and eval, so the report never mixes two processes' files. A
      // directory that is not a run is left untouched: write_report says what is missing.
      std::optional<sn::train::RunLock> lock;
      if (sn::train::path_exists(run.config())) lock.emplace(run.root, "scratchnet report");
      const std::string path = sn::train::write_report(run);
      std::printf("report: %s\n", path.c_str());
      return 0;
    });
  });
});
