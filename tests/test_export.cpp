// `scratchnet export`: a run's classifier as one .snw file (predict --weights
// then answers exactly as predict --run) and as ONNX, checked by the ONNX
// project's checker, read back by scratchnet's own ONNX reader (PyTorch-free C++) and
// run in ONNX Runtime (npm onnxruntime-node, as the peer benchmark installs it; that
// part reports Skipped without node or the package).
//
// On a tiny run (reduced-width ResNet-18, 32x32 crops) over the 98 test photos.
// SCRATCHNET_EXPORT_CHECK_RUN=RUN_DIR runs the ONNX Runtime case on that run
// instead (e.g. the real ResNet-50 experiment) and prints the agreement.
#include <sys/wait.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>

#include "engine/autograd.h"
#include "engine/data/decode.h"
#include "engine/data/folder.h"
#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "models/resnet.h"
#include "tests/helpers.h"
#include "tools/experiment/evaluator.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/trained_model.h"
#include "tools/experiment/trainer.h"
#if SCRATCHNET_ONNX
#include "models/onnx/onnx_import.h"
#endif
#include "tests/train_fixture.h"

using namespace sn;
using namespace sn::train;
using nlohmann::json;

namespace {

std::pair<int, std::string> run_shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::pair<int, std::string> run_cli(const std::string& args, bool stdout_only = false) {
  return run_shell(std::string(SN_BINARY_DIR) + "/scratchnet " + args + (stdout_only ? " 2>/dev/null" : " 2>&1"));
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// A tiny run, trained and evaluated (eval.json picks the best epoch).
std::string tiny_evaluated_run(const std::string& name) {
  const std::string run = test::fresh_run_dir(name);
  sn::train::train(test::tiny_config(run));
  EvalOptions o;
  o.run = run;
  o.quiet = true;
  o.device = "cpu";
  evaluate_run(o);
  return run;
}

std::vector<std::string> test_photos() { return data::ImageFolder::scan(test::data_path("catanddog/test")).paths; }

// The inputs (N, 3, crop, crop) of the photos through the run's test transform, and scratchnet's logits.
std::pair<Tensor, Tensor> scratchnet_logits(TrainedModel& m, const std::vector<std::string>& photos) {
  const auto t = m.transform();
  Rng unused(0);
  std::vector<Tensor> xs;
  for (const auto& p : photos) xs.push_back(t(data::load_image(p), unused));
  const Shape& s = xs[0].shape();
  Tensor x = Tensor::empty({static_cast<int64_t>(xs.size()), s[0], s[1], s[2]});
  for (size_t i = 0; i < xs.size(); ++i) x.slice(i, i + 1).copy_(xs[i]);
  NoGradGuard no_grad;
  std::vector<float> logits;
  for (int64_t b = 0; b < x.size(0); b += 32) {
    const auto v = m.model->forward(x.slice(b, std::min(x.size(0), b + 32))).to_vector();
    logits.insert(logits.end(), v.begin(), v.end());
  }
  return {x, Tensor::from_vector(logits, {x.size(0), static_cast<int64_t>(m.classes.size())})};
}

// node and onnxruntime-node where the peer benchmark installs them (or $SCRATCHNET_ORT_MODULES).
std::string ort_modules() {
  const char* env = std::getenv("SCRATCHNET_ORT_MODULES");
  return env ? env : std::string(SN_SOURCE_DIR) + "/.cache/peers/node/node_modules";
}

}  // namespace

TEST_CASE("export .snw: predict --weights FILE answers exactly as predict --run on the 98 test photos",
          "[use][export]") {
  const std::string run = tiny_evaluated_run("export_snw");
  const std::string out = run + "/exported.snw";
  auto [rc, msg] = run_cli("export --run " + quote(run) + " --out " + quote(out));
  INFO(msg);
  REQUIRE(rc == 0);
  // Self-contained: the classes, the run's test preprocessing, provenance.
  const io::WeightFile f(out);
  CHECK(f.meta().labels == std::vector<std::string>{"Cat", "Dog"});
  CHECK(f.meta().model.at("num_classes") == 2);
  CHECK(f.meta().preprocessing.resize == 32);  // the run's Resize(crop), not ImageNet's 256
  CHECK(f.meta().preprocessing.crop == 32);
  CHECK(f.meta().metadata.at("epoch") == read_json(RunPaths(run).eval())["best"]["epoch"]);
  // The checkpoint's batch-norm statistics are in it (this run trained them), and the head.
  const TrainedModel m = load_trained(run, "best");
  CHECK(f.tensor("fc.weight").to_vector() == m.model->head_module().weight.to_vector());
  CHECK(f.tensor("layer2.1.bn2.running_var").to_vector() ==
        m.base.net->submodule("layer2.1.bn2")->named_buffers()[1].second.to_vector());

  std::string photos;
  for (const auto& p : test_photos()) photos += " " + quote(p);
  const auto [rc1, by_run] = run_cli("predict --run " + quote(run) + " --device cpu --json" + photos, true);
  const auto [rc2, by_file] = run_cli("predict --weights " + quote(out) + " --device cpu --json" + photos, true);
  REQUIRE(rc1 == 0);
  REQUIRE(rc2 == 0);
  const json a = json::parse(by_run)["images"], b = json::parse(by_file)["images"];
  REQUIRE(a.size() == 98);
  REQUIRE(b.size() == 98);
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i]["path"]);
    CHECK(a[i]["name"] == b[i]["name"]);
    CHECK(a[i]["top5"] == b[i]["top5"]);  // the same probabilities, to the last bit
  }
}

