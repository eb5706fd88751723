// bench/libtorch/torch_resnet.h — torchvision's ResNet-18/50 forward written
// with LibTorch functions, reading its weights from a name -> tensor map with
// torchvision's state_dict names. The benchmark fills the map from a
// scratchnet model, so both sides run with identical weights.
#pragma once
#include <map>
#include <string>

#include <torch/torch.h>

namespace sn::bench {

struct TorchResNet {
  std::map<std::string, at::Tensor> p;  // "conv1.weight", "layer1.0.bn1.running_mean", ...
  bool bottleneck = false;              // ResNet-50 (true) or ResNet-18 (false)
  int blocks[4] = {2, 2, 2, 2};

  // Logits (N, classes). training: batch norm uses batch statistics and
  // updates the running ones, as model.train() does in PyTorch.
  at::Tensor forward(const at::Tensor& x, bool training) const;
  // Everything up to the pooled features (N, 512 or 2048).
  at::Tensor features(const at::Tensor& x, bool training) const;

 private:
  const at::Tensor& get(const std::string& name) const;
  at::Tensor bn(const at::Tensor& x, const std::string& prefix, bool training) const;
};

}  // namespace sn::bench
