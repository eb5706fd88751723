// `scratchnet samples`: its train_batch.png shows the samples the trainer draws
// at epoch 1 (the same transform, seed and epoch), i.e. the very picture a
// training run leaves in RUN_DIR/train_samples.png.
#include <fstream>
#include <sstream>
#include <string>

#include "tests/cli_helpers.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"

using namespace sn;

static std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("samples: train_batch.png is the batch `train` draws at epoch 1 (its RUN_DIR/train_samples.png)",
          "[cli][samples]") {
  const std::string run = test::fresh_run_dir("samples-train");
  const auto c = test::tiny_config(run);
  const auto [rc, out] = test::run_scratchnet(test::tiny_train_args(run) + " --epochs 1 --seed 5 --quiet");
  INFO(out);
  REQUIRE(rc == 0);
  const std::string trained = read_bytes(run + "/train_samples.png");
  REQUIRE(!trained.empty());

  auto samples = [&](uint64_t seed) {
    const std::string dir = test::fresh_run_dir("samples-out-" + std::to_string(seed));
    const auto [rc2, out2] =
        test::run_scratchnet("samples --data '" + c.data + "/train' --cat '" + std::string(SN_DATA_DIR) +
                             "/cat.jpg' --out '" + dir + "' --resize 40 --crop 32 --seed " + std::to_string(seed));
    INFO(out2);
    REQUIRE(rc2 == 0);
    return read_bytes(dir + "/train_batch.png");
  };
  // (bools, so that a failure does not print two PNG files)
  const bool same_seed_same_picture = samples(5) == trained;
  CHECK(same_seed_same_picture);
  const bool other_seed_other_picture = samples(6) != trained;  // the check above is not vacuous
  CHECK(other_seed_other_picture);
}
