// bench/common/timing.h — honest timing: warm-up, interleaved rounds, medians.
//
// Every benchmark compares two or more "sides" (scratchnet reference,
// scratchnet fast CPU, LibTorch, ...) that compute the same thing. Machine
// noise (other processes, frequency changes) comes in bursts, so the sides are
// run in interleaved rounds: round r runs side A, then B, then C (the order
// rotates every round), and each side's samples are summarised by the median
// and the inter-quartile range. A burst then hurts both sides alike and
// barely moves a median.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace sn::bench {

inline double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Summary of the per-call times of one side, in seconds.
struct Stats {
  int samples = 0;
  int calls_per_sample = 1;  // short calls are repeated so one sample lasts >= min_sample_s
  double median = 0, q1 = 0, q3 = 0, min = 0, max = 0;
  double iqr_rel() const { return median > 0 ? (q3 - q1) / median : 0; }  // spread, relative to the median
};
Stats summarize(std::vector<double> per_call_seconds, int calls_per_sample);

struct Side {
  std::string name;           // "ref", "fast", "libtorch", ...
  std::function<void()> run;  // one call of the operation (outputs kept by the closure)
};

struct TimingPlan {
  double budget_s = 1.5;       // aim for about this much time per case, all sides together
  double min_sample_s = 2e-3;  // repeat short calls so a sample is at least this long
  int min_rounds = 5;
  int max_rounds = 40;
  // A side whose warm-up call already took this long is not called once more
  // just to size the rounds (a batch-32 ResNet-50 forward takes seconds).
  double reuse_warmup_above_s = 0.25;
};

// Warms every side up (one call each, already done by the result check in
// practice, plus one timed call to size the rounds), then runs interleaved
// rounds. Returns one Stats per side, in the order given.
// warmup_s: optional, the duration of each side's warm-up call (see above).
std::vector<Stats> time_interleaved(const std::vector<Side>& sides, const TimingPlan& plan,
                                    const std::vector<double>& warmup_s = {});

// CPU time of this process for one call of `side`, the best of `reps` calls.
// With one thread it is immune to the time slices other processes take on a
// shared machine (wall time is not); with n threads divide by n for per-thread rates.
double best_process_cpu_seconds(const Side& side, int reps = 5);

}  // namespace sn::bench
