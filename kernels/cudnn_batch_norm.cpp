// cudnn_batch_norm.cpp — batch norm through cuDNN (spatial mode: statistics per channel over N, H, W).
#include "kernels/allocator.h"
#include "kernels/batch_norm.cuh"
#include "kernels/cudnn_ops.h"
#include "kernels/elementwise.cuh"
#include "kernels/handles.h"

namespace sn::cudnn {

namespace {

using cuda::DeviceBuffer;
using cuda::TensorDesc;

// cuDNN needs a scale (and bias) even for affine=False: a buffer of 1s (or 0s).
struct Param {
  DeviceBuffer owned;
  const float* ptr;
  Param(const float* p, int64_t C, float value) : ptr(p) {
    if (!p) {
      owned = DeviceBuffer(static_cast<size_t>(C) * sizeof(float));
      cuda::fill(owned.as<float>(), value, C);
      ptr = owned.as<float>();
    }
  }
};

// cuDNN rejects eps < CUDNN_BN_MIN_EPSILON (a double: 0 in cuDNN 9, 1e-5 in
// cuDNN 8). Our eps is a float, and 1e-5f is a hair below 1e-5 as a double:
// where the minimum is 1e-5, pass that one as 1e-5 exactly (a difference of
// 3e-13 in var + eps). Forward and backward both pass their eps through here.
double cudnn_eps(float eps) {
  double e = double(eps);
  if (e < CUDNN_BN_MIN_EPSILON && eps == float(CUDNN_BN_MIN_EPSILON)) e = CUDNN_BN_MIN_EPSILON;
  SN_CHECK(e >= CUDNN_BN_MIN_EPSILON, "batch_norm (cuDNN): eps ", eps, " is below cuDNN's minimum ",
           CUDNN_BN_MIN_EPSILON, " (use --conv native)");
  return e;
}

void check(int64_t N, int64_t C, int64_t HW) {
  SN_CHECK(N >= 1 && C >= 1 && HW >= 1 && N * C * HW <= 0x7fffffff, "batch_norm (cuDNN): bad shape N=", N, " C=", C,
           " HW=", HW);
}

}  // namespace

void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd) {
  const int64_t N = s.N, C = s.C, HW = s.HW;
  check(N, C, HW);
  const double e = cudnn_eps(eps);
  SN_CHECK(!training || N * HW > 1, "batch_norm (cuDNN): training needs more than one value per channel");
  cudnnHandle_t h = cuda::cudnn_handle();
  TensorDesc xd(int(N), int(C), int(HW), 1), pd(1, int(C), 1, 1);
  const Param w(weight, C, 1.f), b(bias, C, 0.f);
  const float one = 1.f, zero = 0.f;
  if (training) {
    // exponentialAverageFactor = momentum: running = (1 - momentum) * running + momentum * batch value.
    SN_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd.get(), x,
                                                          xd.get(), y, pd.get(), w.ptr, b.ptr, double(momentum),
                                                          running_mean, running_var, e, save_mean, save_invstd));
  } else {
    SN_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd.get(), x,
                                                           xd.get(), y, pd.get(), w.ptr, b.ptr, running_mean,
                                                           running_var, e));
    cuda::batch_norm_eval_stats(C, running_mean, running_var, eps, save_mean, save_invstd);
  }
}

void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float eps, float* dx,
                         float* dweight, float* dbias) {
  if (!training || !dx) {
    cuda::batch_norm_backward(s, x, dy, save_mean, save_invstd, weight, training, eps, dx, dweight, dbias);
    return;
  }
  const int64_t N = s.N, C = s.C, HW = s.HW;
  check(N, C, HW);
  const double e = cudnn_eps(eps);
  cudnnHandle_t h = cuda::cudnn_handle();
  TensorDesc xd(int(N), int(C), int(HW), 1), pd(1, int(C), 1, 1);
  const Param w(weight, C, 1.f);
  DeviceBuffer dw_tmp(dweight ? 0 : static_cast<size_t>(C) * sizeof(float));
  DeviceBuffer db_tmp(dbias ? 0 : static_cast<size_t>(C) * sizeof(float));
  const float one = 1.f, zero = 0.f;
  // With save_mean/save_invstd given, cuDNN uses them; epsilon must still be
  // the forward's (cuDNN 9's CUDNN_BN_MIN_EPSILON is 0, not the layer's 1e-5).
  SN_CUDNN_CHECK(cudnnBatchNormalizationBackward(
      h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xd.get(), x, xd.get(), dy, xd.get(), dx, pd.get(), w.ptr,
      dweight ? dweight : dw_tmp.as<float>(), dbias ? dbias : db_tmp.as<float>(), e, save_mean, save_invstd));
}

}  // namespace sn::cudnn
