#include "tools/scratchnet/classify.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "engine/autograd.h"
#include "engine/data/decode.h"
#include "engine/ops.h"

namespace sn::cli {

namespace {

struct Ranked {
  int64_t index;
  float probability;
};

// The k most probable classes of one row; ties go to the lower index.
std::vector<Ranked> top_k(const float* p, int64_t classes, int k) {
  std::vector<Ranked> all(static_cast<size_t>(classes));
  for (int64_t i = 0; i < classes; ++i) all[i] = {i, p[i]};
  k = static_cast<int>(std::min<int64_t>(k, classes));
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const Ranked& a, const Ranked& b) {
    return a.probability != b.probability ? a.probability > b.probability : a.index < b.index;
  });
  all.resize(static_cast<size_t>(k));
  return all;
}

// The rows of y (N, classes) whose two largest logits differ by less than `margin`.
std::vector<int64_t> near_ties(const Tensor& y, float margin) {
  const int64_t n = y.size(0), classes = y.size(1);
  const auto v = y.to(Device::CPU).to_vector();
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n && classes > 1; ++i) {
    const float* row = v.data() + i * classes;
    float first = row[0] > row[1] ? row[0] : row[1], second = row[0] > row[1] ? row[1] : row[0];
    for (int64_t j = 2; j < classes; ++j)
      if (row[j] > first)
        second = first, first = row[j];
      else if (row[j] > second)
        second = row[j];
    if (first - second < margin) rows.push_back(i);
  }
  return rows;
}

}  // namespace

int classify_images(const Classifier& c, const std::vector<std::string>& images, const ClassifyOptions& o) {
  auto name_of = [&](int64_t i) {
    return i < static_cast<int64_t>(c.labels.size()) ? c.labels[i] : "class " + std::to_string(i);
  };
  nlohmann::json doc = c.header;
  doc["images"] = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  if (!o.json && !c.text_header.empty()) std::printf("%s\n", c.text_header.c_str());

  std::vector<Tensor> kept_inputs;  // --dump only
  std::vector<float> kept_logits;
  int64_t classes = 0, n_rechecked = 0, n_classified = 0;
  Rng unused(0);  // the evaluation pipeline draws no random numbers
  NoGradGuard no_grad;
  for (size_t b = 0; b < images.size(); b += static_cast<size_t>(o.batch)) {
    const size_t end = std::min(images.size(), b + static_cast<size_t>(o.batch));
    std::vector<size_t> ok;
    std::vector<Tensor> inputs;
    for (size_t i = b; i < end; ++i) {
      try {
        inputs.push_back(c.transform(data::load_image(images[i]), unused));
        ok.push_back(i);
      } catch (const std::exception& e) {  // named, and the others are still classified
        std::fprintf(stderr, "scratchnet: error: %s\n", e.what());
        std::fflush(stderr);
        failed.push_back({{"path", images[i]}, {"error", e.what()}});
      }
    }
    if (ok.empty()) continue;
    const Shape& s = inputs[0].shape();  // (3, crop, crop)
    Tensor x = Tensor::empty({static_cast<int64_t>(ok.size()), s[0], s[1], s[2]});
    for (size_t i = 0; i < ok.size(); ++i) x.slice(i, i + 1).copy_(inputs[i]);
    Tensor y = c.forward(x).to(Device::CPU);
    classes = y.size(1);
    std::vector<bool> rechecked(ok.size(), false);
    if (c.recheck) {
      const std::vector<int64_t> rows = near_ties(y, c.recheck_margin);
      if (!rows.empty()) {
        Tensor xr = Tensor::empty({static_cast<int64_t>(rows.size()), s[0], s[1], s[2]});
        for (size_t i = 0; i < rows.size(); ++i) xr.slice(i, i + 1).copy_(x.slice(rows[i], rows[i] + 1));
        const Tensor yr = c.recheck(xr).to(Device::CPU);
        for (size_t i = 0; i < rows.size(); ++i) {
          y.slice(rows[i], rows[i] + 1).copy_(yr.slice(i, i + 1));
          rechecked[size_t(rows[i])] = true;
        }
        n_rechecked += static_cast<int64_t>(rows.size());
      }
    }
    const auto probs = softmax(y).to_vector();
    if (o.dump) {
      for (auto& t : inputs) kept_inputs.push_back(t);
      const auto l = y.to_vector();
      kept_logits.insert(kept_logits.end(), l.begin(), l.end());
    }
    n_classified += static_cast<int64_t>(ok.size());
    for (size_t i = 0; i < ok.size(); ++i) {
      const auto top = top_k(probs.data() + i * classes, classes, o.top);
      const std::string& path = images[ok[i]];
      if (o.json) {
        nlohmann::json ranked = nlohmann::json::array();
        for (size_t r = 0; r < top.size(); ++r)
          ranked.push_back({{"rank", r + 1},
                            {"index", top[r].index},
                            {"name", name_of(top[r].index)},
                            {"probability", top[r].probability}});
        nlohmann::json entry = {{"path", path},
                                {"index", top[0].index},
                                {"name", name_of(top[0].index)},
                                {"probability", top[0].probability},
                                {"top" + std::to_string(o.top), ranked}};
        if (c.recheck) entry["near_tie_float32"] = bool(rechecked[i]);
        doc["images"].push_back(entry);
      } else {
        std::printf("%s%s\n", path.c_str(), rechecked[i] ? "  (near-tie in bfloat16: classified in float32)" : "");
        for (size_t r = 0; r < top.size(); ++r)
          std::printf("  %zu. %4lld  %-30s %.4f\n", r + 1, static_cast<long long>(top[r].index),
                      name_of(top[r].index).c_str(), top[r].probability);
      }
    }
    std::fflush(stdout);
  }

  if (o.dump && !kept_inputs.empty()) {
    const Shape& s = kept_inputs[0].shape();
    const auto n = static_cast<int64_t>(kept_inputs.size());
    Tensor all = Tensor::empty({n, s[0], s[1], s[2]});
    for (int64_t i = 0; i < n; ++i) all.slice(i, i + 1).copy_(kept_inputs[i]);
    o.dump(all, Tensor::from_vector(kept_logits, {n, classes}));
  }
  if (c.recheck)
    std::fprintf(stderr,
                 "scratchnet: %lld of %lld images were near-ties in bfloat16 (two best logits within %.3g) "
                 "and were classified again in float32\n",
                 static_cast<long long>(n_rechecked), static_cast<long long>(n_classified), c.recheck_margin);
  if (o.json) {
    doc["failed"] = failed;
    std::printf("%s\n", doc.dump(2).c_str());
  }
  if (!failed.empty()) {
    std::fprintf(stderr, "scratchnet: %zu of %zu images could not be classified (named above)\n", failed.size(),
                 images.size());
    return 2;
  }
  return 0;
}

}  // namespace sn::cli
