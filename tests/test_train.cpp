// The experiment's training: determinism, resume after an interruption or a
// kill, feature caching, evaluation of every checkpoint, and bad input
// (fine-tuning and the transfer model: test_transfer_model.cpp). All on tiny
// runs (tests/train_fixture.h): a reduced-width ResNet-18 on 32x32 crops of
// 16 real photos.
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <thread>

#include "engine/autograd.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/data/folder.h"
#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "engine/ops.h"
#include "models/resnet.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/evaluator.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/test_features.h"
#include "tools/experiment/trainer.h"

using namespace sn;
using namespace sn::train;
using nlohmann::json;

namespace {

// (`train` alone would name both the namespace and the function.)
TrainSummary run_train(const TrainConfig& c) { return sn::train::train(c); }

std::vector<uint8_t> bytes_of(const std::string& path) { return io::read_file(path); }

// The metrics records with the fields that must be reproducible (no times).
std::vector<json> deterministic_metrics(const std::string& run) {
  std::vector<json> out;
  for (auto r : read_jsonl(RunPaths(run).metrics())) {
    if (r.value("type", "") != "epoch") continue;
    out.push_back({{"epoch", r["epoch"]},
                   {"train_loss", r["train_loss"]},
                   {"train_acc", r["train_acc"]},
                   {"images", r["images"]}});
  }
  return out;
}

void require_same_checkpoints(const std::string& a, const std::string& b, int epochs) {
  for (int e = 1; e <= epochs; ++e) {
    INFO("epoch " << e << ": " << RunPaths(a).checkpoint(e) << " vs " << RunPaths(b).checkpoint(e));
    const bool identical = bytes_of(RunPaths(a).checkpoint(e)) == bytes_of(RunPaths(b).checkpoint(e));
    REQUIRE(identical);
  }
}

std::string scratchnet_binary() { return std::string(SN_BINARY_DIR) + "/scratchnet"; }

// Runs the scratchnet binary; returns (exit status, stdout and, unless stdout_only, stderr).
std::pair<int, std::string> run_cli(const std::string& args, bool stdout_only = false) {
  const std::string cmd = scratchnet_binary() + " " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string tiny_cli_args(const std::string& out) {
  const auto c = test::tiny_config(out);
  return "train --data '" + c.data + "' --out '" + out + "' --model resnet18 --weights '" + c.weights +
         "' --batch-size 4 --resize 40 --crop 32 --device cpu --quiet";
}

}  // namespace

TEST_CASE("train: same seed, bit-identical checkpoints and metrics whatever the number of workers",
          "[experiment][train]") {
  // The textbook preset with augmentation: the hardest case (random crops and
  // flips per sample, batch-norm statistics moving with every batch).
  const std::string a = test::fresh_run_dir("det_w0"), b = test::fresh_run_dir("det_w3");
  auto ca = test::tiny_config(a);
  ca.preset = "textbook";
  ca.workers = 0;
  auto cb = ca;
  cb.out = b;
  cb.workers = 3;
  run_train(ca);
  run_train(cb);
  REQUIRE(list_checkpoints(RunPaths(a)).size() == 3);
  require_same_checkpoints(a, b, 3);
  CHECK(deterministic_metrics(a) == deterministic_metrics(b));
  // A checkpoint is small: the head, the moved batch-norm statistics, Adam's state; not the backbone.
  const Checkpoint ck = load_checkpoint(RunPaths(a).checkpoint(3));
  CHECK(ck.epoch == 3);
  bool has_bn_stats = false, has_conv = false;
  for (const auto& [name, t] : ck.model) {
    has_bn_stats = has_bn_stats || name == "layer1.0.bn1.running_mean";
    has_conv = has_conv || name.find("conv") != std::string::npos;
  }
  CHECK(has_bn_stats);
  CHECK_FALSE(has_conv);
  CHECK(ck.optim.size() == 6);  // step, exp_avg and exp_avg_sq of fc.weight and fc.bias
  // Another seed gives another run (the test can fail).
  const std::string c = test::fresh_run_dir("det_seed1");
  auto cc = ca;
  cc.out = c;
  cc.seed = 1;
  run_train(cc);
  CHECK(bytes_of(RunPaths(a).checkpoint(1)) != bytes_of(RunPaths(c).checkpoint(1)));
}

TEST_CASE("train: --resume after an interruption gives the uninterrupted run's checkpoints", "[experiment][train]") {
  const std::string full = test::fresh_run_dir("resume_full"), cut = test::fresh_run_dir("resume_cut");
  auto cfg = test::tiny_config(full);
  cfg.workers = 2;
  run_train(cfg);
  // 16 images in batches of 4: 4 batches per epoch; stop in the middle of epoch 2.
  auto cut_cfg = cfg;
  cut_cfg.out = cut;
  cut_cfg.stop_after_batches = 6;
  REQUIRE_THROWS_AS(run_train(cut_cfg), Interrupted);
  REQUIRE(list_checkpoints(RunPaths(cut)).size() == 1);
  TrainConfig runtime = cfg;
  runtime.epochs = 0;
  runtime.data.clear();
  runtime.workers = 1;  // another worker count, for good measure
  const TrainSummary s = resume(cut, runtime);
  CHECK(s.first_epoch == 2);
  require_same_checkpoints(full, cut, 3);
  CHECK(deterministic_metrics(full) == deterministic_metrics(cut));
}

TEST_CASE("train: --resume after SIGKILL of the scratchnet process matches an uninterrupted run",
          "[experiment][train][cli]") {
  const std::string full = test::fresh_run_dir("kill_full"), killed = test::fresh_run_dir("kill_killed");
  REQUIRE(run_cli(tiny_cli_args(full) + " --epochs 6").first == 0);
  // Start the same run, kill -9 it once its second checkpoint exists (the
  // kill lands somewhere in epoch 3..6 or after: resume must cope with any).
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string cmd = "exec " + scratchnet_binary() + " " + tiny_cli_args(killed) + " --epochs 6";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string second = RunPaths(killed).checkpoint(2);
  for (int i = 0; i < 6000 && !path_exists(second); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(path_exists(second));
  const auto before = list_checkpoints(RunPaths(killed)).size();
  INFO("killed with " << before << " checkpoints written");
  const auto [rc, out] = run_cli("train --resume '" + killed + "' --quiet");
  INFO(out);
  REQUIRE(rc == 0);
  require_same_checkpoints(full, killed, 6);
  CHECK(deterministic_metrics(full) == deterministic_metrics(killed));
}

TEST_CASE("train: --freeze-bn --no-augment caches features and trains the head on them", "[experiment][train]") {
  const std::string run = test::fresh_run_dir("cache");
  auto cfg = test::tiny_config(run);
  cfg.freeze_bn = true;
  cfg.augment = false;
  cfg.epochs = 8;
  cfg.lr = 1e-2;
  REQUIRE(uses_feature_cache((resolve(cfg), cfg)));
  run_train(cfg);
  bool cached = false;
  std::vector<double> losses;
  double peak_prev = 0;
  for (const auto& r : read_jsonl(RunPaths(run).metrics())) {
    cached = cached || (r.value("type", "") == "features" && r.value("images", 0) == 16);
    if (r.value("type", "") != "epoch") continue;
    losses.push_back(r["train_loss"]);
    // Every epoch line reports memory; the peak is a high-water mark, so it never goes down.
    CHECK(r.value("rss_mib", 0.0) > 0);
    CHECK(r.value("peak_rss_mib", 0.0) >= r.value("rss_mib", 0.0));
    CHECK(r.value("peak_rss_mib", 0.0) >= peak_prev);
    peak_prev = r.value("peak_rss_mib", 0.0);
  }
  CHECK(cached);
  REQUIRE(losses.size() == 8);
  CHECK(losses.back() < losses.front());  // the head learns the 16 cached feature vectors
  // Only the head is in the checkpoint: the backbone and its statistics never moved.
  for (const auto& [name, t] : load_checkpoint(RunPaths(run).checkpoint(8)).model) CHECK(name.rfind("fc.", 0) == 0);
}

TEST_CASE("eval uses the test features train saved, with the same results as computing them", "[experiment][eval]") {
  const std::string run = test::fresh_run_dir("test_features");
  auto cfg = test::tiny_config(run);
  cfg.freeze_bn = true;
  cfg.augment = false;
  run_train(cfg);
  REQUIRE(path_exists(RunPaths(run).test_features()));
  EvalOptions o;
  o.run = run;
  o.quiet = true;
  o.device = "cpu";
  const json from_train = evaluate_run(o);
  CHECK(from_train["test_features"] == "train's feature pass");
  std::remove(RunPaths(run).test_features().c_str());
  const json computed = evaluate_run(o);
  CHECK(computed["test_features"] == "computed once");
  REQUIRE(from_train["checkpoints"].size() == computed["checkpoints"].size());
  // The same code computed the same features in both processes: equal results, not merely close.
  for (size_t c = 0; c < computed["checkpoints"].size(); ++c) {
    CAPTURE(c);
    CHECK(from_train["checkpoints"][c]["acc"] == computed["checkpoints"][c]["acc"]);
    CHECK(from_train["checkpoints"][c]["loss"] == computed["checkpoints"][c]["loss"]);
  }
  CHECK(from_train["misclassified"] == computed["misclassified"]);
  // A checkpoint without its head's bias is refused by name, not evaluated with a made-up bias.
  const std::string cut = test::fresh_run_dir("test_features_no_bias");
  cfg.out = cut;
  run_train(cfg);
  REQUIRE(path_exists(RunPaths(cut).test_features()));
  Checkpoint ck = load_checkpoint(RunPaths(cut).checkpoint(1));
  ck.model.erase(std::remove_if(ck.model.begin(), ck.model.end(), [](const auto& t) { return t.first == "fc.bias"; }),
                 ck.model.end());
  save_checkpoint(RunPaths(cut).checkpoint(1), ck);
  o.run = cut;
  CHECK_THROWS_WITH(evaluate_run(o), Catch::Contains("epoch-0001") && Catch::Contains("missing tensor 'bias'"));
}

TEST_CASE("test features: read back only for the key they were saved with", "[experiment][eval]") {
  const data::ImageFolder test = data::ImageFolder::scan(test::tiny_data() + "/test");
  const json key = test_features_key("resnet18", "abc123", "fp32", "Compose(Resize(32))", test);
  REQUIRE(key["files"].size() == test.size());
  const std::string dir = test::fresh_run_dir("test_features_key");
  make_dirs(dir);
  const std::string path = dir + "/test_features.bin";
  Rng rng(5);
  const Tensor feats = Tensor::uniform({int64_t(test.size()), 6}, rng);
  save_test_features(path, key, {feats, "fc"});
  std::string why;
  const auto back = load_test_features(path, key, &why);
  REQUIRE(back.has_value());
  CHECK(back->head_name == "fc");
  CHECK(back->features.to_vector() == feats.to_vector());
  json moved = key;  // a photo rewritten since: its modification time differs
  moved["files"][0][2] = moved["files"][0][2].get<int64_t>() + 1;
  CHECK_FALSE(load_test_features(path, moved, &why).has_value());
  CHECK(why == "the test photos changed since train saved their features");
  json other = key;
  other["base_weights_hash"] = "def456";
  CHECK_FALSE(load_test_features(path, other, &why).has_value());
  CHECK(why == "the base_weights_hash differs from train's");
  // A damaged file is not used (and is not an error: eval computes the features itself).
  {
    std::ofstream cut(path, std::ios::binary | std::ios::trunc);
    const uint64_t header_bytes = 1000;  // more than follows
    cut << "SNTFEAT1";
    cut.write(reinterpret_cast<const char*>(&header_bytes), sizeof header_bytes);
  }
  CHECK_FALSE(load_test_features(path, key, &why).has_value());
  CHECK(why.find("truncated") != std::string::npos);
  CHECK_FALSE(load_test_features(path + ".missing", key, &why).has_value());
}

TEST_CASE("eval: every checkpoint, best epoch, per-class accuracy, confusion matrix, JSON", "[experiment][eval]") {
  const std::string run = test::fresh_run_dir("eval_run");
  run_train(test::tiny_config(run));
  EvalOptions o;
  o.run = run;
  o.quiet = true;
  o.device = "cpu";
  const json e = evaluate_run(o);
  REQUIRE(e["checkpoints"].size() == 3);
  double best_acc = 0;
  for (const auto& c : e["checkpoints"]) {
    CHECK(c["total"] == 8);
    CHECK(std::isfinite(c["loss"].get<double>()));
    best_acc = std::max(best_acc, c["acc"].get<double>());
  }
  CHECK(e["best"]["acc"] == best_acc);
  int64_t sum = 0;
  for (const auto& row : e["confusion"])
    for (const auto& v : row) sum += v.get<int64_t>();
  CHECK(sum == 8);
  CHECK(e["per_class"].size() == 2);
  CHECK(e["predictions"].size() == 8);  // 20 asked, 8 test images
  CHECK(path_exists(RunPaths(run).eval()));
  CHECK(path_exists(RunPaths(run).report()));
  // The CLI's --json: one document on stdout, with `best` {epoch, acc}.
  const auto [rc, out] = run_cli("eval --run '" + run + "' --device cpu --json", true);
  REQUIRE(rc == 0);
  const json j = json::parse(out);
  CHECK(j["checkpoints"].size() == 3);
  CHECK(j["best"]["epoch"] == e["best"]["epoch"]);
  CHECK(j["best"]["acc"] == e["best"]["acc"]);
}

TEST_CASE("train: bad input gives clear errors and leaves nothing behind", "[experiment][train][bad-input]") {
  const std::string out = test::fresh_run_dir("bad_input");
  auto cfg = test::tiny_config(out);
  SECTION("a data folder without train/ and test/") {
    const std::string dir = test::fresh_run_dir("bad_data_no_splits");
    make_dirs(dir + "/Cat");
    cfg.data = dir;
    REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains(dir) && Catch::Contains("no train/ sub-folder"));
  }
  SECTION("class folders that differ between train/ and test/") {
    const std::string dir = test::fresh_run_dir("bad_data_classes");
    make_dirs(dir + "/train");
    make_dirs(dir + "/test");
    const std::string tiny = test::tiny_data();
    REQUIRE(::symlink((tiny + "/train/Cat").c_str(), (dir + "/train/Cat").c_str()) == 0);
    REQUIRE(::symlink((tiny + "/train/Dog").c_str(), (dir + "/train/Dog").c_str()) == 0);
    REQUIRE(::symlink((tiny + "/test/Cat").c_str(), (dir + "/test/Cat").c_str()) == 0);
    REQUIRE(::symlink((tiny + "/test/Dog").c_str(), (dir + "/test/Wolf").c_str()) == 0);
    cfg.data = dir;
    REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains("class folders differ") && Catch::Contains("Wolf"));
  }
  SECTION("a weight file for another architecture") {
    cfg.model = "resnet50";
    REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains(cfg.weights) && Catch::Contains("holds a resnet18") &&
                                            Catch::Contains("model is resnet50"));
  }
  SECTION("a missing weight file") {
    cfg.weights = out + "-missing.snw";
    REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains(cfg.weights));
  }
  SECTION("unknown --train-layers and presets") {
    cfg.train_layers = {"layer9", "fc"};
    REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains("layer9"));
    cfg.train_layers = {"fc"};
    cfg.preset = "textbook";
    cfg.freeze_bn = true;
    REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains("--freeze-bn"));
  }
  CHECK_FALSE(path_exists(out));  // nothing was created
}

