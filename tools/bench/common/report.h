// bench/common/report.h — result checks, the terminal table, JSON and an SVG chart.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/common/timing.h"

namespace sn::bench {

// ---- result check: before anything is timed, every side's answer is compared
// with the baseline's. A wrong answer gets no speed. -------------------------
struct Check {
  bool ok = false;
  double rel_l2 = 0;    // ||a-b|| / ||b||
  double max_abs = 0;   // max |a-b| / max |b|: the worst element, relative to the tensor's scale
  std::string message;  // why it failed
};
// Tolerance: float32 sums of up to ~5000 products in a different order (and
// with FMA or not) differ by about sqrt(K) * 2^-24 relative, i.e. ~1e-5 for
// K = 4608; 1e-4 leaves margin, while any indexing bug gives O(1) errors.
Check compare(const float* a, const float* b, size_t n, double tol = 1e-4);
Check merge(const Check& a, const Check& b);  // both must pass

// ---- one row of the table ---------------------------------------------------
struct SideResult {
  std::string name;
  Stats stats;
  bool timed = false;
};
struct Row {
  std::string group;  // "conv", "op", "model", "gemm"
  std::string name;
  double flops = 0;  // per call (0: not a flop-bound op; GFLOP/s not shown)
  std::string baseline = "libtorch";
  std::vector<SideResult> sides;
  Check check;
  std::string error;  // a side threw: the case is reported, not timed
  const SideResult* side(const std::string& n) const;
  double ratio(const std::string& n) const;  // median(n) / median(baseline), 0 if unknown
};

struct Report {
  nlohmann::json machine;
  double peak_gflops = 0;  // all threads, measured
  double peak_gflops_per_thread = 0;
  std::vector<Row> rows;

  void print_row(const Row& r) const;  // one line, as soon as a case is done
  void print_table_header(const std::string& group) const;
  void print_summary() const;  // geometric means and counts per group
  nlohmann::json to_json() const;
  std::string to_svg() const;       // horizontal bars of fast/libtorch per row, log scale
  std::string to_markdown() const;  // for docs/PERFORMANCE.md
};

double geomean(const std::vector<double>& v);

}  // namespace sn::bench
