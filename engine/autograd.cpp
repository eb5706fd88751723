#include "engine/autograd.h"

#include <unordered_set>

#include "engine/check.h"

namespace sn {

static thread_local bool g_grad_enabled = true;

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Tensor record(Tensor out, const char* name, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!g_grad_enabled) return out;
  std::vector<Tensor> edges;
  for (auto& t : inputs)
    if (t.defined() && t.requires_grad()) edges.push_back(t);
  if (edges.empty()) return out;  // nothing to differentiate: drop the closure and its saved tensors
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::make_shared<Node>(Node{name, std::move(edges), std::move(backward)});
  return out;
}

// Post-order DFS from the root gives a topological order (inputs before users).
// Iterative, so very deep graphs cannot overflow the stack.
static std::vector<std::shared_ptr<TensorImpl>> topological_order(const std::shared_ptr<TensorImpl>& root) {
  std::vector<std::shared_ptr<TensorImpl>> order;
  std::unordered_set<TensorImpl*> visited;
  std::vector<std::pair<std::shared_ptr<TensorImpl>, size_t>> stack{{root, 0}};
  visited.insert(root.get());
  while (!stack.empty()) {
    auto& [impl, next] = stack.back();
    const auto& node = impl->grad_fn;
    if (node && next < node->inputs.size()) {
      auto child = node->inputs[next++].impl_ptr();
      if (visited.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      order.push_back(impl);
      stack.pop_back();
    }
  }
  return order;
}

void Tensor::backward(const Tensor& grad_output) const {
  SN_CHECK(requires_grad(),
           "backward() on a tensor that does not require grad (was it made under NoGradGuard, "
           "or from frozen inputs only?)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    SN_CHECK(numel() == 1, "backward() without a gradient needs a scalar, got ", to_string(shape()));
    seed = Tensor::ones(shape(), device());
  }
  check_same_shape(*this, seed, "backward seed");

  auto order = topological_order(impl_ptr());
  impl()->grad.reset();
  Tensor(impl_ptr()).accumulate_grad(seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const auto& impl = *it;
    if (!impl->grad_fn) continue;                           // a leaf: keeps its accumulated grad
    std::shared_ptr<Node> node = std::move(impl->grad_fn);  // free the graph as we go
    Tensor out(impl);
    if (impl->grad) node->backward(out, Tensor(impl->grad));
    impl->grad.reset();  // intermediate gradients are not kept (as in PyTorch)
  }
}

}  // namespace sn
