// bench_peer_scratchnet — scratchnet's worker for the peer benchmark
// (tools/bench/run-peer-bench.sh, protocol in tools/bench/peers/PROTOCOL.md).
//
//   bench_peer_scratchnet --threads N [--variant fused|plain]
//
// A long-lived process: it loads a model once and then answers one JSON
// command per stdin line with one JSON line on stdout, so the driver can time
// many calls without paying process start-up or weight loading. Timing is done
// here, around the forward calls only (no pipe or file I/O inside a sample).
//
// fused: the network's frozen-inference path, its feature_snapshot()
//        (models/feature_extractor.h; for a ResNet models::FusedResNet: batch
//        norm folded, bias/ReLU/residual in the kernel's epilogue), then its
//        own head: what `predict`, `eval` and the feature cache run.
// fused-bf16: the same in bfloat16 (where the network has it).
// plain: the model's ordinary eval-mode forward (a second opinion for checks).
// A network without a snapshot runs its eval-mode forward in every variant
// (head "features": its feature stages, as the experiment's transfer model runs them).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "engine/parallel.h"
#include "models/resnet.h"
#include "models/zoo.h"
#include "tools/bench/common/machine.h"
#include "tools/bench/common/timing.h"

using nlohmann::json;
using namespace sn;

namespace {

// One loaded model: the network and its input buffer.
struct Loaded {
  std::shared_ptr<models::Classifier> model;
  // The network's frozen-inference path (models::FusedResNet for a ResNet);
  // null for the plain variant and for a network without one.
  std::shared_ptr<const models::FeatureSnapshot> fused;
  bool features = false;  // the backbone only (no head), as the experiment's feature cache
  Tensor x;

  Tensor forward() const {
    NoGradGuard no_grad;
    if (fused) return features ? fused->features(x) : model->head_forward(fused->features(x));
    if (!features) return model->forward(x);
    Tensor h = x;
    for (const auto& s : model->feature_stages()) h = models::run_feature_stage(*model, s, h);
    return flatten(h, 1);
  }
};

struct Worker {
  std::string variant = "fused";
  std::map<std::string, Loaded> models;  // by the driver's key

  const Loaded& get(const json& c) const {
    const std::string key = c.at("key");
    const auto it = models.find(key);
    SN_CHECK(it != models.end(), "no model loaded under key '", key, "'");
    return it->second;
  }

  json load(const json& c) {
    const double t0 = bench::now_seconds();
    const std::string path = c.at("snw");
    io::WeightFile file(path);
    Loaded m;
    m.model = models::load_classifier(file);
    m.model->eval();
    m.features = c.value("head", "logits") == "features";
    if (variant != "plain") m.fused = m.model->feature_snapshot(/*batch_stats=*/false, variant == "fused-bf16");
    SN_CHECK(m.fused || variant != "fused-bf16", "variant fused-bf16: ", file.meta().architecture,
             " has no bfloat16 frozen-inference path");
    const int64_t n = c.at("batch");
    m.x = Tensor::zeros({n, 3, 224, 224});
    models[c.at("key").get<std::string>()] = std::move(m);
    return {{"load_s", bench::now_seconds() - t0}};
  }

  json run(const json& c) const {
    const Loaded& m = get(c);
    const std::string in = c.at("input"), out = c.at("output");
    std::ifstream f(in, std::ios::binary);
    SN_CHECK(f, in, ": cannot open the input file");
    f.read(reinterpret_cast<char*>(m.x.data()), std::streamsize(m.x.nbytes()));
    SN_CHECK(f.gcount() == std::streamsize(m.x.nbytes()), in, ": expected ", m.x.nbytes(),
             " bytes of float32 input, got ", f.gcount());
    const double t0 = bench::now_seconds();
    const Tensor y = m.forward();
    const double dt = bench::now_seconds() - t0;
    std::ofstream o(out, std::ios::binary);
    o.write(reinterpret_cast<const char*>(y.data()), std::streamsize(y.nbytes()));
    SN_CHECK(o.good(), out, ": cannot write the output file");
    return {{"seconds", dt}, {"shape", y.shape()}};
  }

  json time(const json& c) const {
    const Loaded& m = get(c);
    const int calls = c.at("calls");
    const double t0 = bench::now_seconds();
    for (int i = 0; i < calls; ++i) m.forward();
    return {{"seconds", bench::now_seconds() - t0}};
  }

  json unload(const json& c) {
    models.erase(c.at("key").get<std::string>());
    return json::object();
  }
};

// env_keys: the environment variables to report (null when unset), as this process sees them.
json info(const json& c, int threads, const std::string& variant) {
  const auto m = bench::collect_machine_info(threads);
  json env = json::object();
  for (const auto& k : c.value("env_keys", json::array())) {
    const char* v = std::getenv(k.get<std::string>().c_str());
    env[k.get<std::string>()] = v ? json(v) : json(nullptr);
  }
  return {{"engine", "scratchnet"},   {"variant", variant},
          {"threads", num_threads()}, {"machine", bench::to_json(m)},
          {"environment", env},       {"versions", {{"scratchnet", m.scratchnet_version}, {"compiler", m.compiler}}}};
}

json peak(int threads) {
  const auto p = bench::measure_peak(threads);
  return {{"peak_gflops", p.all_threads_gflops}, {"per_thread_gflops", p.per_thread_gflops}, {"threads", p.threads}};
}

}  // namespace

int main(int argc, char** argv) {
  sn::adopt_thread_wait_policy(argv);  // as the scratchnet CLI does (engine/parallel.h)
  CLI::App app{"scratchnet's worker for tools/bench/run-peer-bench.sh (JSON lines on stdin/stdout)"};
  int threads = 0;
  Worker w;
  app.add_option("--threads", threads, "threads (sn::set_num_threads)")->required();
  app.add_option("--variant", w.variant,
                 "fused (BN folded), fused-bf16 (the same in bfloat16) or plain (eval-mode forward)")
      ->check(CLI::IsMember({"fused", "fused-bf16", "plain"}));
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);

  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    try {
      const json c = json::parse(line);
      const std::string cmd = c.at("cmd");
      if (cmd == "quit") break;
      if (cmd == "info")
        answer = info(c, threads, w.variant);
      else if (cmd == "peak")
        answer = peak(threads);
      else if (cmd == "load")
        answer = w.load(c);
      else if (cmd == "run")
        answer = w.run(c);
      else if (cmd == "time")
        answer = w.time(c);
      else if (cmd == "unload")
        answer = w.unload(c);
      else
        SN_FAIL("unknown command '", cmd, "'");
      answer["ok"] = true;
    } catch (const std::exception& e) {  // report and keep serving: the driver decides
      answer = {{"ok", false}, {"error", std::string("bench_peer_scratchnet: ") + e.what()}};
    }
    std::cout << answer.dump() << std::endl;  // one line per command, flushed
  }
  return 0;
}
