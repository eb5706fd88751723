// `scratchnet train`: the transfer-learning run (tools/experiment/trainer.h).
//
//   scratchnet train --data ../shared/datasets/catanddog --out runs/default
//   scratchnet train --data DIR --out RUN_DIR --preset textbook
//   scratchnet train --data DIR --out RUN_DIR --freeze-bn --no-augment   (feature caching: seconds)
//   scratchnet train --resume RUN_DIR
#include <cstdio>
#include <memory>

#include "tools/experiment/trainer.h"
#include "tools/scratchnet/backend_options.h"
#include "tools/scratchnet/commands.h"

namespace {

struct Options {
  sn::train::TrainConfig cfg;
  std::string resume, train_layers;
  bool no_normalize = false, no_augment = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a new classifier head on a pretrained network (transfer learning)");
  auto o = std::make_shared<Options>();
  auto& c = o->cfg;
  auto* data = cmd->add_option("--data", c.data, "data folder with train/<class>/ and test/<class>/");
  auto* out = cmd->add_option("--out", c.out, "run directory to create (checkpoints, metrics, report)");
  cmd->add_option("--model", c.model, "backbone architecture")
      ->check(CLI::IsMember(sn::train::train_models()))
      ->capture_default_str();
  cmd->add_option("--weights", c.weights, "base weights (.snw); default: the converted ImageNet weights");
  auto* epochs = cmd->add_option("--epochs", c.epochs, "number of epochs")->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "batch size")->capture_default_str();
  cmd->add_option("--lr", c.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--seed", c.seed, "seed of the head's initial weights, sample order and augmentation")
      ->capture_default_str();
  sn::cli::add_compute_options(*cmd, c.workers, c.threads, c.device);
  cmd->add_option("--cache-mb", c.cache_mb,
                  "memory for the cache of decoded, resized training images, kept across epochs (MiB; 0: none)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--preset", c.preset,
                  "textbook: batch norm in training mode and no input normalization, "
                  "as the textbook")
      ->check(CLI::IsMember({"textbook"}));
  cmd->add_flag("--freeze-bn", c.freeze_bn, "keep the backbone's batch norm in inference mode while training");
  cmd->add_flag("--no-normalize", o->no_normalize, "no input normalization (the textbook's ToTensor only)");
  cmd->add_flag("--no-augment", o->no_augment,
                "train on the deterministic test transform (with --freeze-bn: "
                "feature caching)");
  cmd->add_option("--precision", c.precision,
                  "frozen backbone arithmetic on the CPU: fp32, or bf16 (AVX512_BF16: bfloat16 products, float32 sums; "
                  "the head, loss and Adam stay fp32)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--train-layers", o->train_layers,
                  "layers to train, the head included, e.g. layer4,fc or "
                  "features.18,classifier.1 (fine-tuning); default: the new head alone (fc, or classifier.6 for vgg16, "
                  "classifier.1 for mobilenet_v2)");
  cmd->add_option("--resume", o->resume, "continue RUN_DIR from its last complete checkpoint");
  cmd->add_flag("--quiet", c.quiet, "print nothing but errors");
  // For tests: tiny images make tiny trainings.
  cmd->add_option("--resize", c.resize, "training Resize size (test use)")->group("");
  cmd->add_option("--crop", c.crop, "crop size (test use)")->group("");
  cmd->add_option("--stop-after-batches", c.stop_after_batches, "stop as if killed (test use)")->group("");
  cmd->add_option("--slow-batch-ms", c.slow_batch_ms, "sleep after each batch (test use: signals mid-run)")->group("");
  cmd->callback([o, data, out, epochs] {
    sn::cli::run([&] {
      // Ctrl-C / SIGTERM stop at the end of a batch with a message saying how to continue.
      const sn::train::StopSignals stop_signals;
      auto& c = o->cfg;
      c.program = sn::cli::program();
      c.normalize = !o->no_normalize;
      c.augment = !o->no_augment;
      c.train_layers = split_commas(o->train_layers);
      if (!o->resume.empty()) {
        SN_USER_CHECK(!out->count() || c.out == o->resume, "--resume continues RUN_DIR in place: do not pass --out");
        sn::train::TrainConfig runtime = c;
        runtime.epochs = epochs->count() ? c.epochs : 0;
        if (!data->count()) runtime.data.clear();
        sn::train::resume(o->resume, runtime);
        return 0;
      }
      SN_USER_CHECK(data->count(), "--data is required: a folder with train/<class>/ and test/<class>/");
      SN_USER_CHECK(out->count(), "--out is required: the run directory to create");
      sn::train::train(c);
      return 0;
    });
  });
});
