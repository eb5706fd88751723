// The experiment's files: checkpoints (round trip, corruption, atomic
// replacement), the run directory, metrics.jsonl, the progress output and
// the report's building blocks. The training itself is in test_train.cpp.
#include <unistd.h>
#include <cstdio>
#include <fstream>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "tests/helpers.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/progress.h"
#include "tools/experiment/report.h"
#include "tools/experiment/run_dir.h"

using namespace sn;
using namespace sn::train;

static std::string scratch_dir(const std::string& name) {
  const std::string dir = std::string(SN_BINARY_DIR) + "/test_runs/" + name;
  std::system(("rm -rf '" + dir + "'").c_str());
  make_dirs(dir);
  return dir;
}

static Checkpoint sample_checkpoint() {
  Rng rng(7);
  Checkpoint ck;
  ck.epoch = 3;
  ck.config = {{"model", "resnet50"}, {"lr", 1e-3}};
  ck.base_weights_hash = "0123456789abcdef";
  ck.rng = Rng(42).state();
  ck.model = {{"fc.weight", Tensor::randn({2, 5}, rng)},
              {"fc.bias", Tensor::randn({2}, rng)},
              {"bn1.running_mean", Tensor::randn({3}, rng)}};
  ck.optim = {{"exp_avg.fc.weight", Tensor::randn({2, 5}, rng)}};
  ck.optimizer = {{"step", 36}};
  ck.metrics = {{"train_loss", 0.25}};
  return ck;
}

TEST_CASE("checkpoint: save then load gives back every field bit for bit", "[experiment][checkpoint]") {
  const std::string path = scratch_dir("ck_roundtrip") + "/epoch-0003.snck";
  const Checkpoint ck = sample_checkpoint();
  save_checkpoint(path, ck);
  const Checkpoint back = load_checkpoint(path);
  CHECK(back.epoch == 3);
  CHECK(back.config == ck.config);
  CHECK(back.base_weights_hash == ck.base_weights_hash);
  CHECK(back.rng == ck.rng);
  CHECK(back.optimizer == ck.optimizer);
  CHECK(back.metrics == ck.metrics);
  REQUIRE(back.model.size() == 3);
  REQUIRE(back.optim.size() == 1);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back.model[i].first == ck.model[i].first);
    CHECK(back.model[i].second.shape() == ck.model[i].second.shape());
    CHECK(back.model[i].second.to_vector() == ck.model[i].second.to_vector());  // exact
  }
  CHECK(back.optim[0].second.to_vector() == ck.optim[0].second.to_vector());
}

TEST_CASE("checkpoint: corrupt files give distinct errors naming the file", "[experiment][checkpoint]") {
  const std::string dir = scratch_dir("ck_corrupt");
  const std::string good = dir + "/good.snck";
  save_checkpoint(good, sample_checkpoint());
  const auto bytes = io::read_file(good);
  auto variant = [&](const std::string& name, std::vector<uint8_t> b) {
    const std::string p = dir + "/" + name;
    io::write_file_atomic(p, b.data(), b.size());
    return p;
  };
  REQUIRE(bytes.size() > 256);
  // A flipped bit inside the last tensor's payload. (Edited as a string:
  // GCC 12 warns falsely about writing into a copied vector.)
  std::string flipped(bytes.begin(), bytes.end());
  flipped[flipped.size() - 4] ^= 0x10;
  const std::string p_flip = variant("flip.snck", {flipped.begin(), flipped.end()});
  REQUIRE_THROWS_WITH(load_checkpoint(p_flip), Catch::Contains(p_flip) && Catch::Contains("checksum"));
  const std::string p_trunc = variant("trunc.snck", {bytes.begin(), bytes.end() - 8});
  REQUIRE_THROWS_WITH(load_checkpoint(p_trunc), Catch::Contains(p_trunc) && Catch::Contains("truncated"));
  std::string magic(bytes.begin(), bytes.end());
  magic[0] = 'X';
  const std::string p_magic = variant("magic.snck", {magic.begin(), magic.end()});
  REQUIRE_THROWS_WITH(load_checkpoint(p_magic), Catch::Contains(p_magic) && Catch::Contains("magic"));
  std::string version(bytes.begin(), bytes.end());
  version[8] = 9;
  const std::string p_ver = variant("version.snck", {version.begin(), version.end()});
  REQUIRE_THROWS_WITH(load_checkpoint(p_ver), Catch::Contains(p_ver) && Catch::Contains("version 9"));
  const std::string p_empty = variant("empty.snck", {});
  REQUIRE_THROWS_WITH(load_checkpoint(p_empty), Catch::Contains(p_empty));
}

TEST_CASE("run dir: checkpoints are listed by epoch, interrupted writes are not checkpoints", "[experiment]") {
  const RunPaths run(scratch_dir("listing"));
  make_dirs(run.checkpoints());
  for (int e : {2, 10, 1}) save_checkpoint(run.checkpoint(e), sample_checkpoint());
  std::ofstream(run.checkpoints() + "/epoch-0011.snck.tmp.1234") << "partial";
  std::ofstream(run.checkpoints() + "/notes.txt") << "x";
  const auto list = list_checkpoints(run);
  REQUIRE(list.size() == 3);
  CHECK(list[0].first == 1);
  CHECK(list[1].first == 2);
  CHECK(list[2].first == 10);
  CHECK(list[2].second == run.checkpoint(10));
  CHECK(run.checkpoint(10).substr(run.checkpoint(10).size() - 15) == "epoch-0010.snck");
}

