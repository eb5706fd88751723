// backend_config.h — run-time choices of the CUDA backend, set once by the CLI.
//
//   --conv native|cudnn   which convolution (and batch norm / max pool) kernels run on the GPU:
//                         cudnn (default): NVIDIA's library, the reference implementation;
//                         native: our own kernels in kernels/ (im2col + tiled SGEMM, ...)
//   --tf32                allow TF32 tensor cores in cuDNN. Off by default, so the
//                         GPU computes in full float32 and compares with the CPU at 1e-5.
//
// The native SGEMM never uses TF32. Plain global settings (no locking): set them
// before the first GPU op, not while one runs.
#pragma once
#include <string>

namespace sn {

enum class ConvBackend { Native, Cudnn };

struct BackendConfig {
  ConvBackend conv = ConvBackend::Cudnn;
  bool tf32 = false;
  // cuDNN algorithm choice: false = cuDNN's heuristics (cudnnGet*_v7, no trial
  // runs, as PyTorch's default); true = time the candidates once per shape (cudnnFind*Ex).
  bool cudnn_benchmark = false;
};

BackendConfig& backend_config();

ConvBackend parse_conv_backend(const std::string& s);  // "native" | "cudnn", else a clear error
std::string to_string(ConvBackend b);

}  // namespace sn
