// bench_random_resnet — writes a ResNet of random weights (fixed seed) as a .snw
// file: a full-size backbone for benchmarks that measure time and memory, not
// accuracy, without downloading anything (tools/bench/bench_scale.sh).
//
//   bench_random_resnet --arch resnet18 --out r18.snw [--seed 1234] [--width 64]
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "engine/random.h"
#include "models/resnet.h"

int main(int argc, char** argv) {
  CLI::App app("writes a ResNet of random weights as a .snw file (benchmark input)");
  sn::models::ResNetConfig cfg;
  std::string out;
  uint64_t seed = 1234;
  app.add_option("--arch", cfg.arch, "resnet18 | resnet34 | resnet50 | ...")->capture_default_str();
  app.add_option("--width", cfg.width, "channels of the first stage (64: the standard size)")->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--out", out, "the .snw file to write")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    sn::Rng rng(seed);
    sn::models::ResNet net(cfg, rng);
    sn::io::WeightMeta meta;
    meta.architecture = cfg.arch;
    meta.model = cfg.to_json();
    meta.metadata = {{"source", "random weights (bench_random_resnet, seed " + std::to_string(seed) + ")"}};
    sn::io::write_weight_file(out, meta, net.state_dict());
    std::printf("%s: %s width %d, random weights (seed %llu)\n", out.c_str(), cfg.arch.c_str(), cfg.width,
                static_cast<unsigned long long>(seed));
  } catch (const sn::Error& e) {
    std::fprintf(stderr, "bench_random_resnet: %s\n", e.what());
    return 1;
  }
  return 0;
}
