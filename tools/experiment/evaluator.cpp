#include "tools/experiment/evaluator.h"

#include "engine/cpu/conv2d_nchwc.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/data/loader.h"
#include "engine/io/weight_file.h"
#include "engine/machine.h"
#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/upload.h"
#include "tools/experiment/backbone.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/experiment_data.h"
#include "tools/experiment/interrupt.h"
#include "tools/experiment/progress.h"
#include "tools/experiment/report.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/run_lock.h"
#include "tools/experiment/scoring.h"
#include "tools/experiment/test_features.h"
#include "tools/experiment/transfer_model.h"

namespace sn::train {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

bool head_only(const Checkpoint& ck, const std::string& head) {
  for (const auto& [name, t] : ck.model)
    if (name.rfind(head + ".", 0) != 0) return false;
  return true;
}

// train's test features (test_features.h), when every checkpoint holds only the
// head and comes from the base weights they were computed with; else nothing (*why says why).
std::optional<TestFeatures> saved_test_features(const RunPaths& run, const TrainConfig& cfg,
                                                const std::vector<Checkpoint>& cks, const data::ImageFolder& test,
                                                std::string* why) {
  if (!path_exists(run.test_features())) return std::nullopt;
  const std::string& hash = cks.front().base_weights_hash;
  for (const auto& ck : cks)
    if (ck.base_weights_hash != hash) {
      *why = "the checkpoints come from different base weights";
      return std::nullopt;
    }
  const io::WeightFile weights(cfg.weights);  // its input normalization is part of the test transform
  const auto key = test_features_key(cfg.model, hash, cfg.precision,
                                     test_transform(cfg, weights.meta().preprocessing).describe(), test);
  auto saved = load_test_features(run.test_features(), key, why);
  if (saved)
    for (const auto& ck : cks)
      if (!head_only(ck, saved->head_name)) {
        *why = "a checkpoint holds more than the head";
        return std::nullopt;
      }
  return saved;
}

// Where a stop signal is honoured: after each batch and each checkpoint.
// Nothing has been written yet then; the message says how to start again.
struct SafePoint {
  const EvalOptions& o;
  void operator()(const std::string& where) const {
    if (o.slow_batch_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.slow_batch_ms));
    const int sig = stop_signal();
    if (sig == 0) return;
    std::string again = shell_quote(o.program) + " eval --run " + shell_quote(o.run);
    if (!o.data.empty()) again += " --data " + shell_quote(o.data);
    throw Interrupted("evaluation interrupted by " + signal_name(sig) + " " + where + "; nothing was written (" +
                          RunPaths(o.run).eval() + " and the report are as they were)\n  run it again: " + again,
                      sig);
  }
};

// Runs `fn(batch)` over the test set in order.
template <typename Fn>
void for_each_batch(data::DataLoader& loader, Progress& progress, const std::string& label, const SafePoint& safe,
                    const std::string& doing, Fn fn) {
  progress.start(label, loader.dataset().size());
  loader.start_epoch(0);
  data::Batch b;
  int64_t done = 0;
  while (loader.next(b)) {
    fn(b);
    done += b.size();
    progress.update(done);
    safe("while " + doing);
  }
}

}  // namespace

