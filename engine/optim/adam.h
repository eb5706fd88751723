// optim/adam.h — Adam (Kingma & Ba), exactly as torch.optim.Adam 1.13 with
// amsgrad=False: defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0
// (an L2 term added to the gradient, not AdamW's decoupled decay). The update
// itself is written out in engine/cpu/optim.h.
//
// State per parameter i: "state.<i>.step" (a 0-d tensor holding the number of
// updates so far, a float as in PyTorch), "state.<i>.exp_avg" and
// "state.<i>.exp_avg_sq" (the parameter's shape).
#pragma once
#include "engine/optim/optimizer.h"

namespace sn::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;
  const AdamOptions& options() const { return options_; }
  int64_t step_count(size_t i) const { return steps_.at(i); }

 private:
  AdamOptions options_;
  std::vector<int64_t> steps_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;  // zeros until the first step, as PyTorch's lazy init
};

}  // namespace sn::optim
