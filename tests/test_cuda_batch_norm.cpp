// [cuda] batch_norm on the GPU, both backends (our kernels, and cuDNN), training
// and eval, with and without affine parameters: output, running statistics and
// gradients against the double reference (engine/cpu/batch_norm.h ref::).
#include "engine/backend_config.h"
#include "engine/cpu/batch_norm.h"
#include "engine/ops.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

#if SCRATCHNET_CUDA
namespace {

struct BnCase {
  int64_t N, C, H, W;
  bool affine, training;
  float eps;
};

// (Not N*H*W = 2 in training: the two normalized values are then +-1 and the
// exact input gradient nearly cancels to 0, so no float32 code meets a relative bound.)
// The last three split each channel over several blocks (kernels/batch_norm.cu: chunks
// of >= 2048 values): 3 chunks ending mid-plane with planes longer than a block
// (33x37), 2 chunks of 7x7 planes, and 4 chunks of 1x1 planes.
const BnCase kCases[] = {
    {4, 3, 5, 7, true, true, 1e-5f},   {8, 16, 1, 1, true, true, 1e-5f},   {8, 32, 7, 7, false, true, 1e-3f},
    {4, 3, 5, 7, true, false, 1e-5f},  {3, 9, 4, 4, false, false, 1e-3f},  {2, 64, 28, 28, true, true, 1e-5f},
    {5, 3, 33, 37, true, true, 1e-5f}, {64, 4, 7, 7, false, true, 1e-5f}, {7000, 2, 1, 1, true, true, 1e-5f},
};

void check_bn(ConvBackend backend, const BnCase& c, Rng& rng) {
  backend_config().conv = backend;
  const BatchNormShape s{c.N, c.C, c.H * c.W};
  const float momentum = 0.1f;
  // Inputs with a non-zero mean and a scale, as activations have.
  Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, rng, 2.f);
  {
    float* p = x.data();
    for (int64_t i = 0; i < x.numel(); ++i) p[i] += 0.5f;
  }
  Tensor w = c.affine ? Tensor::randn({c.C}, rng) : Tensor(), b = c.affine ? Tensor::randn({c.C}, rng) : Tensor();
  Tensor rm = Tensor::randn({c.C}, rng), rv = Tensor::uniform({c.C}, rng, 0.5f, 2.f);
  Tensor gy = Tensor::randn(x.shape(), rng);

  auto xd = doubles(x), gyd = doubles(gy), rmd = doubles(rm), rvd = doubles(rv);
  std::vector<double> wd = c.affine ? doubles(w) : std::vector<double>{}, bd = c.affine ? doubles(b) : std::vector<double>{};
  std::vector<double> yd(xd.size()), smd(c.C), sid(c.C), dxd(xd.size()), dwd(c.C), dbd(c.C);
  ref::batch_norm_forward<double>(s, xd.data(), c.affine ? wd.data() : nullptr, c.affine ? bd.data() : nullptr,
                                  rmd.data(), rvd.data(), c.training, momentum, c.eps, yd.data(), smd.data(),
                                  sid.data());
  ref::batch_norm_backward<double>(s, xd.data(), gyd.data(), smd.data(), sid.data(), c.affine ? wd.data() : nullptr,
                                   c.training, dxd.data(), c.affine ? dwd.data() : nullptr,
                                   c.affine ? dbd.data() : nullptr);

  Tensor gx = gpu_leaf(x), gw = c.affine ? gpu_leaf(w) : Tensor(), gb = c.affine ? gpu_leaf(b) : Tensor();
  Tensor grm = rm.to(Device::CUDA), grv = rv.to(Device::CUDA);
  Tensor y = batch_norm(gx, gw, gb, grm, grv, c.training, momentum, c.eps);
  y.backward(gy.to(Device::CUDA));

  INFO("backend " << to_string(backend) << " x (" << c.N << "," << c.C << "," << c.H << "," << c.W << ") affine "
                  << c.affine << " training " << c.training << " eps " << c.eps);
  // Normalization is a few float operations per value after double statistics:
  // ~1e-7 relative. The gradient's sums run over N*H*W <= 50176 values.
  CHECK(rel_l2_error(to_host(y), yd) < 1e-5);
  CHECK(rel_l2_error(to_host(grm), rmd) < 1e-5);
  CHECK(rel_l2_error(to_host(grv), rvd) < 1e-5);  // cuDNN too: the unbiased variance, as PyTorch
  CHECK(rel_l2_error(to_host(gx.grad()), dxd) < 1e-5);
  if (c.affine) {
    CHECK(rel_l2_error(to_host(gw.grad()), dwd) < 1e-5);
    CHECK(rel_l2_error(to_host(gb.grad()), dbd) < 1e-5);
  }
}

}  // namespace
#endif

TEST_CASE("cuda batch_norm native kernels equal the double reference (train/eval, affine or not)",
          "[cuda][bn][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(81);
  for (const BnCase& c : kCases) check_bn(ConvBackend::Native, c, rng);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

TEST_CASE("cuda batch_norm through cuDNN equals the double reference (train/eval, affine or not)", "[cuda][bn][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(82);
  for (const BnCase& c : kCases) check_bn(ConvBackend::Cudnn, c, rng);
#endif
}
