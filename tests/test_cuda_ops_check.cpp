// test_cuda_ops_check.cpp — runs one row of the op table (tests/op_table.h) on one
// backend: random inputs, the double reference (ref::), the op and its backward through
// autograd on the backend, every output and gradient compared. The table and its test
// cases are in tests/test_cuda_ops.cpp.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "engine/backend_config.h"
#include "engine/cpu/adaptive_pool.h"
#include "engine/cpu/batch_norm.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/pooling.h"
#include "engine/cpu/softmax.h"
#include "engine/ops.h"
#include "tests/helpers.h"
#include "tests/op_table.h"
#if SCRATCHNET_CUDA
#include "kernels/cudnn_ops.h"
#endif

namespace sn::test {

const char* to_string(OpBackend b) {
  switch (b) {
    case OpBackend::CpuFast:
      return "cpu";
    case OpBackend::CudaNative:
      return "cuda";
    case OpBackend::Cudnn:
      return "cudnn";
  }
  return "?";
}

const char* to_string(Op op) {
  static const char* const names[] = {"relu",
                                      "relu6",
                                      "add",
                                      "mul",
                                      "scale",
                                      "linear",
                                      "conv2d",
                                      "batch_norm",
                                      "max_pool2d",
                                      "avg_pool_1x1",
                                      "adaptive_avg_pool2d",
                                      "softmax",
                                      "log_softmax",
                                      "cross_entropy"};
  static_assert(sizeof names / sizeof names[0] == size_t(Op::CrossEntropy) + 1, "a name for every Op");
  return names[static_cast<int>(op)];
}

std::string OpCase::describe() const {
  std::ostringstream o;
  o << to_string(op) << " x (" << N << "," << C << "," << H << "," << W << ")";
  if (op == Op::Conv2d || op == Op::Linear) o << " K " << K << (with_params ? " bias" : " no bias");
  if (op == Op::Conv2d || op == Op::MaxPool2d) o << " kernel " << R << " stride " << stride << " pad " << pad;
  if (op == Op::Conv2d && groups > 1) o << " groups " << groups;
  if (op == Op::AdaptiveAvgPool2d) o << " -> " << P << "x" << Q;
  if (op == Op::BatchNorm)
    o << (with_params ? " affine" : " no affine") << (training ? " training" : " eval") << " eps " << eps;
  return o.str();
}

namespace {

// Sums of float products (conv, linear), of exponentials (softmax, cross-entropy) or
// normalisation after double statistics (batch norm), against a double reference: each
// output carries a few float roundings times sqrt(terms summed), ~1e-7 relative for
// these sizes. 1e-5 is a wide margin; an indexing bug gives O(1).
constexpr double kSumTol = 1e-5;
// Pooling: max pooling selects values (the forward is exact), its backward adds at most
// a few dy values per element; an average is a sum of at most a few hundred floats, scaled.
constexpr double kPoolTol = 1e-6;

std::vector<float> host(const Tensor& t) { return t.to(Device::CPU).to_vector(); }
std::vector<double> dbl(const Tensor& t) {
  const std::vector<float> v = host(t);
  return {v.begin(), v.end()};
}

// A tensor made on the CPU, put where the case runs: a leaf that requires grad, or a plain copy.
struct Place {
  Device device;
  Tensor put(const Tensor& cpu) const { return device == Device::CPU ? cpu.clone() : cpu.to(device); }
  Tensor leaf(const Tensor& cpu) const {
    Tensor t = put(cpu);
    t.set_requires_grad(true);
    return t;
  }
};

void check_elementwise(const OpCase& c, const Place& at, Rng& rng) {
  const int64_t n = c.N * c.C;
  // relu6's inputs reach past 6; the first ones sit exactly on the kinks (0, and 6 for
  // relu6), where the gradient is 0 (PyTorch's: the open interval).
  Tensor a = c.op == Op::Relu6 ? Tensor::uniform({n}, rng, -3.f, 9.f) : Tensor::randn({n}, rng);
  Tensor b = Tensor::randn({n}, rng), gy = Tensor::randn({n}, rng);
  a.data()[0] = 0.f;
  if (n > 1 && c.op == Op::Relu6) a.data()[1] = 6.f;
  const double s = -1.5;
  auto ad = dbl(a), bd = dbl(b), gyd = dbl(gy);
  std::vector<double> yd(n), dad(n), dbd(n);
  if (c.op == Op::Mul) {  // dropout: x times a host-drawn mask of 0 and 1/(1-p); the mask is dropout(ones)
    const float p = 0.3f;
    const uint64_t seed = static_cast<uint64_t>(c.N * 1000 + c.C);  // the same mask twice
    Rng mask_rng(seed), op_rng(seed);
    const auto maskd = dbl(dropout(Tensor::full({n}, 1.f), p, true, mask_rng));
    ref::mul_forward<double>(ad.data(), maskd.data(), yd.data(), n);
    ref::mul_forward<double>(gyd.data(), maskd.data(), dad.data(), n);
    Tensor ga = at.leaf(a);
    Tensor y = dropout(ga, p, true, op_rng);
    y.backward(at.put(gy));
    // One float product each: exact against the reference rounded to float.
    CHECK(max_rel_error(host(y), to_float(yd)) == 0);
    CHECK(max_rel_error(host(ga.grad()), to_float(dad)) == 0);
    return;
  }
  if (c.op == Op::Relu) {
    ref::relu_forward<double>(ad.data(), yd.data(), n);
    ref::relu_backward<double>(ad.data(), gyd.data(), dad.data(), n);
  } else if (c.op == Op::Relu6) {
    ref::relu6_forward<double>(ad.data(), yd.data(), n);
    ref::relu6_backward<double>(ad.data(), gyd.data(), dad.data(), n);
  } else if (c.op == Op::Add) {
    ref::add_forward<double>(ad.data(), bd.data(), yd.data(), n);
    dad = dbd = gyd;
  } else {
    ref::scale_forward<double>(ad.data(), s, yd.data(), n);
    ref::scale_forward<double>(gyd.data(), s, dad.data(), n);
  }
  Tensor ga = at.leaf(a), gb = at.leaf(b);
  Tensor y = c.op == Op::Relu    ? relu(ga)
             : c.op == Op::Relu6 ? relu6(ga)
             : c.op == Op::Add   ? add(ga, gb)
                                 : scale(ga, float(s));
  y.backward(at.put(gy));
  // One operation per element on float inputs: exact in double (a sum or product of two
  // floats of these magnitudes fits in 53 bits), so the float result is the double one
  // rounded to float once. Exact against the reference rounded to float.
  CHECK(max_rel_error(host(y), to_float(yd)) == 0);
  CHECK(max_rel_error(host(ga.grad()), to_float(dad)) == 0);
  if (c.op == Op::Add) CHECK(max_rel_error(host(gb.grad()), to_float(dbd)) == 0);
}

void check_linear(const OpCase& c, const Place& at, Rng& rng) {
  const int64_t N = c.N, in = c.C, out = c.K;
  Tensor x = Tensor::randn({N, in}, rng), w = Tensor::randn({out, in}, rng, 0.1f);
  Tensor b = c.with_params ? Tensor::randn({out}, rng) : Tensor(), gy = Tensor::randn({N, out}, rng);
  auto xd = dbl(x), wd = dbl(w), gyd = dbl(gy);
  std::vector<double> bd = c.with_params ? dbl(b) : std::vector<double>{};
  std::vector<double> yd(N * out), dxd(xd.size()), dwd(wd.size()), dbd(out);
  ref::linear_forward<double>(N, in, out, xd.data(), wd.data(), c.with_params ? bd.data() : nullptr, yd.data());
  ref::linear_backward_input<double>(N, in, out, gyd.data(), wd.data(), dxd.data());
  ref::linear_backward_weight<double>(N, in, out, xd.data(), gyd.data(), dwd.data());
  ref::linear_backward_bias<double>(N, out, gyd.data(), dbd.data());
  Tensor gx = at.leaf(x), gw = at.leaf(w), gb = c.with_params ? at.leaf(b) : Tensor();
  Tensor y = linear(gx, gw, gb);
  y.backward(at.put(gy));
  CHECK(rel_l2_error(host(y), yd) < kSumTol);
  CHECK(rel_l2_error(host(gx.grad()), dxd) < kSumTol);
  CHECK(rel_l2_error(host(gw.grad()), dwd) < kSumTol);
  if (c.with_params) CHECK(rel_l2_error(host(gb.grad()), dbd) < kSumTol);
}

void check_conv(const OpCase& c, const Place& at, OpBackend backend, Rng& rng) {
  Conv2dShape s{c.N, c.C, c.H, c.W, c.K, c.R, c.R, c.stride, c.pad, 0, 0, c.groups};
  s.P = (s.H + 2 * s.pad - s.R) / s.stride + 1;
  s.Q = (s.W + 2 * s.pad - s.S) / s.stride + 1;
  Tensor x = Tensor::randn({s.N, s.C, s.H, s.W}, rng), w = Tensor::randn({s.K, s.C / s.groups, s.R, s.S}, rng, 0.3f);
  Tensor b = c.with_params ? Tensor::randn({s.K}, rng) : Tensor(), gy = Tensor::randn({s.N, s.K, s.P, s.Q}, rng);
  auto xd = dbl(x), wd = dbl(w), gyd = dbl(gy);
  std::vector<double> bd = c.with_params ? dbl(b) : std::vector<double>{};
  std::vector<double> yd(s.N * s.K * s.P * s.Q), dxd(xd.size()), dwd(wd.size()), dbd(s.K);
  ref::conv2d_forward<double>(s, xd.data(), wd.data(), c.with_params ? bd.data() : nullptr, yd.data());
  ref::conv2d_backward_input<double>(s, gyd.data(), wd.data(), dxd.data());
  ref::conv2d_backward_weight<double>(s, xd.data(), gyd.data(), dwd.data());
  ref::conv2d_backward_bias<double>(s, gyd.data(), dbd.data());
  Tensor gx = at.leaf(x), gw = at.leaf(w), gb = c.with_params ? at.leaf(b) : Tensor();
  Tensor y = conv2d(gx, gw, gb, Conv2dParams{int(c.stride), int(c.pad), int(c.groups)});
  REQUIRE(y.shape() == Shape{s.N, s.K, s.P, s.Q});
  y.backward(at.put(gy));
#if SCRATCHNET_CUDA
  if (backend == OpBackend::Cudnn) {
    // Which algorithms ran, in the output of every run (a numerics difference is then not
    // mistaken for a bug). With TF32 off, cudnn_conv.cpp ranks FFT and Winograd after every
    // algorithm that sums float32 products as the CPU does (their error, up to ~1e-4
    // relative, would not meet kSumTol): none of them may be chosen, nor tensor cores.
    const cudnn::ConvAlgorithms al = cudnn::conv_algorithms(s);
    WARN("cuDNN algorithms for " << c.describe() << ": forward " << al.forward.name << ", backward-data "
                                 << al.backward_data.name << ", backward-filter " << al.backward_filter.name);
    for (const cudnn::ConvAlgorithm* a : {&al.forward, &al.backward_data, &al.backward_filter}) {
      CHECK(a->chosen);
      CHECK_FALSE(a->approximate);
      CHECK_FALSE(a->tensor_ops);
    }
  }
#else
  (void)backend;
#endif
  CHECK(rel_l2_error(host(y), yd) < kSumTol);
  CHECK(rel_l2_error(host(gx.grad()), dxd) < kSumTol);
  CHECK(rel_l2_error(host(gw.grad()), dwd) < kSumTol);
  if (c.with_params) CHECK(rel_l2_error(host(gb.grad()), dbd) < kSumTol);
}

void check_batch_norm(const OpCase& c, const Place& at, Rng& rng) {
  const BatchNormShape s{c.N, c.C, c.H * c.W};
  const float momentum = 0.1f;
  const bool affine = c.with_params;
  // Inputs with a non-zero mean and a scale, as activations have.
  Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, rng, 2.f);
  {
    float* p = x.data();
    for (int64_t i = 0; i < x.numel(); ++i) p[i] += 0.5f;
  }
  Tensor w = affine ? Tensor::randn({c.C}, rng) : Tensor(), b = affine ? Tensor::randn({c.C}, rng) : Tensor();
  Tensor rm = Tensor::randn({c.C}, rng), rv = Tensor::uniform({c.C}, rng, 0.5f, 2.f);
  Tensor gy = Tensor::randn(x.shape(), rng);
  auto xd = dbl(x), gyd = dbl(gy), rmd = dbl(rm), rvd = dbl(rv);
  std::vector<double> wd = affine ? dbl(w) : std::vector<double>{}, bd = affine ? dbl(b) : std::vector<double>{};
  std::vector<double> yd(xd.size()), smd(c.C), sid(c.C), dxd(xd.size()), dwd(c.C), dbd(c.C);
  ref::batch_norm_forward<double>(s, xd.data(), affine ? wd.data() : nullptr, affine ? bd.data() : nullptr, rmd.data(),
                                  rvd.data(), c.training, momentum, c.eps, yd.data(), smd.data(), sid.data());
  ref::batch_norm_backward<double>(s, xd.data(), gyd.data(), smd.data(), sid.data(), affine ? wd.data() : nullptr,
                                   c.training, c.eps, dxd.data(), affine ? dwd.data() : nullptr,
                                   affine ? dbd.data() : nullptr);
  Tensor gx = at.leaf(x), gw = affine ? at.leaf(w) : Tensor(), gb = affine ? at.leaf(b) : Tensor();
  Tensor grm = at.put(rm), grv = at.put(rv);
  Tensor y = batch_norm(gx, gw, gb, grm, grv, c.training, momentum, c.eps);
  y.backward(at.put(gy));
  CHECK(rel_l2_error(host(y), yd) < kSumTol);
  CHECK(rel_l2_error(host(grm), rmd) < kSumTol);
  CHECK(rel_l2_error(host(grv), rvd) < kSumTol);  // cuDNN too: the unbiased variance, as PyTorch
  CHECK(rel_l2_error(host(gx.grad()), dxd) < kSumTol);
  if (affine) {
    CHECK(rel_l2_error(host(gw.grad()), dwd) < kSumTol);
    CHECK(rel_l2_error(host(gb.grad()), dbd) < kSumTol);
  }
}

void check_pool(const OpCase& c, const Place& at, Rng& rng) {
  const bool max = c.op == Op::MaxPool2d;
  Pool2dShape s{c.N, c.C, c.H, c.W, c.R, c.stride, c.pad, 1, 1};
  if (max) {
    s.P = (c.H + 2 * c.pad - c.R) / c.stride + 1;
    s.Q = (c.W + 2 * c.pad - c.R) / c.stride + 1;
  }
  // Random normals: no ties, and windows at the border that are all negative (padding
  // must not win, as it would if it counted as 0).
  Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, rng), gy = Tensor::randn({c.N, c.C, s.P, s.Q}, rng);
  auto xd = dbl(x), gyd = dbl(gy);
  std::vector<double> yd(c.N * c.C * s.P * s.Q), dxd(xd.size());
  if (max) {
    ref::max_pool2d_forward<double>(s, xd.data(), yd.data());
    ref::max_pool2d_backward<double>(s, xd.data(), gyd.data(), dxd.data());
  } else {
    ref::avg_pool_1x1_forward<double>(c.N * c.C, c.H * c.W, xd.data(), yd.data());
    ref::avg_pool_1x1_backward<double>(c.N * c.C, c.H * c.W, gyd.data(), dxd.data());
  }
  Tensor gx = at.leaf(x);
  Tensor y = max ? max_pool2d(gx, int(c.R), int(c.stride), int(c.pad)) : adaptive_avg_pool2d_1x1(gx);
  y.backward(at.put(gy));
  if (max)
    CHECK(max_rel_error(host(y), yd) == 0);
  else
    CHECK(rel_l2_error(host(y), yd) < kPoolTol);
  CHECK(rel_l2_error(host(gx.grad()), dxd) < kPoolTol);
}

