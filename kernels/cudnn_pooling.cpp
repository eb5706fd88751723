// cudnn_pooling.cpp — max pooling through cuDNN (deterministic max, NaN propagates).
#include <climits>

#include "kernels/allocator.h"
#include "kernels/cudnn_ops.h"
#include "kernels/handles.h"

namespace sn::cudnn {

namespace {
void check(const Pool2dShape& s) {
  for (int64_t v : {s.N, s.C, s.H, s.W, s.kernel, s.stride, s.pad, s.P, s.Q})
    SN_CHECK(v >= 0 && v <= INT_MAX, "max_pool2d (cuDNN): size ", v, " does not fit cuDNN's int dimensions");
  SN_CHECK(s.N * s.C * s.H * s.W <= INT_MAX, "max_pool2d (cuDNN): tensor over 2^31 elements; lower the batch size");
}
}  // namespace

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  check(s);
  if (s.N * s.C == 0) return;
  cuda::TensorDesc xd(int(s.N), int(s.C), int(s.H), int(s.W)), yd(int(s.N), int(s.C), int(s.P), int(s.Q));
  cuda::PoolDesc pool(int(s.kernel), int(s.stride), int(s.pad));
  const float one = 1.f, zero = 0.f;
  SN_CUDNN_CHECK(cudnnPoolingForward(cuda::cudnn_handle(), pool.get(), &one, xd.get(), x, &zero, yd.get(), y));
}

void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx) {
  check(s);
  if (s.N * s.C == 0) return;
  cudnnHandle_t h = cuda::cudnn_handle();
  cuda::TensorDesc xd(int(s.N), int(s.C), int(s.H), int(s.W)), yd(int(s.N), int(s.C), int(s.P), int(s.Q));
  cuda::PoolDesc pool(int(s.kernel), int(s.stride), int(s.pad));
  const float one = 1.f, zero = 0.f;
  cuda::DeviceBuffer y(static_cast<size_t>(s.N * s.C * s.P * s.Q) * sizeof(float));
  SN_CUDNN_CHECK(cudnnPoolingForward(h, pool.get(), &one, xd.get(), x, &zero, yd.get(), y.as<float>()));
  SN_CUDNN_CHECK(cudnnPoolingBackward(h, pool.get(), &one, yd.get(), y.as<float>(), yd.get(), dy, xd.get(), x, &zero,
                                      xd.get(), dx));
}

}  // namespace sn::cudnn
