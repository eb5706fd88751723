#include "tools/experiment/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "engine/autograd.h"
#include "engine/data/loader.h"
#include "engine/machine.h"
#include "engine/memory_stats.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/upload.h"
#include "models/summary.h"
#include "tools/experiment/backbone.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/experiment_data.h"
#include "tools/experiment/optimizer_state.h"
#include "tools/experiment/progress.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/run_lock.h"
#include "tools/experiment/samples_grid.h"
#include "tools/experiment/test_features.h"
#include "tools/experiment/transfer_model.h"

namespace sn::train {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

static std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

namespace {

// One epoch's running totals.
struct EpochStats {
  int64_t seen = 0, correct = 0;
  double loss_sum = 0;  // sum over images of the batch-mean loss times the batch size
  double loss() const { return seen ? loss_sum / seen : 0; }
  double acc() const { return seen ? double(correct) / seen : 0; }
};

// The lock on RUN_DIR, owned by the caller of Run so that a failed fresh run
// still holds it while it removes the directory it created.
struct Hold {
  std::optional<RunLock> lock;
  bool created = false;  // this process created RUN_DIR
};

class Run {
 public:
  Run(TrainConfig cfg, const Checkpoint* from, Hold& hold) : cfg_(std::move(cfg)), run_(cfg_.out) {
    progress_ = Progress(cfg_.quiet ? ProgressMode::Quiet : ProgressMode::Auto);
    if (cfg_.threads > 0) set_num_threads(cfg_.threads);
    device_ = resolve_device(cfg_.device);
    cfg_.device = to_string(device_);  // saved resolved: "auto" on a CPU-only machine is "cpu"
    // 1. Every input is checked before RUN_DIR is touched: a bad input leaves nothing behind.
    splits_ = scan_splits(cfg_.data);
    cfg_.weights = resolve_weights(cfg_.model, cfg_.weights);
    backbone_ = load_backbone(cfg_.model, cfg_.weights);
    if (from)
      SN_USER_CHECK(from->base_weights_hash == backbone_.hash, "cannot resume ", run_.root,
                    ": its checkpoints "
                    "were trained on other base weights than ",
                    backbone_.path, " (hash ", from->base_weights_hash, ", file has ", backbone_.hash, ")");
    // 2. RUN_DIR, created and locked: from here on no other process writes into it.
    if (!hold.lock) {
      hold.created = !is_directory(run_.root);
      make_dirs(run_.root);
      hold.lock.emplace(run_.root, "scratchnet train");
    }
    if (!from) {
      const auto existing = list_checkpoints(run_);
      SN_USER_CHECK(existing.empty(), run_.root, " already holds a run (", existing.size(),
                    " checkpoints): "
                    "continue it with --resume ",
                    run_.root, ", or choose another --out");
    }
    // 3. The model: the backbone frozen, the new head drawn from the seed.
    rng_ = Rng(cfg_.seed);
    model_ = std::make_unique<TransferModel>(backbone_.net, static_cast<int>(splits_.train.classes.size()), cfg_, rng_);
    if (from) {
      model_->load_checkpoint_state(from->model, run_.checkpoint(from->epoch));
      rng_.set_state(from->rng);
      first_epoch_ = from->epoch + 1;
    }
    model_->to(device_);
    params_ = model_->trainable();
    std::vector<Tensor> p;
    for (auto& [n, t] : params_) p.push_back(t);
    optimizer_ = make_adam(p, cfg_.lr);
    if (from) load_optimizer_state(*optimizer_, params_, from->optim, from->optimizer, run_.checkpoint(from->epoch));

    // 4. The run directory's files.
    make_dirs(run_.checkpoints());
    if (!from) {
      write_json(run_.config(), to_json(cfg_));
      metrics_ = std::make_unique<MetricsWriter>(run_.metrics(), false);
    } else {
      truncate_metrics(run_.metrics(), from->epoch);
      metrics_ = std::make_unique<MetricsWriter>(run_.metrics(), true);
    }
    metrics_->write({{"type", from ? "resume" : "start"},
                     {"epoch", from ? from->epoch : 0},
                     {"classes", splits_.train.classes},
                     {"train_images", splits_.train.size()},
                     {"test_images", splits_.test.size()},
                     {"device", to_string(device_)},
                     {"workers", cfg_.workers},
                     {"machine", machine_json()}});
  }