TEST_CASE("train: a non-finite loss stops with epoch and batch named, earlier checkpoints intact",
          "[experiment][train][bad-input]") {
  const std::string run = test::fresh_run_dir("nonfinite");
  auto cfg = test::tiny_config(run);
  cfg.epochs = 2;
  run_train(cfg);
  const auto ck1 = bytes_of(RunPaths(run).checkpoint(1)), ck2 = bytes_of(RunPaths(run).checkpoint(2));
  // Continue with an absurd learning rate: one Adam step moves the head's
  // weights by ~1e38, the next logits overflow, the loss is inf or nan.
  json conf = read_json(RunPaths(run).config());
  conf["lr"] = 1e38;
  write_json(RunPaths(run).config(), conf);
  TrainConfig runtime = cfg;
  runtime.epochs = 4;
  runtime.data.clear();
  REQUIRE_THROWS_WITH(resume(run, runtime), Catch::Contains("non-finite loss") &&
                                                Catch::Contains("at epoch 3, batch 2") &&
                                                Catch::Contains("epochs 1-2") && Catch::Contains("intact"));
  CHECK(list_checkpoints(RunPaths(run)).size() == 2);
  CHECK(bytes_of(RunPaths(run).checkpoint(1)) == ck1);
  CHECK(bytes_of(RunPaths(run).checkpoint(2)) == ck2);
  CHECK_NOTHROW(load_checkpoint(RunPaths(run).checkpoint(2)));
}