json evaluate_run(const EvalOptions& o) {
  const auto t0 = Clock::now();
  const RunPaths run(o.run);
  SN_USER_CHECK(path_exists(run.config()), o.run, " is not a training run: ", run.config(), " is missing");
  const RunLock lock(o.run, "scratchnet eval");  // no training may add or rewrite checkpoints meanwhile
  const SafePoint safe{o};
  TrainConfig cfg = config_from_json(read_json(run.config()), run.config());
  cfg.out = o.run;
  if (!o.data.empty()) cfg.data = o.data;
  if (!o.precision.empty()) {
    SN_USER_CHECK(o.precision == "fp32" || o.precision == "bf16", "unknown --precision '", o.precision,
                  "' (choose fp32 or bf16)");
    SN_USER_CHECK(o.precision == "fp32" || cpu::nchwc::bf16_supported(),
                  "--precision bf16 needs a CPU with "
                  "AVX512_BF16 (vdpbf16ps) and a scratchnet built for it; this one has none: use --precision fp32");
    SN_USER_CHECK(o.precision == "fp32" || cfg.model.rfind("resnet", 0) == 0,
                  "--precision bf16 runs on the fused "
                  "ResNet path only; a ",
                  cfg.model, " evaluates in fp32");
    cfg.precision = o.precision;
  }
  const auto list = list_checkpoints(run);
  SN_USER_CHECK(!list.empty(), o.run, " has no checkpoints in ", run.checkpoints(), ": train first");
  if (o.threads > 0) set_num_threads(o.threads);
  Progress progress(o.quiet ? ProgressMode::Quiet : ProgressMode::Auto, o.progress_to_stderr ? stderr : stdout);
  const Device device = resolve_device(o.device);

  const Splits splits = scan_splits(cfg.data);
  const auto& classes = splits.test.classes;
  // The run's classes (from its metrics) must be the test folder's.
  if (path_exists(run.metrics()))
    for (const auto& r : read_jsonl(run.metrics()))
      if (r.value("type", "") == "start")
        SN_USER_CHECK(r.at("classes").get<std::vector<std::string>>() == classes, "data folder ", cfg.data,
                      " has other classes than the run ", o.run, " was trained on (", r.at("classes").dump(), ")");
  const int k = static_cast<int>(classes.size());
  const int64_t n = splits.test.size();
  std::vector<int64_t> labels(splits.test.labels.begin(), splits.test.labels.end());
  std::vector<Checkpoint> cks;
  for (const auto& [epoch, path] : list) cks.push_back(load_checkpoint(path));

  // logits(c): checkpoint c's logits on the test split, (n, k) row by row.
  std::function<std::vector<float>(size_t)> logits;
  Rng rng(cfg.seed);
  std::string why_not_saved;
  std::optional<TestFeatures> saved = saved_test_features(run, cfg, cks, splits.test, &why_not_saved);
  std::shared_ptr<nn::Linear> head;  // with train's test features: the head alone, no backbone
  std::unique_ptr<TransferModel> model;
  std::unique_ptr<data::DataLoader> loader;
  Tensor feats;
  bool all_head_only = true;
  if (saved) {
    feats = saved->features.to(device);
    head = std::make_shared<nn::Linear>(int(feats.size(1)), k, true, rng);
    head->to(device);
    progress.message("test features of " + std::to_string(n) + " images from train's feature pass (" +
                     run.test_features() + ")");
    logits = [&](size_t c) {
      // The checkpoint holds only the head (saved_test_features checked): "fc.weight" is the head's "weight".
      std::map<std::string, Tensor> state;
      for (const auto& [name, value] : cks[c].model) state[name.substr(saved->head_name.size() + 1)] = value;
      try {
        head->load_state_dict(state);  // every tensor present, right shapes, nothing else
      } catch (const Error& e) {
        SN_USER_FAIL(list[c].second, ": ", e.what());
      }
      return head->forward(feats).to_vector();
    };
  } else {
    if (path_exists(run.test_features())) progress.message("test features: computed again (" + why_not_saved + ")");
    const Backbone bb = load_backbone(cfg.model, cfg.weights);
    model = std::make_unique<TransferModel>(bb.net, k, cfg, rng);
    model->to(device);
    model->set_phase(false);
    data::LoaderOptions lo;
    lo.batch_size = cfg.batch_size;
    lo.num_workers = o.workers;
    lo.quiet = o.quiet;
    loader = std::make_unique<data::DataLoader>(splits.test, test_transform(cfg, bb.preprocessing), lo);
    for (size_t c = 0; c < cks.size(); ++c) {
      SN_USER_CHECK(cks[c].base_weights_hash == bb.hash, list[c].second, " was trained on other base weights than ",
                    bb.path);
      all_head_only = all_head_only && head_only(cks[c], model->head_name());
    }
    // Test features once, if every checkpoint leaves the backbone as it was.
    if (all_head_only) {
      progress.start("test features", n);
      feats = features_of_split(*model, *loader, device, [&](int64_t done) {
        progress.update(done);
        safe("while computing the test features");
      });
      progress.finish("test features of " + std::to_string(n) + " images computed once (the backbone never changed)");
      feats = feats.to(device);
    }
    logits = [&](size_t c) {
      model->load_checkpoint_state(cks[c].model, list[c].second);
      if (all_head_only) return model->head(feats).to_vector();
      std::vector<float> out(static_cast<size_t>(n) * k);
      for_each_batch(*loader, progress, "eval epoch " + std::to_string(cks[c].epoch), safe,
                     "evaluating the checkpoint of epoch " + std::to_string(cks[c].epoch), [&](const data::Batch& b) {
                       const auto v = model->forward(upload_batch(b.images, device)).to_vector();
                       for (int64_t i = 0; i < b.size(); ++i)
                         std::copy(v.begin() + i * k, v.begin() + (i + 1) * k, out.begin() + b.indices[i] * k);
                     });
      return out;
    };
  }

  json out;
  out["run"] = o.run;
  out["data"] = cfg.data;
  out["classes"] = classes;
  out["checkpoints"] = json::array();
  std::vector<double> accs;
  std::vector<Scores> scores;
  std::vector<std::vector<float>> all_logits;
  for (size_t c = 0; c < cks.size(); ++c) {
    const auto te = Clock::now();
    std::vector<float> checkpoint_logits;
    {
      NoGradGuard no_grad;
      checkpoint_logits = logits(c);
    }
    Scores s(k);
    s.add(checkpoint_logits.data(), labels.data(), n);
    json per_class = json::array();
    for (int j = 0; j < k; ++j) per_class.push_back(s.class_acc(j));
    const double secs = std::chrono::duration<double>(Clock::now() - te).count();
    out["checkpoints"].push_back({{"epoch", cks[c].epoch},
                                  {"path", list[c].second},
                                  {"acc", s.acc()},
                                  {"loss", s.loss()},
                                  {"correct", s.correct},
                                  {"total", s.total},
                                  {"per_class_acc", per_class},
                                  {"time_s", secs}});
    char line[160];
    std::snprintf(line, sizeof line, "epoch %3d  test loss %.4f  acc %6.2f%%  (%lld/%lld)", cks[c].epoch, s.loss(),
                  100 * s.acc(), static_cast<long long>(s.correct), static_cast<long long>(s.total));
    progress.finish(line);
    accs.push_back(s.acc());
    scores.push_back(std::move(s));
    all_logits.push_back(std::move(checkpoint_logits));
    safe("after checkpoint " + std::to_string(c + 1) + " of " + std::to_string(cks.size()));
  }

  const size_t best = best_index(accs);
  const Scores& s = scores[best];
  out["best"] = {{"epoch", cks[best].epoch}, {"acc", s.acc()}, {"loss", s.loss()}, {"path", list[best].second}};
  out["per_class"] = json::array();
  for (int j = 0; j < k; ++j)
    out["per_class"].push_back(
        {{"class", classes[j]}, {"correct", s.confusion[j][j]}, {"total", s.class_total(j)}, {"acc", s.class_acc(j)}});
  out["confusion"] = s.confusion;
  // One test image's prediction at the best epoch: predicted class and its probability.
  auto prediction = [&](int64_t i) {
    const float* row = all_logits[best].data() + i * k;
    const int64_t p = s.predicted[i];
    double z = 0;
    for (int j = 0; j < k; ++j) z += std::exp(double(row[j]) - double(row[p]));
    return json{{"index", i},      {"path", splits.test.paths[i]}, {"label", classes[labels[i]]}, {"pred", classes[p]},
                {"prob", 1.0 / z}, {"correct", p == labels[i]}};
  };
  out["predictions"] = json::array();
  for (int64_t i : spread_indices(n, o.grid_images)) out["predictions"].push_back(prediction(i));
  out["misclassified"] = json::array();  // every one, for the report's own grid
  for (int64_t i = 0; i < n; ++i)
    if (s.predicted[i] != labels[i]) out["misclassified"].push_back(prediction(i));
  out["feature_cache"] = all_head_only;
  out["test_features"] = saved ? "train's feature pass" : all_head_only ? "computed once" : "per checkpoint";
  out["time_s"] = std::chrono::duration<double>(Clock::now() - t0).count();
  out["machine"] = machine_json();
  write_json(run.eval(), out);
  write_report(run);
  return out;
}