void check_adaptive_pool(const OpCase& c, const Place& at, Rng& rng) {
  const AdaptivePool2dShape s{c.N, c.C, c.H, c.W, c.P, c.Q};
  Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, rng), gy = Tensor::randn({c.N, c.C, c.P, c.Q}, rng);
  auto xd = dbl(x), gyd = dbl(gy);
  std::vector<double> yd(gyd.size()), dxd(xd.size());
  ref::adaptive_avg_pool2d_forward<double>(s, xd.data(), yd.data());
  ref::adaptive_avg_pool2d_backward<double>(s, gyd.data(), dxd.data());
  Tensor gx = at.leaf(x);
  Tensor y = adaptive_avg_pool2d(gx, int(c.P), int(c.Q));
  REQUIRE(y.shape() == Shape{c.N, c.C, c.P, c.Q});
  y.backward(at.put(gy));
  // A float sum of at most a few hundred values divided once (y), a few bins' shares (dx).
  CHECK(rel_l2_error(host(y), yd) < kPoolTol);
  CHECK(rel_l2_error(host(gx.grad()), dxd) < kPoolTol);
}

void check_rows(const OpCase& c, const Place& at, Rng& rng) {
  const int64_t N = c.N, K = c.C;
  Tensor x = Tensor::randn({N, K}, rng, 3.f), gy = Tensor::randn({N, K}, rng);
  auto xd = dbl(x), gyd = dbl(gy);
  std::vector<double> yd(N * K), dxd(N * K);
  Tensor gx = at.leaf(x);
  if (c.op == Op::CrossEntropy) {
    std::vector<int64_t> labels(N);
    for (auto& l : labels) l = rng.randint(0, K - 1);
    const double loss_ref = ref::cross_entropy_forward<double>(N, K, xd.data(), labels.data());
    const double g = 0.7;  // upstream gradient: scale the loss so g is not 1
    ref::cross_entropy_backward<double>(N, K, xd.data(), labels.data(), g, dxd.data());
    Tensor loss = cross_entropy(gx, labels);
    REQUIRE(loss.device() == at.device);
    scale(loss, float(g)).backward();
    CHECK(std::abs(host(loss)[0] - loss_ref) <= kSumTol * std::max(1.0, std::abs(loss_ref)));
    CHECK(rel_l2_error(host(gx.grad()), dxd) < kSumTol);
    return;
  }
  if (c.op == Op::LogSoftmax) {
    ref::log_softmax_forward<double>(N, K, xd.data(), yd.data());
    ref::log_softmax_backward<double>(N, K, yd.data(), gyd.data(), dxd.data());
  } else {
    ref::softmax_forward<double>(N, K, xd.data(), yd.data());
    ref::softmax_backward<double>(N, K, yd.data(), gyd.data(), dxd.data());
  }
  Tensor y = c.op == Op::LogSoftmax ? log_softmax(gx) : softmax(gx);
  y.backward(at.put(gy));
  CHECK(rel_l2_error(host(y), yd) < kSumTol);
  CHECK(rel_l2_error(host(gx.grad()), dxd) < kSumTol);
}

}  // namespace

