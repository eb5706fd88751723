// `scratchnet predict --run`: a training run's classifier on photos. The
// acceptance test: on all 98 test photos of catanddog, the accuracy predict
// gives with a checkpoint is exactly the accuracy `eval` reports for it (a
// tiny run: reduced-width ResNet-18, 32x32 crops; the arithmetic is the
// same as the real experiment's).
#include <sys/wait.h>
#include <cmath>

#include "engine/data/folder.h"
#include "engine/io/atomic_file.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/evaluator.h"
#include "tools/experiment/report.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/trained_model.h"
#include "tools/experiment/trainer.h"

using namespace sn;
using namespace sn::train;
using nlohmann::json;

namespace {

// Runs the scratchnet binary; returns (exit status, stdout and, unless stdout_only, stderr).
std::pair<int, std::string> run_cli(const std::string& args, bool stdout_only = false) {
  const std::string cmd = std::string(SN_BINARY_DIR) + "/scratchnet " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// A tiny run (3 epochs), evaluated on all 98 test photos of catanddog.
json tiny_evaluated_run(const std::string& run) {
  sn::train::train(test::tiny_config(run));
  EvalOptions o;
  o.run = run;
  o.data = test::data_path("catanddog");
  o.quiet = true;
  o.device = "cpu";
  return evaluate_run(o);
}

struct Counted {
  int64_t correct = 0, total = 0;
  json doc;
};

// predict --run on every test photo; counts the top-1 answers that name the photo's class folder.
Counted predict_all(const std::string& run, const std::string& extra) {
  const auto test = data::ImageFolder::scan(test::data_path("catanddog/test"));
  std::string args = "predict --run " + quote(run) + " --device cpu --json " + extra;
  for (const auto& p : test.paths) args += " " + quote(p);
  const auto [rc, out] = run_cli(args, true);
  INFO(out.substr(0, 2000));
  REQUIRE(rc == 0);
  Counted c;
  c.doc = json::parse(out);
  REQUIRE(c.doc.at("images").size() == test.size());
  for (size_t i = 0; i < test.size(); ++i) {
    const auto& img = c.doc["images"][i];
    REQUIRE(img.at("path") == test.paths[i]);
    c.correct += img.at("name") == test.classes[test.labels[i]];
    ++c.total;
  }
  return c;
}

}  // namespace

TEST_CASE("predict --run: on the 98 test photos, the accuracy of a checkpoint is eval's for that epoch",
          "[use][predict]") {
  const std::string run = test::fresh_run_dir("predict_run_acc");
  const json e = tiny_evaluated_run(run);
  REQUIRE(e.at("checkpoints").size() == 3);

  // Default: the best epoch of eval.json.
  const Counted best = predict_all(run, "");
  CHECK(best.doc.at("epoch") == e["best"]["epoch"]);
  CHECK(best.doc.at("classes") == json({"Cat", "Dog"}));
  CHECK(best.total == 98);
  int64_t eval_correct = -1;
  for (const auto& c : e["checkpoints"])
    if (c["epoch"] == e["best"]["epoch"]) eval_correct = c["correct"].get<int64_t>();
  INFO("predict: " << best.correct << "/98, eval: " << eval_correct << "/98 at epoch " << e["best"]["epoch"]);
  CHECK(best.correct == eval_correct);
  CHECK(double(best.correct) / best.total == e["best"]["acc"].get<double>());

  // The probabilities of eval's prediction grid are predict's (same model, same transform).
  std::map<std::string, json> by_path;
  for (const auto& img : best.doc["images"]) by_path[img["path"]] = img;
  for (const auto& p : e.at("predictions")) {
    const json& img = by_path.at(p.at("path").get<std::string>());
    INFO(p.dump());
    CHECK(img.at("name") == p.at("pred"));
    CHECK(std::abs(img.at("probability").get<double>() - p.at("prob").get<double>()) < 1e-5);
  }

  // eval.json lists every misclassified photo of the best epoch (the report's grid): predict agrees.
  CHECK(static_cast<int64_t>(e.at("misclassified").size()) == 98 - eval_correct);
  for (const auto& p : e["misclassified"]) {
    const json& img = by_path.at(p.at("path").get<std::string>());
    INFO(p.dump());
    CHECK(p.at("correct") == false);
    CHECK(p.at("pred") != p.at("label"));
    CHECK(img.at("name") == p.at("pred"));
    CHECK(std::abs(img.at("probability").get<double>() - p.at("prob").get<double>()) < 1e-5);
  }
  const auto bytes = io::read_file(RunPaths(run).report());
  const std::string html(bytes.begin(), bytes.end());
  CHECK(html.find("Misclassified: " + std::to_string(98 - eval_correct) + " of 98 test images") != std::string::npos);

  // Every other epoch, by number, matches eval's line for it; "last" is epoch 3.
  for (const auto& c : e["checkpoints"]) {
    const int epoch = c["epoch"];
    const Counted k = predict_all(run, "--epoch " + std::to_string(epoch) + " --batch 5");
    INFO("epoch " << epoch << ": predict " << k.correct << ", eval " << c["correct"]);
    CHECK(k.doc.at("epoch") == epoch);
    CHECK(k.correct == c["correct"].get<int64_t>());
  }
  const auto [rc, out] =
      run_cli("predict --run " + quote(run) + " --epoch last --device cpu " + quote(test::data_path("cat.jpg")));
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("epoch 3 (last)") != std::string::npos);
  CHECK((out.find("Cat") != std::string::npos && out.find("Dog") != std::string::npos));
}

