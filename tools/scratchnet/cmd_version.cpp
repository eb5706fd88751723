// `scratchnet version`: build configuration and whether a GPU is usable.
#include <cstdio>
#include <memory>

#include "engine/check.h"
#include "engine/device.h"
#include "engine/parallel.h"
#include "tools/scratchnet/commands.h"

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the build configuration and the devices found");
  // Test use: fail an internal check, to see how the CLI reports a bug (file and line kept).
  auto fail_check = std::make_shared<bool>(false);
  cmd->add_flag("--test-internal-error", *fail_check, "fail an internal check (test use)")->group("");
  cmd->callback([fail_check] {
    sn::cli::run([&] {
      SN_CHECK(!*fail_check, "internal check failed on purpose (--test-internal-error)");
      std::printf("scratchnet 0.1.0\n");
      std::printf("cpu threads: %d\n", sn::num_threads());
      std::printf("cuda: %s\n", sn::cuda_available() ? "available" : sn::cuda_unavailable_reason().c_str());
      return 0;
    });
  });
});
