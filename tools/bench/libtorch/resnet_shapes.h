// bench/libtorch/resnet_shapes.h — every convolution of ResNet-18 and ResNet-50
// (torchvision layout, 224x224 input, stride on the 3x3 of a bottleneck), with
// how many times each distinct shape occurs in each network.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace sn::bench {

struct ConvSpec {
  int64_t C, H, K, R, stride, pad;  // square input H x H and filter R x R
  int count18 = 0, count50 = 0;     // occurrences in ResNet-18 / ResNet-50
  int64_t P() const { return (H + 2 * pad - R) / stride + 1; }
  std::string label() const {  // "3x3 64>64 56 s1"
    return std::to_string(R) + "x" + std::to_string(R) + " " + std::to_string(C) + ">" + std::to_string(K) + " " +
           std::to_string(H) + " s" + std::to_string(stride);
  }
  std::string nets() const { return count18 && count50 ? "r18,r50" : (count18 ? "r18" : "r50"); }
};

inline std::vector<ConvSpec> resnet_conv_specs() {
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>, ConvSpec> m;
  auto add = [&](bool r50, int64_t C, int64_t H, int64_t K, int64_t R, int64_t stride) {
    const int64_t pad = R / 2;
    auto& s = m[{C, H, K, R, stride, pad}];
    s.C = C, s.H = H, s.K = K, s.R = R, s.stride = stride, s.pad = pad;
    (r50 ? s.count50 : s.count18)++;
  };
  for (bool r50 : {false, true}) add(r50, 3, 224, 64, 7, 2);
  // ResNet-18: BasicBlocks [2, 2, 2, 2].
  {
    int64_t in = 64, H = 56;
    for (int layer = 0; layer < 4; ++layer) {
      const int64_t out = 64 << layer;
      for (int b = 0; b < 2; ++b) {
        const int64_t stride = (layer > 0 && b == 0) ? 2 : 1;
        add(false, in, H, out, 3, stride);
        if (stride != 1 || in != out) add(false, in, H, out, 1, stride);  // downsample
        H = (H + 2 - 3) / stride + 1;
        add(false, out, H, out, 3, 1);
        in = out;
      }
    }
  }
  // ResNet-50: Bottlenecks [3, 4, 6, 3], expansion 4.
  {
    int64_t in = 64, H = 56;
    const int blocks[4] = {3, 4, 6, 3};
    for (int layer = 0; layer < 4; ++layer) {
      const int64_t width = 64 << layer, out = width * 4;
      for (int b = 0; b < blocks[layer]; ++b) {
        const int64_t stride = (layer > 0 && b == 0) ? 2 : 1;
        add(true, in, H, width, 1, 1);
        add(true, width, H, width, 3, stride);
        if (stride != 1 || in != out) add(true, in, H, out, 1, stride);  // downsample, on the block input
        H = (H + 2 - 3) / stride + 1;
        add(true, width, H, out, 1, 1);
        in = out;
      }
    }
  }
  std::vector<ConvSpec> v;
  for (auto& [key, s] : m) v.push_back(s);
  // Network order is easier to read: by input size (descending), then channels.
  std::stable_sort(v.begin(), v.end(), [](const ConvSpec& a, const ConvSpec& b) {
    return std::make_tuple(-a.H, a.C, a.K, a.R) < std::make_tuple(-b.H, b.C, b.K, b.R);
  });
  return v;
}

}  // namespace sn::bench