TEST_CASE("export --format onnx: the ONNX checker accepts it, ONNX Runtime's logits are scratchnet's within 1e-4",
          "[use][export][onnx]") {
#if !SCRATCHNET_ONNX
  SN_SKIP("scratchnet was built without ONNX (libonnx-dev)");
#else
  const char* real = std::getenv("SCRATCHNET_EXPORT_CHECK_RUN");
  const std::string run = real ? std::string(real) : tiny_evaluated_run("export_onnx");
  const std::string out = (real ? std::string(SN_BINARY_DIR) + "/export_check" : run) + "/exported.onnx";
  train::make_dirs(out.substr(0, out.rfind('/')));
  auto [rc, msg] = run_cli("export --run " + quote(run) + " --out " + quote(out));
  INFO(msg);
  REQUIRE(rc == 0);
  CHECK(msg.find("(onnx)") != std::string::npos);  // the format from the extension

  TrainedModel m = load_trained(run, "best");
  const auto photos = test_photos();
  const auto [x, logits] = scratchnet_logits(m, photos);
  const int64_t k = logits.size(1);

  // PyTorch-free C++: the file read back by scratchnet's own ONNX reader, run as a plain ResNet.
  {
    const models::Converted c = models::convert_onnx(out);
    CHECK(c.meta.labels == m.classes);
    CHECK(c.meta.preprocessing.crop == m.cfg.crop);
    const auto cfg = models::ResNetConfig::from_json(c.meta.architecture, c.meta.model);
    Rng rng(0);
    models::ResNet net(cfg, rng);
    net.load_state_dict(std::map<std::string, Tensor>(c.tensors.begin(), c.tensors.end()));
    net.eval();
    NoGradGuard no_grad;
    const auto back = net.forward(x).to_vector(), ours = logits.to_vector();
    double worst = 0;
    for (int64_t i = 0; i < x.size(0); ++i)
      worst = std::max(worst, test::rel_l2_error(std::vector<float>(back.begin() + i * k, back.begin() + (i + 1) * k),
                                                 std::vector<float>(ours.begin() + i * k, ours.begin() + (i + 1) * k)));
    std::cout << "export onnx (" << run << "): read back by convert --from onnx, a plain ResNet forward vs "
              << "scratchnet's: relative error per photo at most " << worst << std::endl;
    CHECK(worst <= 1e-4);
  }

  // ONNX Runtime, if it is here (tools/install-ort.sh).
  const std::string modules = ort_modules();
  if (run_shell("command -v node").second.empty()) SN_SKIP("node is not installed (Debian's npm brings it)");
  if (!train::path_exists(modules + "/onnxruntime-node/package.json"))
    SN_SKIP("onnxruntime-node is not installed in " + modules + " (tools/install-ort.sh)");
  const std::string dir = out.substr(0, out.rfind('/'));
  const std::string in_file = dir + "/ort-input.f32", out_file = dir + "/ort-output.f32",
                    cmds = dir + "/ort-cmds.jsonl";
  io::write_file_atomic(in_file, x.data(), static_cast<size_t>(x.numel()) * sizeof(float));
  std::remove(out_file.c_str());
  {
    std::ofstream c(cmds);
    c << json{{"cmd", "load"}, {"key", "m"}, {"onnx", out}, {"batch", x.size(0)}, {"shape", x.shape()}}.dump() << "\n"
      << json{{"cmd", "run"}, {"key", "m"}, {"input", in_file}, {"output", out_file}}.dump() << "\n"
      << json{{"cmd", "quit"}}.dump() << "\n";
  }
  const auto [wrc, answers] =
      run_shell("node " + quote(std::string(SN_SOURCE_DIR) + "/tools/bench/peers/worker_ort.js") +
                " --threads 2 --modules " + quote(modules) + " < " + quote(cmds) + " 2>&1");
  INFO(answers);
  REQUIRE(wrc == 0);
  REQUIRE(answers.find("\"ok\":false") == std::string::npos);
  const auto bytes = io::read_file(out_file);
  REQUIRE(bytes.size() == static_cast<size_t>(logits.numel()) * sizeof(float));
  std::vector<float> ort(static_cast<size_t>(logits.numel()));
  std::memcpy(ort.data(), bytes.data(), bytes.size());
  const auto ours = logits.to_vector();
  // Per photo, the relative error of its logit vector ||ort - ours|| / ||ours||; over all, the relative L2.
  double worst = 0;
  int64_t same_top1 = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const std::vector<float> a(ort.begin() + i * k, ort.begin() + (i + 1) * k),
        b(ours.begin() + i * k, ours.begin() + (i + 1) * k);
    worst = std::max(worst, test::rel_l2_error(a, b));
    same_top1 += std::max_element(a.begin(), a.end()) - a.begin() == std::max_element(b.begin(), b.end()) - b.begin();
  }
  const double l2 = test::rel_l2_error(ort, ours);
  std::cout << "export onnx (" << run << ", epoch " << m.epoch << ", " << photos.size()
            << " test photos): ONNX Runtime vs scratchnet logits: relative error per photo at most " << worst
            << ", over all " << l2 << "; same top-1 on " << same_top1 << "/" << photos.size() << std::endl;
  CHECK(worst <= 1e-4);
  CHECK(l2 <= 1e-4);
  CHECK(same_top1 == static_cast<int64_t>(photos.size()));
#endif
}
