#include "models/fold_batch_norm.h"

#include <cmath>
#include <vector>

#include "engine/check.h"

namespace sn::models {

// w' = w * g, b' = beta + (b - mean) * g with g = gamma / sqrt(var + eps), per
// output channel, computed in double and rounded once.
FoldedConv fold_batch_norm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  const Tensor w = conv.weight.to(Device::CPU);
  const int64_t K = w.size(0), per = w.numel() / K;
  SN_CHECK(bn.channels == K, "fold: batch norm of ", bn.channels, " channels after a conv with ", K, " outputs");
  const auto gamma = bn.weight.to_vector(), beta = bn.bias.to_vector(), mean = bn.running_mean.to_vector(),
             var = bn.running_var.to_vector();
  const auto cb = conv.bias.defined() ? conv.bias.to_vector() : std::vector<float>(size_t(K), 0.f);
  // Straight from the weights into the result: a frozen ResNet-50 folds 100 MB
  // of them, and every temporary copy is memory a fresh process faults in.
  Tensor nw = Tensor::empty(w.shape()), nb = Tensor::empty({K});
  const float* src = w.data();
  float *dst = nw.data(), *bias = nb.data();
  for (int64_t k = 0; k < K; ++k) {
    const double g = double(gamma[size_t(k)]) / std::sqrt(double(var[size_t(k)]) + double(bn.eps));
    for (int64_t i = 0; i < per; ++i) dst[k * per + i] = float(double(src[k * per + i]) * g);
    bias[k] = float(double(beta[size_t(k)]) + (double(cb[size_t(k)]) - double(mean[size_t(k)])) * g);
  }
  const Device d = conv.weight.device();
  return {nw.to(d), nb.to(d)};
}

}  // namespace sn::models