std::string format_eval(const json& e) {
  std::ostringstream o;
  char buf[200];
  const auto& best = e.at("best");
  std::snprintf(buf, sizeof buf, "best: epoch %d, test accuracy %.2f%% (loss %.4f)\n", best.at("epoch").get<int>(),
                100 * best.at("acc").get<double>(), best.at("loss").get<double>());
  o << buf << "per-class accuracy at epoch " << best.at("epoch").get<int>() << ":\n";
  for (const auto& c : e.at("per_class")) {
    std::snprintf(buf, sizeof buf, "  %-12s %6.2f%%  (%lld/%lld)\n", c.at("class").get<std::string>().c_str(),
                  100 * c.at("acc").get<double>(), static_cast<long long>(c.at("correct").get<int64_t>()),
                  static_cast<long long>(c.at("total").get<int64_t>()));
    o << buf;
  }
  o << "confusion matrix (rows: label, columns: predicted):\n" << std::string(14, ' ');
  const auto& classes = e.at("classes");
  for (const auto& c : classes) {
    std::snprintf(buf, sizeof buf, "%8.8s", c.get<std::string>().c_str());
    o << buf;
  }
  o << "\n";
  const auto& cm = e.at("confusion");
  for (size_t i = 0; i < cm.size(); ++i) {
    std::snprintf(buf, sizeof buf, "  %-12.12s", classes[i].get<std::string>().c_str());
    o << buf;
    for (const auto& v : cm[i]) {
      std::snprintf(buf, sizeof buf, "%8lld", static_cast<long long>(v.get<int64_t>()));
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace sn::train
