#include "tools/experiment/scoring.h"

#include <cmath>

#include "engine/check.h"

namespace sn::train {

void Scores::add(const float* logits, const int64_t* labels, int64_t n) {
  const int k = static_cast<int>(confusion.size());
  SN_CHECK(k > 0, "Scores: number of classes not set");
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * k;
    const int64_t y = labels[i];
    SN_CHECK(y >= 0 && y < k, "label ", y, " outside [0, ", k, ")");
    // log-sum-exp with the max subtracted; argmax ties go to the first, as sn::argmax.
    int best = 0;
    for (int c = 1; c < k; ++c)
      if (row[c] > row[best]) best = c;
    double sum = 0;
    for (int c = 0; c < k; ++c) sum += std::exp(double(row[c]) - double(row[best]));
    loss_sum += std::log(sum) + double(row[best]) - double(row[y]);
    correct += best == y;
    ++confusion[y][best];
    predicted.push_back(best);
    ++total;
  }
}

int64_t Scores::class_total(int c) const {
  int64_t t = 0;
  for (int64_t v : confusion.at(c)) t += v;
  return t;
}

double Scores::class_acc(int c) const {
  const int64_t t = class_total(c);
  return t ? double(confusion[c][c]) / t : 0;
}

size_t best_index(const std::vector<double>& accs) {
  SN_CHECK(!accs.empty(), "no checkpoint to choose from");
  size_t best = 0;
  for (size_t i = 1; i < accs.size(); ++i)
    if (accs[i] > accs[best]) best = i;
  return best;
}

std::vector<int64_t> spread_indices(int64_t size, int64_t n) {
  std::vector<int64_t> out;
  if (size <= 0) return out;
  n = std::min(n, size);
  for (int64_t i = 0; i < n; ++i) out.push_back(i * size / n);
  return out;
}

}  // namespace sn::train
