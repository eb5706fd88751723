#include "tools/bench/common/timing.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace sn::bench {

// Linear interpolation between order statistics (numpy's default percentile).
static double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

Stats summarize(std::vector<double> t, int calls_per_sample) {
  Stats s;
  s.samples = int(t.size());
  s.calls_per_sample = calls_per_sample;
  if (t.empty()) return s;
  std::sort(t.begin(), t.end());
  s.median = quantile(t, 0.5);
  s.q1 = quantile(t, 0.25);
  s.q3 = quantile(t, 0.75);
  s.min = t.front();
  s.max = t.back();
  return s;
}

std::vector<Stats> time_interleaved(const std::vector<Side>& sides, const TimingPlan& plan,
                                    const std::vector<double>& warmup_s) {
  const size_t n = sides.size();
  // Size the samples from one timed warm call per side.
  std::vector<int> reps(n, 1);
  double round_s = 0;
  for (size_t i = 0; i < n; ++i) {
    double dt = i < warmup_s.size() ? warmup_s[i] : 0;
    if (dt < plan.reuse_warmup_above_s) {
      const double t0 = now_seconds();
      sides[i].run();
      dt = std::max(now_seconds() - t0, 1e-7);
    }
    reps[i] = std::max(1, int(std::ceil(plan.min_sample_s / dt)));
    round_s += dt * reps[i];
  }
  const int rounds = std::clamp(int(plan.budget_s / std::max(round_s, 1e-9)), plan.min_rounds, plan.max_rounds);

  std::vector<std::vector<double>> samples(n);
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (k + size_t(r)) % n;  // rotate the order: no side always runs first
      const double t0 = now_seconds();
      for (int j = 0; j < reps[i]; ++j) sides[i].run();
      samples[i].push_back((now_seconds() - t0) / reps[i]);
    }
  }
  std::vector<Stats> out;
  for (size_t i = 0; i < n; ++i) out.push_back(summarize(samples[i], reps[i]));
  return out;
}

double best_process_cpu_seconds(const Side& side, int reps) {
  double best = 1e9;
  for (int rep = 0; rep < reps; ++rep) {
    timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    side.run();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    best = std::min(best, double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec));
  }
  return best;
}

}  // namespace sn::bench
