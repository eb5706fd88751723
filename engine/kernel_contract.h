// kernel_contract.h — the kernel contract: for every op, the entries each backend
// implements, their one signature, and what they compute. Documentation only: this
// file declares nothing and nothing includes it (dlib's layers_abstract.h is the model).
// tests/test_cuda_ops.cpp checks at compile time that the backends' entries have
// exactly these signatures.
//
// ---- the backends and who calls whom -------------------------------------------------
//
//   ref::   engine/cpu/<op>.h   the definition, plain loops, templated on T (float, double):
//                               the tests' yardstick. Same signature as cpu:: with T for float.
//   cpu::   engine/cpu/<op>.h   the fast CPU path (host pointers).
//   cuda::  kernels/<op>.cuh    our own CUDA kernels (device pointers, current_stream()).
//   cudnn:: kernels/cudnn_ops.h cuDNN, for conv2d, batch_norm and max_pool2d.
//   gpu::   kernels/select.h    for an op with a cuDNN variant: picks cudnn:: or cuda::
//                               by backend_config().conv (--conv cudnn|native).
//
// One rule for the GPU side of an op (engine/ops/<op>.cpp, through SN_DISPATCH): an op
// whose entries have a cuDNN variant (conv2d, batch_norm, max_pool2d) calls gpu:: for
// every one of its entries (gpu::conv2d_backward_bias always runs ours: cuDNN's is not
// faster for a reduction); every other op calls cuda:: directly. An op never calls
// cudnn:: itself.
//
// For each entry, cpu::, cuda::, cudnn:: and gpu:: have the same signature, word for word.
// Sizes: a struct from engine/kernel_shapes.h where an op has more than a count and a
// matrix's two sizes (Conv2dShape, Pool2dShape, BatchNormShape); otherwise the counts,
// first (n; N,K rows and columns; N,in,out as in GEMM). Scalars that the GPU keeps on the
// device (cross-entropy's loss and its gradient) are pointers in every backend. Outputs
// are overwritten, never accumulated into; a null output pointer marks a gradient
// that is not needed where the entry says so. Every result is independent of the
// thread count; the CUDA ones are reproducible run to run (no atomics in reductions).
//
// ---- elementwise (engine/cpu/elementwise.h, kernels/elementwise.cuh; cuda::) ---------
//
//   void relu_forward(const float* x, float* y, int64_t n);                  y = max(x, 0)
//   void relu_backward(const float* x, const float* dy, float* dx, int64_t n); dx = dy * (x > 0)
//   void add_forward(const float* a, const float* b, float* y, int64_t n);   y = a + b (y may be a)
//   void scale_forward(const float* x, float s, float* y, int64_t n);        y = s * x
//   void relu6_forward(const float* x, float* y, int64_t n);                 y = min(max(x, 0), 6)
//   void relu6_backward(const float* x, const float* dy, float* dx, int64_t n); dx = dy * (0 < x < 6)
//   void mul_forward(const float* a, const float* b, float* y, int64_t n);   y = a * b
//   dropout (engine/ops/dropout.cpp) has no kernel of its own: its mask is drawn on the host
//   from an Rng (the same on every backend) and applied, forward and backward, by mul_forward.
//
// ---- linear (engine/cpu/linear.h, kernels/linear.cuh; cuda::) ------------------------
//
//   x (N,in), w (out,in), bias (out) or null, y (N,out):   y = x w^T + bias
//   void linear_forward(int64_t N, int64_t in, int64_t out, const float* x, const float* w,
//                       const float* bias, float* y);
//   void linear_backward_input(int64_t N, int64_t in, int64_t out, const float* dy, const float* w,
//                              float* dx);                                  dx = dy w       (N,in)
//   void linear_backward_weight(int64_t N, int64_t in, int64_t out, const float* x, const float* dy,
//                               float* dw);                                 dw = dy^T x     (out,in)
//   void linear_backward_bias(int64_t N, int64_t out, const float* dy, float* db);  db = sum_n dy
//
// ---- conv2d (engine/cpu/conv2d.h, kernels/conv2d.cuh, cudnn_ops.h; gpu::) ------------
//
//   Conv2dShape s: x (N,C,H,W), w (K,C,R,S), bias (K) or null, y (N,K,P,Q):
//     y[n,k,p,q] = bias[k] + sum_{c,r,t} x[n, c, p*stride - pad + r, q*stride - pad + t] * w[k,c,r,t]
//   void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
//                       float* y);
//   void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
//   void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
//   void conv2d_backward_bias(const Conv2dShape& s, const float* dy, float* db);  (no cudnn::)
//   dx (N,C,H,W), dw (K,C,R,S), db (K): the three gradients apart, so the op computes
//   only those it needs.
//
// ---- grouped conv2d (engine/cpu/conv2d_grouped.h, kernels/conv2d_grouped.cuh; gpu::) --
//
//   Conv2dShape s with s.groups = G > 1: w (K, C/G, R, S); output channel k reads input
//   channels g*C/G .. (g+1)*C/G - 1 of its group g = k / (K/G). The op keeps G == 1 on the
//   dense entries above and sends G > 1 to these (cpu::) or to gpu::conv2d_* (cuDNN takes G in
//   its descriptors; the native side runs these cuda:: kernels). The bias gradient is the
//   dense conv2d_backward_bias. Depthwise (G == C == K) has its own CPU kernel behind them.
//   void conv2d_grouped_forward(const Conv2dShape& s, const float* x, const float* w,
//                               const float* bias, float* y);
//   void conv2d_grouped_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
//   void conv2d_grouped_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
//
// ---- adaptive average pooling (engine/cpu/adaptive_pool.h, kernels/adaptive_pool.cuh; cuda::)
//
//   AdaptivePool2dShape s: x (N,C,H,W) -> y (N,C,P,Q), PyTorch's bins: output row i averages
//   rows floor(i*H/P) .. ceil((i+1)*H/P) - 1 (columns likewise); bins may overlap.
//   void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const float* x, float* y);
//   void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const float* dy, float* dx);
//
// ---- batch_norm (engine/cpu/batch_norm.h, kernels/batch_norm.cuh, cudnn_ops.h; gpu::) -
//
//   BatchNormShape s: x (N,C,HW), each channel over its M = N*HW values; weight, bias (C)
//   or null (1 and 0). training: batch mean and biased variance; running_mean/var move by
//   momentum (the variance unbiased, M/(M-1)); eval: the running statistics, not updated.
//     y = (x - mean) * invstd * weight + bias,  invstd = 1/sqrt(var + eps)
//   save_mean, save_invstd (C) receive the mean and invstd used.
//   void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight,
//                           const float* bias, float* running_mean, float* running_var,
//                           bool training, float momentum, float eps, float* y,
//                           float* save_mean, float* save_invstd);
//   void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy,
//                            const float* save_mean, const float* save_invstd,
//                            const float* weight, bool training, float eps, float* dx,
//                            float* dweight, float* dbias);
//   dbias = sum dy, dweight = sum dy * xhat; dx through the batch statistics (training) or
//   the affine map (eval); any of dx, dweight, dbias may be null. eps is the forward's:
//   only cuDNN reads it.
//
// ---- pooling (engine/cpu/pooling.h, kernels/pooling.cuh, cudnn_ops.h) -----------------
//
//   max, Pool2dShape s: x (N,C,H,W) -> y (N,C,P,Q), padding never wins; the backward
//   routes dy to the first maximum of each window (it recomputes the window, needs x). gpu::
//   void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
//   void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx);
//   global average, planes = N*C planes of hw values each: y (planes) = mean of a plane. cuda::
//   void avg_pool_1x1_forward(int64_t planes, int64_t hw, const float* x, float* y);
//   void avg_pool_1x1_backward(int64_t planes, int64_t hw, const float* dy, float* dx);
//
// ---- softmax and cross-entropy (engine/cpu/softmax.h, cross_entropy.h; cuda::) --------
//
//   rows of K values, N rows, the max subtracted first:
//   void softmax_forward(int64_t N, int64_t K, const float* x, float* y);   y = exp(x - max) / sum
//   void softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx);
//                                                                     dx = y * (dy - sum(dy * y))
//   void log_softmax_forward(int64_t N, int64_t K, const float* x, float* y);
//   void log_softmax_backward(int64_t N, int64_t K, const float* y, const float* dy, float* dx);
//                                                                     dx = dy - exp(y) * sum(dy)
//   void argmax(int64_t N, int64_t K, const float* x, int64_t* index);  (no backward)
//   mean cross-entropy of logits x (N,K) against host labels in [0, K) (the op checks them):
//   void cross_entropy_forward(int64_t N, int64_t K, const float* x, const int64_t* labels,
//                              float* loss);        *loss = mean_i [logsumexp(x_i) - x_i[label_i]]
//   void cross_entropy_backward(int64_t N, int64_t K, const float* x, const int64_t* labels,
//                               const float* grad_loss, float* dx);
//                                               dx_i = g/N * (softmax(x_i) - onehot(label_i))
//   (ref::cross_entropy_forward returns the loss instead, and its backward takes g by
//   value: the finite-difference checks differentiate it as a function.)
//
// ---- optimizer updates (engine/cpu/optim.h, kernels/adam.cuh, sgd.cuh; cuda::) --------
//
//   Not autograd ops, and the one exception to "word for word": the CPU step takes the
//   bias corrections precomputed on the host (AdamStep), the CUDA step the step count
//   (cuda::AdamHyper); SGD's structs hold the same fields. Both follow PyTorch 1.13.
//   void adam_step(float* p, const float* grad, float* m, float* v, int64_t n, const H& h);
//   void sgd_step(float* p, const float* grad, float* buf, int64_t n, const H& h);
#pragma once
