// `scratchnet version`: build configuration and whether a GPU is usable.
#include <cstdio>

#include "engine/device.h"
#include "engine/parallel.h"
#include "tools/scratchnet/commands.h"

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the build configuration and the devices found");
  cmd->callback([] {
    sn::cli::run([] {
      std::printf("scratchnet 0.1.0\n");
      std::printf("cpu threads: %d\n", sn::num_threads());
      std::printf("cuda: %s\n", sn::cuda_available() ? "available" : sn::cuda_unavailable_reason().c_str());
      return 0;
    });
  });
});
