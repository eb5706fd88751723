#include "kernels/select.h"

#include "engine/backend_config.h"
#include "kernels/batch_norm.cuh"
#include "kernels/conv2d.cuh"
#include "kernels/conv2d_grouped.cuh"
#include "kernels/cudnn_ops.h"
#include "kernels/pooling.cuh"

namespace sn::gpu {

static bool use_cudnn() { return backend_config().conv == ConvBackend::Cudnn; }

// cuDNN takes groups in its descriptors; our own grouped convolutions are direct kernels
// (kernels/conv2d_grouped.cuh), the dense ones im2col + GEMM.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  if (use_cudnn())
    cudnn::conv2d_forward(s, x, w, bias, y);
  else if (s.groups != 1)
    cuda::conv2d_grouped_forward(s, x, w, bias, y);
  else
    cuda::conv2d_forward(s, x, w, bias, y);
}
void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  if (use_cudnn())
    cudnn::conv2d_backward_input(s, dy, w, dx);
  else if (s.groups != 1)
    cuda::conv2d_grouped_backward_input(s, dy, w, dx);
  else
    cuda::conv2d_backward_input(s, dy, w, dx);
}
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  if (use_cudnn())
    cudnn::conv2d_backward_weight(s, x, dy, dw);
  else if (s.groups != 1)
    cuda::conv2d_grouped_backward_weight(s, x, dy, dw);
  else
    cuda::conv2d_backward_weight(s, x, dy, dw);
}
void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db) { cuda::conv2d_backward_bias(s, dy, db); }

void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd) {
  if (use_cudnn())
    cudnn::batch_norm_forward(s, x, weight, bias, running_mean, running_var, training, momentum, eps, y, save_mean,
                              save_invstd);
  else
    cuda::batch_norm_forward(s, x, weight, bias, running_mean, running_var, training, momentum, eps, y, save_mean,
                             save_invstd);
}
void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float eps, float* dx,
                         float* dweight, float* dbias) {
  if (use_cudnn())
    cudnn::batch_norm_backward(s, x, dy, save_mean, save_invstd, weight, training, eps, dx, dweight, dbias);
  else
    cuda::batch_norm_backward(s, x, dy, save_mean, save_invstd, weight, training, eps, dx, dweight, dbias);
}

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  if (use_cudnn())
    cudnn::max_pool2d_forward(s, x, y);
  else
    cuda::max_pool2d_forward(s, x, y);
}
void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx) {
  if (use_cudnn())
    cudnn::max_pool2d_backward(s, x, dy, dx);
  else
    cuda::max_pool2d_backward(s, x, dy, dx);
}

}  // namespace sn::gpu