  TrainSummary go() {
    const auto t0 = Clock::now();
    describe();
    data::LoaderOptions lo;
    lo.batch_size = cfg_.batch_size;
    lo.shuffle = true;
    lo.num_workers = cfg_.workers;
    lo.seed = cfg_.seed;
    lo.quiet = cfg_.quiet;
    lo.cache_bytes = static_cast<size_t>(cfg_.cache_mb) << 20;
    data::DataLoader loader(splits_.train, train_transform(cfg_, backbone_.preprocessing), lo);
    // The picture of the first epoch's samples is drawn beside the feature
    // pass (it only reads the photos): in the cached mode it was 0.2 s before
    // the features started. Its warning, if any, is printed after the pass.
    std::future<std::string> grid;
    if (first_epoch_ == 1) grid = std::async(std::launch::async, [this] { return write_samples_grid(); });
    if (const int sig = stop_signal()) throw stopped(sig, "before epoch " + std::to_string(first_epoch_) + " started");
    if (uses_feature_cache(cfg_)) cache_features(lo);
    if (grid.valid())
      if (const std::string warning = grid.get(); !warning.empty()) progress_.message(warning);
    for (int epoch = first_epoch_; epoch <= cfg_.epochs; ++epoch) {
      const auto te = Clock::now();
      progress_.start(fmt("epoch %2.0f/%.0f", epoch, cfg_.epochs), splits_.train.size());
      EpochStats st = cached_.defined() ? epoch_on_features(loader, epoch) : epoch_on_images(loader, epoch);
      const double secs = seconds_since(te);
      end_epoch(epoch, st, secs, loader);
      // A safe point: the epoch's checkpoint is written.
      if (const int sig = stop_signal())
        throw stopped(sig, "after epoch " + std::to_string(epoch) + " of " + std::to_string(cfg_.epochs) +
                               (epoch < cfg_.epochs ? " (its checkpoint is saved)" : ": the run is complete"));
    }
    TrainSummary s;
    s.first_epoch = first_epoch_;
    s.epochs = cfg_.epochs;
    s.seconds = seconds_since(t0);
    s.run_dir = run_.root;
    progress_.message("trained epochs " + std::to_string(first_epoch_) + "-" + std::to_string(cfg_.epochs) + " in " +
                      Progress::format_duration(s.seconds) + "; checkpoints in " + run_.checkpoints());
    return s;
  }

 private:
  void describe() {
    std::string layers;
    for (const auto& l : cfg_.train_layers) layers += (layers.empty() ? "" : ",") + l;
    progress_.message("scratchnet train: " + cfg_.model + " from " + backbone_.path + "\n  data " + cfg_.data + ": " +
                      splits_.train.summary() + "; " + splits_.test.summary() + "\n  device " + to_string(device_) +
                      ", " + std::to_string(num_threads()) + " threads, " + std::to_string(cfg_.workers) +
                      " workers; batch " + std::to_string(cfg_.batch_size) + ", Adam lr " + fmt("%g", cfg_.lr) +
                      ", seed " + std::to_string(cfg_.seed) + "\n  trains " + layers + "; backbone batch norm " +
                      (cfg_.freeze_bn ? "frozen (inference mode)" : "in training mode (the textbook's)") +
                      "; input normalization " + (cfg_.normalize ? "from the weight file" : "none (the textbook's)") +
                      "; augmentation " + (cfg_.augment ? "on" : "off") +
                      (uses_feature_cache(cfg_) ? "; feature caching on" : "") +
                      (first_epoch_ > 1 ? "\n  resuming after epoch " + std::to_string(first_epoch_ - 1) : "") +
                      "\n  " + parameter_counts());
  }

  // The textbook's check of what trains: "parameters: 4,098 trainable of 23,512,130".
  std::string parameter_counts() const {
    int64_t total = 0, trainable = 0;
    const std::string own_head = model_->head_name() + ".";
    for (const auto& [n, t] : model_->backbone().named_parameters())
      if (n.rfind(own_head, 0) != 0) total += t.numel();  // the backbone's own classifier is not part of the model
    for (const auto& [n, t] : model_->head_module().named_parameters()) total += t.numel();
    for (const auto& [n, t] : model_->trainable()) trainable += t.numel();
    return "parameters: " + models::with_commas(trainable) + " trainable of " + models::with_commas(total) + " (" +
           models::with_commas(total - trainable) + " frozen; `scratchnet summary --run " + run_.root + "` lists them)";
  }

