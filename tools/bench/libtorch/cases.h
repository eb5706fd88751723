// bench/libtorch/cases.h — a benchmark case: the same computation on each side.
//
// A Case is a recipe; make() allocates its inputs only when the case runs (a
// batch-32 ResNet-50 needs hundreds of MB) and returns the sides plus a check
// that compares each scratchnet side's answer with LibTorch's. The runner
// calls every side once, runs the check, and times only if the check passed.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "engine/tensor.h"
#include "tools/bench/common/report.h"
#include "tools/bench/common/timing.h"

namespace sn::bench {

struct Instance {
  std::vector<Side> sides;       // names: "libtorch" (the baseline), "fast", optionally "ref"
  std::function<Check()> check;  // compares the outputs the sides left behind
};

struct Case {
  std::string group;  // "conv", "op", "gemm", "model"
  std::string name;
  double flops = 0;    // per call; 0 for memory-bound ops
  double cost = 1;     // relative time budget (model cases get more)
  int min_rounds = 0;  // fewer rounds than the default for cases of seconds per call (0: default)
  std::function<Instance()> make;
};

struct Options {
  bool quick = false;    // fewer shapes/rounds: a smoke run of a minute or two
  bool with_ref = true;  // time the reference implementations where affordable
  bool backward = true;  // conv forward+backward cases
  int threads = 0;
};

// Case lists, one file each.
std::vector<Case> gemm_cases(const Options& o);
std::vector<Case> op_cases(const Options& o);
std::vector<Case> conv_cases(const Options& o);
std::vector<Case> model_cases(const Options& o);

// ---- conversions: copies, so neither side aliases the other's memory ---------
at::Tensor to_torch(const Tensor& t);
Tensor from_torch(const at::Tensor& t);
// Compare a scratchnet tensor with a LibTorch one (shapes must match).
Check compare(const Tensor& ours, const at::Tensor& theirs, double tol = 1e-4);

}  // namespace sn::bench