TEST_CASE("train: a non-finite loss in epoch 1 leaves no run directory behind", "[experiment][train][bad-input]") {
  const std::string run = test::fresh_run_dir("nonfinite_epoch1");
  auto cfg = test::tiny_config(run);
  cfg.lr = 1e38;
  REQUIRE_THROWS_WITH(run_train(cfg), Catch::Contains("non-finite loss") && Catch::Contains("at epoch 1, batch 2") &&
                                          Catch::Contains("was removed"));
  CHECK_FALSE(path_exists(run));
}

TEST_CASE("scratchnet train/eval: unknown options and missing arguments are errors", "[experiment][cli]") {
  auto [rc, out] = run_cli("train --data x --out y --no-such-option");
  CHECK(rc != 0);
  CHECK(out.find("--no-such-option") != std::string::npos);
  std::tie(rc, out) = run_cli("train --out y");
  CHECK(rc != 0);
  CHECK(out.find("--data is required") != std::string::npos);
  std::tie(rc, out) = run_cli("train --data x --out y --model vgg19");
  CHECK(rc != 0);
  CHECK(out.find("vgg19") != std::string::npos);
  std::tie(rc, out) = run_cli("eval --run /nonexistent-run");
  CHECK(rc != 0);
  CHECK(out.find("/nonexistent-run") != std::string::npos);
}

