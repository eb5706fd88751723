// autograd.h — the reverse-mode engine, in the spirit of micrograd.
//
// Every differentiable op computes its output, then calls record() with its
// inputs and a backward closure written right below the forward code. If grad
// mode is on and any input requires a gradient, record() attaches a Node to the
// output; otherwise the closure is dropped at once, together with whatever it
// captured (saved activations). That is why frozen layers and NoGradGuard
// scopes cost no graph memory.
//
// Tensor::backward() sorts the graph topologically and runs each Node's
// closure in reverse order. A closure receives the output and dL/d(output) and
// calls accumulate_grad() on each input that requires a gradient.
#pragma once
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace sn {

using BackwardFn = std::function<void(const Tensor& out, const Tensor& grad_out)>;

struct Node {
  const char* name;            // op name, for debugging ("conv2d", "relu", ...)
  std::vector<Tensor> inputs;  // the graph edges: inputs that require grad
  BackwardFn backward;
};

// Attach the backward closure to `out` if a gradient can flow; returns `out`.
Tensor record(Tensor out, const char* name, std::vector<Tensor> inputs, BackwardFn backward);

// Grad mode is per thread, on by default.
bool grad_enabled();

// RAII: no graph is recorded inside the scope (inference, frozen feature extraction).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace sn
