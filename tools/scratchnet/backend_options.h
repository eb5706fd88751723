// backend_options.h — the GPU backend options every subcommand accepts:
//   --conv native|cudnn   convolution / batch norm / max pool on the GPU (default cudnn)
//   --tf32                allow TF32 tensor cores in cuDNN (default off: full float32)
//   --cudnn-benchmark     time cuDNN's algorithms once per shape instead of its heuristics
// They set sn::backend_config() (engine/backend_config.h) while the command line is parsed.
// And the options of the commands that compute, declared here once:
//   --device cpu|cuda|auto   where to compute
//   --threads N              compute threads (0, the default: all cores)
//   --workers N              data loading threads (results do not depend on it)
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace sn::cli {
void add_backend_options(CLI::App& app);
void add_device_option(CLI::App& cmd, std::string& device);
// --workers, --threads and --device.
void add_compute_options(CLI::App& cmd, int& workers, int& threads, std::string& device);
}  // namespace sn::cli