TEST_CASE("train and eval --precision bf16: recorded in the run, refused where it cannot apply",
          "[experiment][train][cli][bf16]") {
  if (!cpu::nchwc::bf16_supported()) {
    // Where the CPU has no AVX512_BF16 the option must say so, not run in float32.
    const auto [rc, out] = run_cli(tiny_cli_args(test::fresh_run_dir("bf16_refused")) + " --epochs 1 --precision bf16");
    CHECK(rc != 0);
    CHECK(out.find("AVX512_BF16") != std::string::npos);
    return;
  }
  const std::string run = test::fresh_run_dir("bf16_run");
  auto [rc, out] = run_cli(tiny_cli_args(run) + " --epochs 2 --precision bf16");
  INFO(out);
  REQUIRE(rc == 0);
  const auto cfg = read_json(RunPaths(run).config());
  CHECK(cfg.at("precision") == "bf16");
  std::tie(rc, out) = run_cli("eval --run '" + run + "' --json --quiet");
  REQUIRE(rc == 0);
  const auto bf = nlohmann::json::parse(out);
  std::tie(rc, out) = run_cli("eval --run '" + run + "' --json --quiet --precision fp32");
  REQUIRE(rc == 0);
  const auto fp = nlohmann::json::parse(out);
  // Same checkpoints, backbone in bf16 or fp32: losses close but not identical.
  const double lb = bf.at("checkpoints").at(1).at("loss").get<double>(),
               lf = fp.at("checkpoints").at(1).at("loss").get<double>();
  CHECK(lb != lf);
  CHECK(std::abs(lb - lf) < 0.05 * std::abs(lf) + 1e-3);
  // Where bf16 cannot apply it is refused with the reason, never run in float32.
  std::tie(rc, out) =
      run_cli(tiny_cli_args(test::fresh_run_dir("bf16_ft")) + " --precision bf16 --train-layers layer4,fc");
  CHECK(rc != 0);
  CHECK(out.find("frozen backbone") != std::string::npos);
}