  // Writes the training sample grid; returns a warning instead of failing.
  std::string write_samples_grid() const {
    try {
      TrainConfig display = cfg_;
      display.normalize = false;  // the pictures as they are, in [0, 1]
      write_training_grid(run_.train_grid(), splits_.train, train_transform(display, backbone_.preprocessing),
                          cfg_.seed, 24);
    } catch (const Error& e) {  // a picture must not stop a training run (other errors do, through get())
      return std::string("warning: no training sample grid: ") + e.what();
    }
    return {};
  }

  // Backbone features of every training image, once, in dataset order, and of
  // every test photo for `eval` (experiment/test_features.h; their labels are not read).
  void cache_features(const data::LoaderOptions& base) {
    model_->set_phase(false);
    cached_ = features_once(splits_.train, train_transform(cfg_, backbone_.preprocessing), "train", base);
    const data::Compose test = test_transform(cfg_, backbone_.preprocessing);
    const Tensor feats = features_once(splits_.test, test, "test", base);
    save_test_features(run_.test_features(),
                       test_features_key(cfg_.model, backbone_.hash, cfg_.precision, test.describe(), splits_.test),
                       {feats, model_->head_name()});
  }

  // The features of one split in dataset order (inference mode, no graph); split: "train" or "test".
  Tensor features_once(const data::ImageFolder& images, const data::Compose& transform, const std::string& split,
                       const data::LoaderOptions& base) {
    const auto t = Clock::now();
    data::LoaderOptions lo = base;
    lo.shuffle = false;
    lo.cache_bytes = 0;  // every image is read once here: a cache would only hold memory (1 GiB at 25,000 images)
    data::DataLoader loader(images, transform, lo);
    const int64_t n = images.size();
    const std::string noun = split == "train" ? "training" : split;
    progress_.start(split == "train" ? "features   " : split + " features", n);
    Tensor out = features_of_split(*model_, loader, device_, [&](int64_t done) {
      progress_.update(done);
      if (const int sig = stop_signal())
        throw stopped(sig, "while computing the " + noun + " features, before epoch " + std::to_string(first_epoch_));
    });
    const double secs = seconds_since(t);
    progress_.finish(fmt("features of %.0f ", n) + noun + fmt(" images computed once in %.1f s", secs));
    metrics_->write({{"type", "features"}, {"split", split}, {"images", n}, {"time_s", secs}});
    return out;
  }

  // One optimizer step on a batch; returns the batch's mean loss.
  void step(const Tensor& logits, const std::vector<int64_t>& labels, int epoch, int64_t batch, int64_t batches,
            EpochStats& st) {
    Tensor loss = cross_entropy(logits, labels);
    const float l = loss.item();
    SN_USER_CHECK(std::isfinite(l), "non-finite loss (", l, ") at epoch ", epoch, ", batch ", batch, " of ", batches,
                  ": training stopped. ",
                  epoch > 1 ? "The checkpoints of epochs 1-" + std::to_string(epoch - 1) + " in " + run_.checkpoints() +
                                  " are intact"
                            : std::string("No checkpoint was written"),
                  " (a smaller --lr may help)");
    optimizer_->zero_grad();
    loss.backward();
    optimizer_->step();
    const auto pred = argmax(logits);
    for (size_t i = 0; i < labels.size(); ++i) st.correct += pred[i] == labels[i];
    st.seen += static_cast<int64_t>(labels.size());
    st.loss_sum += double(l) * labels.size();
    progress_.update(st.seen, fmt("loss %.4f", st.loss()));
    after_batch(epoch, batch, batches);
  }

  // A safe point: batch `done` of `batches` of `epoch` has updated the model.
  // A stop signal ends the run here, dropping the unfinished epoch, except
  // after its last batch: then the checkpoint is written first (see go()).
  void after_batch(int epoch, int64_t done, int64_t batches) {
    if (cfg_.slow_batch_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(cfg_.slow_batch_ms));
    const bool hook = cfg_.stop_after_batches >= 0 && ++batches_run_ >= cfg_.stop_after_batches;
    const int sig = stop_signal();
    if (!hook && (sig == 0 || done == batches)) return;
    const std::string e = std::to_string(epoch);
    throw stopped(sig, "during epoch " + e + " of " + std::to_string(cfg_.epochs) + ", after batch " +
                           std::to_string(done) + " of " + std::to_string(batches) + "; nothing of epoch " + e +
                           " is saved");
  }

