// `scratchnet export --run RUN_DIR [--epoch best|last|N] --out FILE [--format snw|onnx]`:
// what a run trained as one self-contained file: the backbone with the
// checkpoint's batch-norm statistics (and fine-tuned layers), the trained
// head as `fc`, the class names and the input preprocessing.
//
//   .snw   scratchnet's weight format (weights/FORMAT.md): `scratchnet predict --weights FILE`
//          classifies with it exactly as `predict --run` does
//   .onnx  ONNX opset 13, written by the ONNX project's C++ library (models/onnx/onnx_export.h),
//          preprocessing and labels in its metadata; runs in ONNX Runtime. Every network:
//          ResNets, VGG-16 (at a crop whose size / 32 is a multiple of 7), MobileNetV2
// The format comes from --format, else from the file's extension.
#include <cstdio>
#include <memory>

#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "models/zoo.h"
#include "tools/experiment/trained_model.h"
#include "tools/scratchnet/commands.h"
#if SCRATCHNET_ONNX
#include "models/onnx/onnx_export.h"
#endif

namespace {

struct Options {
  std::string run, epoch = "best", out, format;
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

int run_export(const Options& o) {
  using namespace sn;
  const std::string format = !o.format.empty() ? o.format : ends_with(o.out, ".onnx") ? "onnx" : "snw";
  const train::TrainedModel m = train::load_trained(o.run, o.epoch);
  const train::ExportedWeights w = train::export_weights(m);
  if (format == "snw") {
    io::write_weight_file(o.out, w.meta, w.tensors);
    models::load_classifier(io::WeightFile(o.out));  // read back as a user would: checksums, names, shapes
  } else {
#if SCRATCHNET_ONNX
    models::write_onnx(o.out, *train::to_classifier(w), w.meta);  // a ResNet, VGG-16 or MobileNetV2
#else
    SN_FAIL(
        "this scratchnet was built without ONNX support: install Debian's libonnx-dev "
        "(tools/install-deps.sh does) and build again");
#endif
  }
  std::string classes;
  for (const auto& c : m.classes) classes += (classes.empty() ? "" : ", ") + c;
  std::printf("wrote %s (%s): %s, %zu classes (%s), epoch %d (%s) of %s\n", o.out.c_str(), format.c_str(),
              m.cfg.model.c_str(), m.classes.size(), classes.c_str(), m.epoch, m.chosen_by.c_str(), o.run.c_str());
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write what a run trained as one file: .snw, or ONNX (--format onnx)");
  auto o = std::make_shared<Options>();
  cmd->add_option("--run", o->run, "run directory of `scratchnet train`")->required();
  cmd->add_option("--epoch", o->epoch, "best (from eval.json), last, or an epoch number")->capture_default_str();
  cmd->add_option("--out", o->out, "output file (.snw or .onnx)")->required();
  cmd->add_option("--format", o->format, "snw or onnx (default: from --out's extension)")
      ->check(CLI::IsMember({"snw", "onnx"}));
  cmd->callback([o] { sn::cli::run([&] { return run_export(*o); }); });
});
