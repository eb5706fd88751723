#include "tools/scratchnet/backend_options.h"

#include "engine/backend_config.h"

namespace sn::cli {

void add_backend_options(CLI::App& app) {
  app.add_option_function<std::string>(
         "--conv", [](const std::string& v) { backend_config().conv = parse_conv_backend(v); },
         "GPU convolution/batch-norm/pooling kernels: cudnn (default) or native (ours)")
      ->check(CLI::IsMember({"native", "cudnn"}));
  app.add_flag_callback(
      "--tf32", [] { backend_config().tf32 = true; }, "allow TF32 tensor cores in cuDNN (default: full float32)");
  app.add_flag_callback(
      "--cudnn-benchmark", [] { backend_config().cudnn_benchmark = true; },
      "time cuDNN's convolution algorithms once per shape (default: its heuristics)");
}

void add_device_option(CLI::App& cmd, std::string& device) {
  cmd.add_option("--device", device, "where to compute: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
}

void add_compute_options(CLI::App& cmd, int& workers, int& threads, std::string& device) {
  cmd.add_option("--workers", workers, "data loading threads (results do not depend on it)")->capture_default_str();
  cmd.add_option("--threads", threads, "compute threads (default: all cores)");
  add_device_option(cmd, device);
}

}  // namespace sn::cli
