// experiment/trainer.h — `scratchnet train`: the transfer-learning run.
//
//   1. check every input (data folder, classes, weight file) before creating RUN_DIR;
//   2. load the pretrained backbone, freeze it (but --train-layers), add a new
//      head Linear(features, classes) drawn from the seed;
//   3. per epoch: train with Adam and cross-entropy, append a metrics line,
//      write a checkpoint (atomically);
//   with --freeze-bn --no-augment, the backbone's features are computed once
//   and the epochs train the head on them (feature caching).
//
// Reproducible: the head's initial weights come from the seed, the sample
// order and augmentation of epoch e from (seed, e) (data::DataLoader), so the
// same seed gives bit-identical checkpoints whatever the number of workers.
// --resume restores the model, optimizer and generator state of the last
// complete checkpoint and continues with epoch e+1 exactly as an
// uninterrupted run would.
#pragma once
#include <string>

#include "engine/check.h"
#include "tools/experiment/config.h"
#include "tools/experiment/interrupt.h"

namespace sn::train {

// Training stops at the end of a batch, throwing Interrupted (interrupt.h),
// when a stop signal arrived or the test hook TrainConfig::stop_after_batches
// is reached: no checkpoint for the unfinished epoch, the message says which
// checkpoint is the last complete one and how to continue.
//
// RUN_DIR is locked (run_lock.h) from the moment it is created or resumed
// until train() or resume() returns: a second process stops with RunInUse.

struct TrainSummary {
  int first_epoch = 1;  // > 1 after --resume
  int epochs = 0;       // the last completed epoch
  double seconds = 0;
  std::string run_dir;
};

// A fresh run into cfg.out (which must not already hold checkpoints).
TrainSummary train(TrainConfig cfg);

// Continues the run in `run_dir` from its last complete checkpoint. Settings
// come from RUN_DIR/config.json; `runtime` supplies only how to run (workers,
// threads, device, quiet, hooks) and, if > 0, a new total of epochs; a
// non-empty runtime.data replaces the data folder (the same images elsewhere).
TrainSummary resume(const std::string& run_dir, const TrainConfig& runtime);

}  // namespace sn::train
