// experiment/trained_model.h — what a run trained, ready to use: the base weights
// with one checkpoint applied (the new head, the batch-norm statistics and any
// fine-tuned layers it holds), the run's class names and its test transform.
//
// `scratchnet predict --run`, `export` and `summary --run` start here. The
// checkpoint is chosen by an epoch spec:
//   "best"  the best epoch of RUN_DIR/eval.json (`scratchnet eval` writes it;
//           it must have evaluated exactly the checkpoints the run holds now)
//   "last"  the last complete checkpoint
//   "N"     the checkpoint of epoch N
// Each problem (no run, no such epoch, eval.json missing or stale, other base
// weights) is an error naming the file and saying what to do.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/data/transforms.h"
#include "engine/io/weight_file.h"
#include "tools/experiment/backbone.h"
#include "tools/experiment/config.h"
#include "tools/experiment/transfer_model.h"

namespace sn::train {

struct TrainedModel {
  std::string run;                       // RUN_DIR
  TrainConfig cfg;                       // RUN_DIR/config.json
  std::vector<std::string> classes;      // output index -> class name (the run's sorted class folders)
  int epoch = 0;                         // the checkpoint applied
  std::string checkpoint;                // its path
  std::string chosen_by;                 // "best in RUN_DIR/eval.json, 96.94% test accuracy", "last", "--epoch 3"
  Backbone base;                         // the base weights (base.net holds the checkpoint's statistics)
  std::unique_ptr<TransferModel> model;  // in inference mode

  // The run's test transform: Resize(crop), CenterCrop(crop), ToTensor, and
  // the base weights' normalization unless the run trained without it.
  data::Compose transform() const;
  // The input preprocessing that transform() applies, as a weight file records it.
  io::Preprocessing preprocessing() const;
};

// Loads RUN_DIR's base weights and the checkpoint `epoch` names, on the CPU, in inference mode.
// `precision` (fp32 | bf16) replaces the run's own arithmetic for the frozen backbone, as `eval --precision`.
TrainedModel load_trained(const std::string& run_dir, const std::string& epoch = "best",
                          const std::string& precision = "");

// The epoch an epoch spec names in RUN_DIR (see above), and how it was chosen.
struct ChosenEpoch {
  int epoch = 0;
  std::string path, chosen_by;
};
ChosenEpoch choose_epoch(const std::string& run_dir, const std::string& epoch);

// The trained network as one self-contained weight file: the backbone (with
// the checkpoint's batch-norm statistics and fine-tuned layers), the trained
// head in its own classifier's place (`fc`, `classifier.6`, `classifier.1`),
// the class names and the test preprocessing; torchvision's names, so any
// reader of that architecture loads it.
struct ExportedWeights {
  io::WeightMeta meta;
  nn::NamedTensors tensors;  // state_dict order
};
ExportedWeights export_weights(const TrainedModel& m);

// The same as a network in inference mode (CPU), e.g. for ONNX export or a summary.
std::shared_ptr<models::Classifier> to_classifier(const ExportedWeights& w);

}  // namespace sn::train
