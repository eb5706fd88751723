// cpu/conv2d_grouped.cpp — grouped convolution: the reference, and the fast path for
// groups that are not depthwise (each group as a dense convolution).
#include "engine/cpu/conv2d_grouped.h"

#include <algorithm>
#include <vector>

#include "engine/check.h"
#include "engine/cpu/conv2d.h"

namespace sn {

// ---- reference: the definition, one multiply-add at a time ---------------------
namespace ref {
namespace {
// The sizes of one group: Cg input channels, Kg output channels.
struct Groups {
  int64_t Cg, Kg;
  explicit Groups(const Conv2dShape& s) : Cg(s.C / s.groups), Kg(s.K / s.groups) {}
};
}  // namespace

template <typename T>
void conv2d_grouped_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const Groups g(s);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          T acc = bias ? bias[k] : T(0);
          const int64_t c0 = (k / g.Kg) * g.Cg;  // first input channel of k's group
          for (int64_t j = 0; j < g.Cg; ++j)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;  // zero padding
                acc += x[((n * s.C + c0 + j) * s.H + h) * s.W + v] * w[((k * g.Cg + j) * s.R + r) * s.S + t];
              }
          y[((n * s.K + k) * s.P + p) * s.Q + q] = acc;
        }
}

template <typename T>
void conv2d_grouped_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const Groups g(s);
  std::fill_n(dx, s.N * s.C * s.H * s.W, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const T d = dy[((n * s.K + k) * s.P + p) * s.Q + q];
          const int64_t c0 = (k / g.Kg) * g.Cg;
          for (int64_t j = 0; j < g.Cg; ++j)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                dx[((n * s.C + c0 + j) * s.H + h) * s.W + v] += d * w[((k * g.Cg + j) * s.R + r) * s.S + t];
              }
        }
}

template <typename T>
void conv2d_grouped_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const Groups g(s);
  std::fill_n(dw, s.K * g.Cg * s.R * s.S, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          const T d = dy[((n * s.K + k) * s.P + p) * s.Q + q];
          const int64_t c0 = (k / g.Kg) * g.Cg;
          for (int64_t j = 0; j < g.Cg; ++j)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                dw[((k * g.Cg + j) * s.R + r) * s.S + t] += d * x[((n * s.C + c0 + j) * s.H + h) * s.W + v];
              }
        }
}

#define SN_INSTANTIATE(T)                                                                        \
  template void conv2d_grouped_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_grouped_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_grouped_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);
SN_INSTANTIATE(float)
SN_INSTANTIATE(double)
#undef SN_INSTANTIATE
}  // namespace ref

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
