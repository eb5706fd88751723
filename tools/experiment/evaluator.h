// experiment/evaluator.h — `scratchnet eval`: every checkpoint of a run on the test split.
//
// (The textbook's evaluation loop returns inside its loop, after the first
// checkpoint; here every checkpoint is evaluated.) For each: mean
// cross-entropy and accuracy; for the best one (highest accuracy, earliest
// on a tie): per-class accuracy, the confusion matrix, the predictions on
// 20 test images spread over the classes and on every misclassified one
// ("misclassified"), for the report's grids.
//
// When the checkpoints hold only the head (the backbone and its batch-norm
// statistics never moved: --freeze-bn), the test features are computed once
// and each checkpoint costs one small matrix product. When `train` cached
// features (--freeze-bn --no-augment) it saved the test features too
// (test_features.h): then the backbone is not even loaded, unless the file no
// longer matches (other test photos, weights, precision), which eval says.
//
// The result goes to RUN_DIR/eval.json (and is returned); the report is
// rewritten with it. RUN_DIR is locked meanwhile (run_lock.h). A stop signal
// (interrupt.h) ends the evaluation at the end of a batch with Interrupted,
// before anything is written.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace sn::train {

struct EvalOptions {
  std::string run;   // RUN_DIR
  std::string data;  // data folder ("" = the one the run trained on)
  int workers = 2;
  int threads = 0;  // 0: all cores
  std::string device = "auto";
  bool quiet = false;               // no progress or tables
  bool progress_to_stderr = false;  // --json: stdout carries only the JSON document
  int grid_images = 20;
  std::string precision;               // fp32 | bf16 ("" = the run's own)
  int slow_batch_ms = 0;               // test hook: sleep this long after each batch
  std::string program = "scratchnet";  // argv[0], for the command an interrupted evaluation prints
};

nlohmann::json evaluate_run(const EvalOptions& o);

// The human-readable summary `scratchnet eval` prints (per checkpoint, best, per class, confusion).
std::string format_eval(const nlohmann::json& eval);

}  // namespace sn::train