void check_op_case(const OpCase& c, OpBackend backend, Rng& rng) {
  INFO(to_string(backend) << ": " << c.describe());
  const Place at{backend == OpBackend::CpuFast ? Device::CPU : Device::CUDA};
  backend_config().conv = backend == OpBackend::CudaNative ? ConvBackend::Native : ConvBackend::Cudnn;
  backend_config().tf32 = false;
  switch (c.op) {
    case Op::Relu:
    case Op::Relu6:
    case Op::Add:
    case Op::Mul:
    case Op::Scale:
      check_elementwise(c, at, rng);
      break;
    case Op::Linear:
      check_linear(c, at, rng);
      break;
    case Op::Conv2d:
      check_conv(c, at, backend, rng);
      break;
    case Op::BatchNorm:
      check_batch_norm(c, at, rng);
      break;
    case Op::MaxPool2d:
    case Op::AvgPool1x1:
      check_pool(c, at, rng);
      break;
    case Op::AdaptiveAvgPool2d:
      check_adaptive_pool(c, at, rng);
      break;
    case Op::Softmax:
    case Op::LogSoftmax:
    case Op::CrossEntropy:
      check_rows(c, at, rng);
      break;
  }
  backend_config().conv = ConvBackend::Cudnn;
}

}  // namespace sn::test
