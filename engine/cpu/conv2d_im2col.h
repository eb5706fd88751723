// cpu/conv2d_im2col.h — the convolution's im2col matrix, materialised or packed on the fly.
//
// col (C*R*S, P*Q) of one image: row (c,r,s), column (p,q) holds
//   x[c, p*stride - pad + r, q*stride - pad + s]   (0 outside the image).
// The backward materialises it (im2col_channels) and scatters its gradient back
// (col2im_channels); the forward never builds it: the GEMM driver asks an
// im2col source for one packed block of it at a time.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/cpu/gemm/driver.h"
#include "engine/kernel_shapes.h"  // Conv2dShape

namespace sn::cpu {

// im2col of channels [c0, c1) of one image x_image (C,H,W), so a single image can be
// split over threads. ld: the row stride of col (P*Q for one image; more when
// several images share col side by side).
void im2col_channels(const Conv2dShape& s, const float* x_image, float* col, int64_t c0, int64_t c1, int64_t ld);
// The adjoint, for channels [c0, c1): dx_image (C,H,W) += scatter of col. Zero dx_image first.
void col2im_channels(const Conv2dShape& s, const float* col, float* dx_image, int64_t c0, int64_t c1, int64_t ld);

// The im2col matrix of the whole batch x (N,C,H,W) as the GEMM's B: row (c,r,s),
// column (n,p,q), packed block by block straight from x (AVX-512 masked loads,
// permutes or gathers; a plain loop without AVX-512). x must outlive the source.
std::unique_ptr<packed_gemm::BSource> make_im2col_source(const Conv2dShape& s, const float* x);

}  // namespace sn::cpu