TEST_CASE("predict --run: a broken file is named, the others are classified, exit status 2", "[use][predict]") {
  const std::string run = test::fresh_run_dir("predict_run_bad");
  sn::train::train(test::tiny_config(run));
  const std::string bogus = run + "/not-a-photo.jpg";
  io::write_file_atomic(bogus, std::string("this is not a JPEG"));
  const std::string cat = test::data_path("cat.jpg");
  auto [rc, out] = run_cli("predict --run " + quote(run) + " --epoch 2 --device cpu --json " + quote(cat) + " " +
                               quote(bogus) + " /nonexistent/photo.png " + quote(cat),
                           true);
  INFO(out);
  CHECK(rc == 2);
  const json j = json::parse(out);
  REQUIRE(j.at("images").size() == 2);
  CHECK(j["images"][0]["path"] == cat);
  CHECK(j["images"][0]["top5"].size() == 2);  // the run's two classes
  REQUIRE(j.at("failed").size() == 2);
  CHECK(j["failed"][0]["path"] == bogus);
  CHECK(j["failed"][1]["path"] == "/nonexistent/photo.png");
  // On stderr: each file named, and how many failed.
  std::tie(rc, out) =
      run_cli("predict --run " + quote(run) + " --epoch 2 --device cpu " + quote(bogus) + " " + quote(cat));
  CHECK(rc == 2);
  CHECK(out.find("not-a-photo.jpg") != std::string::npos);
  CHECK(out.find("1 of 2 images could not be classified") != std::string::npos);
  CHECK(out.find(cat) != std::string::npos);  // still classified
}

TEST_CASE("predict --run: no such epoch, no eval.json, a stale eval.json, not a run: clear errors",
          "[use][predict][bad-input]") {
  const std::string run = test::fresh_run_dir("predict_run_errors");
  sn::train::train(test::tiny_config(run));
  const std::string cat = quote(test::data_path("cat.jpg"));
  auto [rc, out] = run_cli("predict --run " + quote(run) + " --device cpu " + cat);  // best, but never evaluated
  CHECK(rc == 1);
  CHECK(out.find("eval.json is missing") != std::string::npos);
  CHECK(out.find("--epoch") != std::string::npos);
  std::tie(rc, out) = run_cli("predict --run " + quote(run) + " --epoch 7 --device cpu " + cat);
  CHECK(rc == 1);
  CHECK(out.find("no checkpoint of epoch 7 (it has epochs 1, 2, 3)") != std::string::npos);
  std::tie(rc, out) = run_cli("predict --run " + quote(run) + " --epoch third --device cpu " + cat);
  CHECK(rc == 1);
  CHECK(out.find("expected best, last or an epoch number") != std::string::npos);
  std::tie(rc, out) = run_cli("predict --run /nonexistent/run --device cpu " + cat);
  CHECK(rc == 1);
  CHECK(out.find("/nonexistent/run is not a training run") != std::string::npos);
  std::tie(rc, out) = run_cli("predict --run " + quote(run) + " --weights x.snw " + cat);
  CHECK(rc != 0);
  CHECK(out.find("excludes") != std::string::npos);

  // eval.json of epochs 1-3, then the run goes on to 4: "best" must not guess.
  EvalOptions eo;
  eo.run = run;
  eo.quiet = true;
  eo.device = "cpu";
  evaluate_run(eo);
  auto more = test::tiny_config(run);
  more.epochs = 4;
  resume(run, more);
  std::tie(rc, out) = run_cli("predict --run " + quote(run) + " --device cpu " + cat);
  CHECK(rc == 1);
  CHECK(out.find("out of date") != std::string::npos);
  std::tie(rc, out) = run_cli("predict --run " + quote(run) + " --epoch 4 --device cpu " + cat);
  CHECK(rc == 0);
}

TEST_CASE("report: no misclassified test image is said, not shown as an empty grid", "[use][report]") {
  ReportInput in;
  in.title = "r";
  in.config = {{"model", "resnet18"}};
  in.eval = {{"classes", {"Cat", "Dog"}},
             {"best", {{"epoch", 2}, {"acc", 1.0}}},
             {"per_class", {{{"class", "Cat"}, {"total", 3}}, {{"class", "Dog"}, {"total", 4}}}},
             {"confusion", {{3, 0}, {0, 4}}},
             {"predictions", json::array()},
             {"misclassified", json::array()}};
  const std::string html = render_report(in);
  CHECK(html.find("Misclassified: 0 of 7 test images") != std::string::npos);
  CHECK(html.find("None: every test image is classified correctly.") != std::string::npos);
  // An eval.json written before the list existed: no such section.
  in.eval.erase("misclassified");
  CHECK(render_report(in).find("Misclassified") == std::string::npos);
}
