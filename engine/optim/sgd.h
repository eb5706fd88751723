// optim/sgd.h — stochastic gradient descent with momentum, exactly as
// torch.optim.SGD 1.13: momentum 0, dampening 0, weight_decay 0 (L2 added to
// the gradient), nesterov off by default; the update is written out in
// engine/cpu/optim.h. lr has no default in PyTorch; here it must be given.
//
// State per parameter i, once momentum has been used: "state.<i>.momentum_buffer".
#pragma once
#include "engine/optim/optimizer.h"

namespace sn::optim {

struct SgdOptions {
  double lr = -1;  // required
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SgdOptions options);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;

 private:
  SgdOptions options_;
  std::vector<Tensor> buf_;  // undefined until a parameter's first step with momentum
};

}  // namespace sn::optim
