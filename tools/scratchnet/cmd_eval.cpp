// `scratchnet eval --run RUN_DIR --data DIR [--json]`: every checkpoint on the
// test split, the best epoch, per-class accuracy, the confusion matrix; writes
// RUN_DIR/eval.json and RUN_DIR/report.html (tools/experiment/evaluator.h).
#include <cstdio>
#include <memory>

#include "tools/experiment/evaluator.h"
#include "tools/experiment/interrupt.h"
#include "tools/scratchnet/backend_options.h"
#include "tools/scratchnet/commands.h"

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate every checkpoint of a run on the test split; write the report");
  auto o = std::make_shared<sn::train::EvalOptions>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--run", o->run, "run directory written by `scratchnet train`")->required();
  cmd->add_option("--data", o->data, "data folder with test/<class>/ (default: the run's)");
  sn::cli::add_compute_options(*cmd, o->workers, o->threads, o->device);
  cmd->add_flag("--json", *json, "print one JSON document (each checkpoint's test accuracy and loss, `best`)");
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  cmd->add_option("--precision", o->precision, "fp32 or bf16 for the frozen backbone (default: the run's own)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--slow-batch-ms", o->slow_batch_ms, "sleep after each batch (test use: signals mid-run)")->group("");
  cmd->callback([o, json] {
    sn::cli::run([&] {
      const sn::train::StopSignals stop_signals;  // Ctrl-C / SIGTERM: stop before writing anything
      o->program = sn::cli::program();
      o->progress_to_stderr = *json;
      const nlohmann::json result = sn::train::evaluate_run(*o);
      if (*json) {
        std::printf("%s\n", result.dump(2).c_str());
      } else if (!o->quiet) {
        std::printf("%s", sn::train::format_eval(result).c_str());
        std::printf("report: %s/report.html\n", o->run.c_str());
      }
      return 0;
    });
  });
});
