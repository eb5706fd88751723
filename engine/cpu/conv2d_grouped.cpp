// cpu/conv2d_grouped.cpp — grouped convolution's fast path for groups that are not
// depthwise (each group as a dense convolution); its reference is ref::conv2d_* (conv2d.h).
#include "engine/cpu/conv2d_grouped.h"

#include <algorithm>
#include <vector>

#include "engine/check.h"
#include "engine/cpu/conv2d.h"

namespace sn {

// ---- fast: depthwise kernel, or one dense convolution per group -----------------
// A group's channels are a slice of every image, (N, Cg, H, W) with image stride C*H*W,
// while the dense kernels take a contiguous (N, C, H, W). So each group's x (and dy) is
// gathered into a contiguous buffer, and its y (dx) scattered back; with one image the
// slice already is contiguous and is used in place. Groups run one after another, each
// dense kernel threading inside, so the result does not depend on the thread count.
namespace cpu {
namespace {
// The dense problem of one group.
Conv2dShape group_shape(const Conv2dShape& s) {
  Conv2dShape g = s;
  g.C = s.C / s.groups;
  g.K = s.K / s.groups;
  g.groups = 1;
  return g;
}
// Channels [c0, c0 + count) of every image of a (N, channels, plane) tensor, contiguous.
void gather_channels(const float* src, int64_t N, int64_t channels, int64_t plane, int64_t c0, int64_t count,
                     float* dst) {
  for (int64_t n = 0; n < N; ++n)
    std::copy_n(src + (n * channels + c0) * plane, count * plane, dst + n * count * plane);
}
void scatter_channels(const float* src, int64_t N, int64_t channels, int64_t plane, int64_t c0, int64_t count,
                      float* dst) {
  for (int64_t n = 0; n < N; ++n)
    std::copy_n(src + n * count * plane, count * plane, dst + (n * channels + c0) * plane);
}
// The group's slice of a (N, channels, plane) tensor: in place for one image, else gathered into buf.
const float* slice(const float* src, int64_t N, int64_t channels, int64_t plane, int64_t c0, int64_t count,
                   std::vector<float>& buf) {
  if (N == 1) return src + c0 * plane;
  buf.resize(static_cast<size_t>(N * count * plane));
  gather_channels(src, N, channels, plane, c0, count, buf.data());
  return buf.data();
}
void check_groups(const Conv2dShape& s) {
  SN_CHECK(s.groups >= 1 && s.C % s.groups == 0 && s.K % s.groups == 0, "conv2d: ", s.C, " input and ", s.K,
           " output channels do not split into ", s.groups, " groups");
}
}  // namespace

bool is_depthwise(const Conv2dShape& s) { return s.groups > 1 && s.groups == s.C && s.groups == s.K; }

void conv2d_grouped_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  check_groups(s);
  if (is_depthwise(s)) return conv2d_depthwise_forward(s, x, w, bias, y);
  const Conv2dShape g = group_shape(s);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, wsize = g.K * g.C * g.R * g.S;
  std::vector<float> xbuf, ybuf(static_cast<size_t>(s.N == 1 ? 0 : s.N * g.K * PQ));
  for (int64_t i = 0; i < s.groups; ++i) {
    const float* xg = slice(x, s.N, s.C, HW, i * g.C, g.C, xbuf);
    float* yg = s.N == 1 ? y + i * g.K * PQ : ybuf.data();
    conv2d_forward(g, xg, w + i * wsize, bias ? bias + i * g.K : nullptr, yg);
    if (s.N != 1) scatter_channels(yg, s.N, s.K, PQ, i * g.K, g.K, y);
  }
}

void conv2d_grouped_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_groups(s);
  if (is_depthwise(s)) return conv2d_depthwise_backward_input(s, dy, w, dx);
  const Conv2dShape g = group_shape(s);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, wsize = g.K * g.C * g.R * g.S;
  std::vector<float> dybuf, dxbuf(static_cast<size_t>(s.N == 1 ? 0 : s.N * g.C * HW));
  for (int64_t i = 0; i < s.groups; ++i) {
    const float* dyg = slice(dy, s.N, s.K, PQ, i * g.K, g.K, dybuf);
    float* dxg = s.N == 1 ? dx + i * g.C * HW : dxbuf.data();
    conv2d_backward_input(g, dyg, w + i * wsize, dxg);
    if (s.N != 1) scatter_channels(dxg, s.N, s.C, HW, i * g.C, g.C, dx);
  }
}

void conv2d_grouped_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  check_groups(s);
  if (is_depthwise(s)) return conv2d_depthwise_backward_weight(s, x, dy, dw);
  const Conv2dShape g = group_shape(s);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, wsize = g.K * g.C * g.R * g.S;
  std::vector<float> xbuf, dybuf;
  for (int64_t i = 0; i < s.groups; ++i) {
    const float* xg = slice(x, s.N, s.C, HW, i * g.C, g.C, xbuf);
    const float* dyg = slice(dy, s.N, s.K, PQ, i * g.K, g.K, dybuf);
    conv2d_backward_weight(g, xg, dyg, dw + i * wsize);
  }
}
}  // namespace cpu

}  // namespace sn
