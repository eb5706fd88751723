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
  int64_t classes = 0;
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
    const Tensor y = c.forward(x);
    classes = y.size(1);
    const auto probs = softmax(y).to_vector();
    if (o.dump) {
      for (auto& t : inputs) kept_inputs.push_back(t);
      const auto l = y.to_vector();
      kept_logits.insert(kept_logits.end(), l.begin(), l.end());
    }
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
        doc["images"].push_back({{"path", path},
                                 {"index", top[0].index},
                                 {"name", name_of(top[0].index)},
                                 {"probability", top[0].probability},
                                 {"top" + std::to_string(o.top), ranked}});
      } else {
        std::printf("%s\n", path.c_str());
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
