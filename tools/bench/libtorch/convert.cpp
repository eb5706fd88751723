// Tensor conversions between scratchnet and LibTorch, for the benchmarks only.
#include <cstring>

#include "tools/bench/libtorch/cases.h"

namespace sn::bench {

at::Tensor to_torch(const Tensor& t) {
  std::vector<int64_t> sizes(t.shape().begin(), t.shape().end());
  at::Tensor out = at::empty(sizes, at::kFloat);
  std::memcpy(out.data_ptr<float>(), t.data(), t.nbytes());
  return out;
}

Tensor from_torch(const at::Tensor& t) {
  at::Tensor c = t.contiguous().to(at::kFloat);
  Shape shape(c.sizes().begin(), c.sizes().end());
  Tensor out = Tensor::empty(shape);
  std::memcpy(out.data(), c.data_ptr<float>(), out.nbytes());
  return out;
}

Check compare(const Tensor& ours, const at::Tensor& theirs, double tol) {
  at::Tensor c = theirs.contiguous();
  if (ours.numel() != c.numel()) {
    Check bad;
    bad.message = "element counts differ: " + std::to_string(ours.numel()) + " vs " + std::to_string(c.numel());
    return bad;
  }
  return compare(ours.data(), c.data_ptr<float>(), size_t(ours.numel()), tol);
}

}  // namespace sn::bench
