// backend_options.h — the GPU backend options every subcommand accepts:
//   --conv native|cudnn   convolution / batch norm / max pool on the GPU (default cudnn)
//   --tf32                allow TF32 tensor cores in cuDNN and cuBLAS (default off: full float32)
//   --cudnn-benchmark     time cuDNN's algorithms once per shape instead of its heuristics
// They set sn::backend_config() (engine/backend_config.h) while the command line is parsed.
#pragma once
#include <CLI/CLI.hpp>

namespace sn::cli {
void add_backend_options(CLI::App& app);
}
