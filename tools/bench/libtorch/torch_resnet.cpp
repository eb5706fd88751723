#include "tools/bench/libtorch/torch_resnet.h"

#include "engine/check.h"

namespace sn::bench {

const at::Tensor& TorchResNet::get(const std::string& name) const {
  auto it = p.find(name);
  SN_CHECK(it != p.end(), "LibTorch ResNet: no tensor named '", name, "' in the weights");
  return it->second;
}

at::Tensor TorchResNet::bn(const at::Tensor& x, const std::string& prefix, bool training) const {
  return at::batch_norm(x, get(prefix + ".weight"), get(prefix + ".bias"), get(prefix + ".running_mean"),
                        get(prefix + ".running_var"), training, 0.1, 1e-5, false);
}

at::Tensor TorchResNet::features(const at::Tensor& input, bool training) const {
  auto conv = [&](const at::Tensor& x, const std::string& name, int64_t stride, int64_t pad) {
    return at::conv2d(x, get(name), {}, {stride, stride}, {pad, pad});
  };
  at::Tensor x = at::relu(bn(conv(input, "conv1.weight", 2, 3), "bn1", training));
  x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
  for (int layer = 0; layer < 4; ++layer) {
    for (int b = 0; b < blocks[layer]; ++b) {
      const std::string pre = "layer" + std::to_string(layer + 1) + "." + std::to_string(b) + ".";
      const int64_t stride = (layer > 0 && b == 0) ? 2 : 1;
      at::Tensor out;
      if (bottleneck) {  // torchvision v1.5: the stride sits on the 3x3 conv
        out = at::relu(bn(conv(x, pre + "conv1.weight", 1, 0), pre + "bn1", training));
        out = at::relu(bn(conv(out, pre + "conv2.weight", stride, 1), pre + "bn2", training));
        out = bn(conv(out, pre + "conv3.weight", 1, 0), pre + "bn3", training);
      } else {
        out = at::relu(bn(conv(x, pre + "conv1.weight", stride, 1), pre + "bn1", training));
        out = bn(conv(out, pre + "conv2.weight", 1, 1), pre + "bn2", training);
      }
      at::Tensor identity = x;
      if (p.count(pre + "downsample.0.weight"))
        identity = bn(conv(x, pre + "downsample.0.weight", stride, 0), pre + "downsample.1", training);
      x = at::relu(out + identity);
    }
  }
  return at::flatten(at::adaptive_avg_pool2d(x, {1, 1}), 1);
}

at::Tensor TorchResNet::forward(const at::Tensor& x, bool training) const {
  return at::linear(features(x, training), get("fc.weight"), get("fc.bias"));
}

}  // namespace sn::bench