TEST_CASE("metrics.jsonl: appended lines, a torn last line ignored, truncation for resume", "[experiment]") {
  const std::string path = scratch_dir("metrics") + "/metrics.jsonl";
  {
    MetricsWriter w(path, false);
    w.write({{"type", "start"}});
    for (int e = 1; e <= 4; ++e) w.write({{"type", "epoch"}, {"epoch", e}, {"train_loss", 1.0 / e}});
  }
  std::ofstream(path, std::ios::app) << "{\"type\": \"epo";  // a crash mid-append
  auto recs = read_jsonl(path);
  REQUIRE(recs.size() == 5);
  CHECK(recs[4]["epoch"] == 4);
  truncate_metrics(path, 2);
  recs = read_jsonl(path);
  REQUIRE(recs.size() == 3);  // start (no epoch counts as 0), epochs 1 and 2
  CHECK(recs.back()["epoch"] == 2);
  // Corruption in the middle is an error, not silently dropped data.
  std::ofstream(path, std::ios::app) << "garbage\n{\"epoch\": 3}\n";
  REQUIRE_THROWS_WITH(read_jsonl(path), Catch::Contains(path) && Catch::Contains("corrupt"));
}

TEST_CASE("progress: plain lines when not a terminal, nothing when quiet", "[experiment]") {
  const std::string path = scratch_dir("progress") + "/out.txt";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    Progress p(ProgressMode::Auto, f);  // a file is not a terminal
    CHECK(p.mode() == ProgressMode::Lines);
    p.start("epoch  1/13", 100);
    for (int i = 1; i <= 100; ++i) p.update(i, "loss 0.5");
    p.finish("epoch  1/13 done");
    Progress q(ProgressMode::Quiet, f);
    q.start("x", 10);
    q.update(10);
    q.finish("quiet summary");
    std::fclose(f);
  }
  const auto b = io::read_file(path);
  const std::string text(b.begin(), b.end());
  CHECK(text.find('\r') == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);  // 25%, 50%, 75%, summary
  CHECK(text.find("img/s") != std::string::npos);
  CHECK(text.find("ETA") != std::string::npos);
  CHECK(text.find("quiet summary") == std::string::npos);
  CHECK(Progress::format_duration(3725) == "1:02:05");
  CHECK(Progress::format_duration(65) == "1:05");
}

TEST_CASE("report: base64, escaping, chart SVG and a page from a run directory", "[experiment][report]") {
  CHECK(base64("Man", 3) == "TWFu");
  CHECK(base64("Ma", 2) == "TWE=");
  CHECK(base64("M", 1) == "TQ==");
  CHECK(html_escape("<a & \"b\">") == "&lt;a &amp; &quot;b&quot;&gt;");
  CHECK(data_uri({0xFF, 0xD8, 0xFF, 0}).rfind("data:image/jpeg;base64,", 0) == 0);
  CHECK(data_uri({'B', 'M', 0}).rfind("data:image/bmp;base64,", 0) == 0);
  const std::string svg = svg_line_chart("acc", "accuracy", {{"train", "#00f", {{1, 0.5}, {2, 0.8}}}}, true);
  CHECK(svg.find("<svg") == 0);
  CHECK(svg.find("<polyline") != std::string::npos);
  CHECK(std::count(svg.begin(), svg.end(), '\n') > 5);

  const RunPaths run(scratch_dir("report_page"));
  write_json(run.config(), {{"model", "resnet50"}, {"data", "catanddog"}});
  REQUIRE_NOTHROW(write_report(run));  // no metrics, no eval yet: still a page
  const auto b = io::read_file(run.report());
  const std::string html(b.begin(), b.end());
  CHECK(html.find("Not evaluated yet") != std::string::npos);
  REQUIRE_THROWS_WITH(write_report(RunPaths(scratch_dir("not_a_run"))), Catch::Contains("config.json"));
}

#include "tools/experiment/scoring.h"

TEST_CASE("scoring: loss, accuracy, confusion matrix, best checkpoint, grid indices", "[experiment]") {
  Scores s(2);
  // Row 0 predicts class 1 (wrong for label 0), row 1 predicts 0 (right), row 2 a tie -> class 0.
  const std::vector<float> logits{0.f, 2.f, 1.f, -1.f, 0.5f, 0.5f};
  const std::vector<int64_t> labels{0, 0, 1};
  s.add(logits.data(), labels.data(), 3);
  CHECK(s.total == 3);
  CHECK(s.correct == 1);
  CHECK(s.confusion == std::vector<std::vector<int64_t>>{{1, 1}, {1, 0}});
  CHECK(s.predicted == std::vector<int64_t>{1, 0, 0});
  // -log softmax: log(1+e^2), log(1+e^-2), log 2. Exact in double to 1e-12.
  const double expect = (std::log(1 + std::exp(2.0)) + std::log(1 + std::exp(-2.0)) + std::log(2.0)) / 3;
  CHECK(std::abs(s.loss() - expect) < 1e-12);
  CHECK(s.class_acc(0) == 0.5);
  CHECK(s.class_acc(1) == 0.0);
  CHECK(best_index({0.9, 0.95, 0.95, 0.93}) == 1);
  CHECK(spread_indices(98, 20).size() == 20);
  CHECK(spread_indices(98, 20).back() == 93);
  CHECK(spread_indices(5, 20).size() == 5);
  const std::vector<int64_t> bad{2};
  REQUIRE_THROWS_WITH(s.add(logits.data(), bad.data(), 1), Catch::Contains("label 2"));
}