  // What the person who stopped the run needs: where, the last complete
  // checkpoint, and the command that continues (resume redoes the unfinished epoch).
  Interrupted stopped(int sig, const std::string& where) const {
    const auto list = list_checkpoints(run_);
    std::string msg = "training " +
                      (sig ? "interrupted by " + signal_name(sig) : std::string("stopped by the test hook")) + " " +
                      where + "\n  last complete checkpoint: " + (list.empty() ? "none yet" : list.back().second);
    if (list.empty() || list.back().first < cfg_.epochs) msg += "\n  continue with: " + resume_command();
    return Interrupted(msg, sig);
  }

  // `--resume RUN_DIR`, plus what this process was given that RUN_DIR/config.json
  // does not say (an earlier --resume with a new --epochs or --data).
  std::string resume_command() const {
    std::string cmd = shell_quote(cfg_.program) + " train --resume " + shell_quote(run_.root);
    try {
      const json saved = read_json(run_.config());
      if (saved.value("epochs", cfg_.epochs) != cfg_.epochs) cmd += " --epochs " + std::to_string(cfg_.epochs);
      if (saved.value("data", cfg_.data) != cfg_.data) cmd += " --data " + shell_quote(cfg_.data);
    } catch (const Error&) {
      // No readable config.json (stopped before it was written): the plain command.
    }
    return cmd;
  }

  EpochStats epoch_on_images(data::DataLoader& loader, int epoch) {
    EpochStats st;
    model_->set_phase(true);
    loader.start_epoch(epoch);
    data::Batch b;
    while (loader.next(b)) {
      Tensor logits = model_->forward(upload_batch(b.images, device_));
      step(logits, b.labels, epoch, b.index + 1, loader.num_batches(), st);
    }
    return st;
  }

  // The same batches (the loader's order for this epoch), the features from the cache.
  EpochStats epoch_on_features(data::DataLoader& loader, int epoch) {
    EpochStats st;
    model_->set_phase(true);
    const std::vector<int64_t> order = loader.epoch_order(epoch);
    const int64_t f = model_->num_features(), bs = cfg_.batch_size, n = static_cast<int64_t>(order.size());
    const int64_t batches = (n + bs - 1) / bs;
    for (int64_t start = 0, batch = 1; start < n; start += bs, ++batch) {
      const int64_t m = std::min(bs, n - start);
      Tensor x = Tensor::empty({m, f});
      std::vector<int64_t> labels(m);
      for (int64_t i = 0; i < m; ++i) {
        const int64_t idx = order[start + i];
        std::memcpy(x.data() + i * f, cached_.data() + idx * f, f * sizeof(float));
        labels[i] = splits_.train.labels[idx];
      }
      step(model_->head(upload_batch(x, device_)), labels, epoch, batch, batches, st);
    }
    return st;
  }

  // The metrics line first, then the checkpoint: a crash between the two
  // leaves a metrics line without its checkpoint, which --resume drops.
  void end_epoch(int epoch, const EpochStats& st, double secs, const data::DataLoader& loader) {
    const double ips = st.seen / std::max(secs, 1e-9);
    json line = {{"type", "epoch"},         {"epoch", epoch},
                 {"train_loss", st.loss()}, {"train_acc", st.acc()},
                 {"images", st.seen},       {"time_s", secs},
                 {"images_per_s", ips},     {"loader_wait_s", loader.stats().wait_seconds}};
    // Memory, so a run that grows from epoch to epoch shows it (issue: resource bounds).
    const double mib = 1024.0 * 1024.0;
    const RssSample rss = rss_sample();
    const double peak_rss = rss.peak / mib;
    line["peak_rss_mib"] = peak_rss;
    line["rss_mib"] = rss.current / mib;
    std::string gpu_note;
    DeviceMemoryStats gpu;
    if (device_ == Device::CUDA && device_memory_stats(&gpu)) {
      line["gpu_in_use_mib"] = gpu.in_use / mib;
      line["gpu_cached_mib"] = gpu.cached / mib;
      line["gpu_peak_mib"] = gpu.peak_in_use / mib;
      gpu_note = fmt("  GPU peak %.0f MiB", gpu.peak_in_use / mib);
    }
    metrics_->write(line);
    Checkpoint ck;
    ck.epoch = epoch;
    ck.config = to_json(cfg_);
    ck.base_weights_hash = backbone_.hash;
    ck.rng = rng_.state();
    ck.model = model_->checkpoint_state();
    save_optimizer_state(*optimizer_, params_, ck.optim, ck.optimizer);
    ck.metrics = {{"train_loss", st.loss()}, {"train_acc", st.acc()}};
    save_checkpoint(run_.checkpoint(epoch), ck);
    progress_.finish(fmt("epoch %2.0f/%.0f  loss %.4f  acc %6.2f%%", epoch, cfg_.epochs, st.loss(), 100 * st.acc()) +
                     fmt("  %.1f s  %.1f img/s  peak RSS %.0f MiB", secs, ips, peak_rss) + gpu_note);
  }

