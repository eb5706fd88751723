// experiment/progress.h — what a person sees while training runs.
//
// On a terminal: one line redrawn in place,
//   epoch  3/13 [##########..........]  192/385  41.2 img/s  ETA 0:05  loss 0.3521
// When the output is a file or a pipe (CI logs, `| tee`): plain lines, one at
// every quarter of the epoch, never carriage returns. --quiet: nothing.
// The machine-readable record is metrics.jsonl (run_dir.h), not this.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sn::train {

enum class ProgressMode { Auto, Bar, Lines, Quiet };

class Progress {
 public:
  // Auto picks Bar when `out` is a terminal, Lines otherwise.
  explicit Progress(ProgressMode mode = ProgressMode::Auto, std::FILE* out = stdout);

  // Starts a phase of `total` images ("epoch  3/13", "eval epoch 3", "features").
  void start(const std::string& label, int64_t total);
  // `done` images so far; `extra` is appended (e.g. "loss 0.3521").
  void update(int64_t done, const std::string& extra = "");
  // Ends the phase: the bar is replaced by `summary` (printed in every mode but Quiet).
  void finish(const std::string& summary);
  // A line of its own (e.g. a warning), printed in every mode but Quiet.
  void message(const std::string& line);

  ProgressMode mode() const { return mode_; }
  double elapsed_s() const;

  // "1:02:03", "4:05": the format of the ETA and of the times in the summaries.
  static std::string format_duration(double seconds);

 private:
  std::string render(int64_t done, const std::string& extra) const;
  ProgressMode mode_;
  std::FILE* out_;
  std::string label_;
  int64_t total_ = 0;
  int next_quarter_ = 1;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace sn::train
