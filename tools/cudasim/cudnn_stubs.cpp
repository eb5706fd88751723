// cudnn_stubs.cpp — cuDNN does not exist under tools/cudasim: every cudnn:: entry
// point fails clearly. The simulated tests select --conv native (tests tagged
// [cudnn] are left out of the simulated run).
#include "engine/check.h"
#include "kernels/cudnn_ops.h"

namespace sn::cudnn {
#define SN_NO_CUDNN SN_FAIL("cuDNN is not available under tools/cudasim (use the native backend)")
void conv2d_forward(const Conv2dShape&, const float*, const float*, const float*, float*) { SN_NO_CUDNN; }
void conv2d_backward_input(const Conv2dShape&, const float*, const float*, float*) { SN_NO_CUDNN; }
void conv2d_backward_weight(const Conv2dShape&, const float*, const float*, float*) { SN_NO_CUDNN; }
void batch_norm_forward(const BatchNormShape&, const float*, const float*, const float*, float*, float*, bool, float,
                        float, float*, float*, float*) {
  SN_NO_CUDNN;
}
void batch_norm_backward(const BatchNormShape&, const float*, const float*, const float*, const float*, const float*,
                         bool, float, float*, float*, float*) {
  SN_NO_CUDNN;
}
void max_pool2d_forward(const Pool2dShape&, const float*, float*) { SN_NO_CUDNN; }
void max_pool2d_backward(const Pool2dShape&, const float*, const float*, float*) { SN_NO_CUDNN; }
size_t conv_algorithm_cache_size() { return 0; }
ConvAlgorithms conv_algorithms(const Conv2dShape&) { return {}; }
}  // namespace sn::cudnn
