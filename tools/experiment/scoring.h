// experiment/scoring.h — turning logits into the numbers a run reports: mean
// cross-entropy, accuracy, per-class accuracy, the confusion matrix, and the
// choice of the best checkpoint. Plain functions over CPU values, computed in
// double in a fixed order, so they are exact and reproducible.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace sn::train {

struct Scores {
  int64_t total = 0, correct = 0;
  double loss_sum = 0;                          // sum over images of -log softmax[label]
  std::vector<std::vector<int64_t>> confusion;  // [label][predicted]
  std::vector<int64_t> predicted;               // per image, in order

  explicit Scores(int classes = 0) : confusion(classes, std::vector<int64_t>(classes, 0)) {}
  // logits: n x classes values (row-major), labels: n.
  void add(const float* logits, const int64_t* labels, int64_t n);
  double loss() const { return total ? loss_sum / total : 0; }
  double acc() const { return total ? double(correct) / total : 0; }
  double class_acc(int c) const;
  int64_t class_total(int c) const;
};

// Index of the best checkpoint: the highest accuracy; on a tie, the earliest
// epoch (the same rule as tools/reference/experiment_torch.py).
size_t best_index(const std::vector<double>& accs);

// Indices of `n` images spread evenly over a test set of `size` images (so
// every class appears in the prediction grid: ImageFolder sorts by class).
std::vector<int64_t> spread_indices(int64_t size, int64_t n);

}  // namespace sn::train