  TrainConfig cfg_;
  RunPaths run_;
  Progress progress_;
  Device device_ = Device::CPU;
  Splits splits_;
  Backbone backbone_;
  Rng rng_;
  std::unique_ptr<TransferModel> model_;
  nn::NamedTensors params_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<MetricsWriter> metrics_;
  Tensor cached_;  // (N, features) on the CPU, when feature caching
  int first_epoch_ = 1;
  int64_t batches_run_ = 0;
};

}  // namespace

// A fresh run that fails before its first checkpoint (e.g. a non-finite loss
// in epoch 1) removes the directory it created: nothing in it is worth keeping.
// Only a directory this process created and still holds locked: never one that
// existed, and never one another process is using (RunInUse leaves `hold` empty).
static TrainSummary fresh_run(const TrainConfig& cfg) {
  Hold hold;
  try {
    return Run(cfg, nullptr, hold).go();
  } catch (const Interrupted&) {
    throw;  // a stop (or the test hook, standing for a kill) leaves the directory to --resume
  } catch (const Error& e) {
    if (!hold.created || !hold.lock || !list_checkpoints(RunPaths(cfg.out)).empty()) throw;
    std::error_code ec;
    std::filesystem::remove_all(cfg.out, ec);
    std::rethrow_exception(
        same_kind(e, std::string(e.what()) + " (" + cfg.out + " held no checkpoint and was removed)"));
  }
}

TrainSummary train(TrainConfig cfg) {
  resolve(cfg);
  return fresh_run(cfg);
}

TrainSummary resume(const std::string& run_dir, const TrainConfig& runtime) {
  const RunPaths run(run_dir);
  SN_USER_CHECK(path_exists(run.config()), "cannot resume ", run_dir, ": ", run.config(),
                " is missing (not a run directory written by scratchnet train)");
  TrainConfig cfg = config_from_json(read_json(run.config()), run.config());
  cfg.out = run_dir;
  cfg.workers = runtime.workers;
  cfg.threads = runtime.threads;
  cfg.cache_mb = runtime.cache_mb;
  cfg.device = runtime.device;
  cfg.quiet = runtime.quiet;
  cfg.stop_after_batches = runtime.stop_after_batches;
  cfg.slow_batch_ms = runtime.slow_batch_ms;
  cfg.program = runtime.program;
  if (runtime.epochs > 0) cfg.epochs = runtime.epochs;
  if (!runtime.data.empty()) cfg.data = runtime.data;
  resolve(cfg);
  Hold hold;  // locked before the checkpoints are listed: no other process adds one
  hold.lock.emplace(run_dir, "scratchnet train --resume");
  const auto list = list_checkpoints(run);
  if (list.empty()) return Run(cfg, nullptr, hold).go();  // killed before the first checkpoint: start over
  const Checkpoint ck = load_checkpoint(list.back().second);
  SN_USER_CHECK(ck.epoch == list.back().first, list.back().second, ": the file says epoch ", ck.epoch);
  if (ck.epoch >= cfg.epochs) {
    if (!cfg.quiet) std::printf("%s is complete: %d of %d epochs\n", run_dir.c_str(), ck.epoch, cfg.epochs);
    return {ck.epoch + 1, ck.epoch, 0.0, run_dir};
  }
  return Run(cfg, &ck, hold).go();
}

}  // namespace sn::train
