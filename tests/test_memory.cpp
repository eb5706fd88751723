// Resource bounds: a training loop's memory does not grow from epoch to epoch.
//
// Several epochs of the real pipeline on the CPU: DataLoader (2 worker
// threads, the deterministic-prefix cache, random augmentation) over 48
// photos of the cat/dog training set, a small conv net's forward and backward,
// Adam. Epoch 1 allocates what a run needs (the cache fills, the allocator
// grows its arenas, the optimizer creates its moments); after it, resident
// memory must stay flat: a leak of one batch per epoch (48 x 3 x 32 x 32
// floats = 576 KiB) or of one cached image per sample would show.
#include <cstdio>

#include "engine/data/loader.h"
#include "engine/memory_stats.h"
#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "tests/helpers.h"

using namespace sn;

#if defined(__SANITIZE_ADDRESS__)
#define SN_UNDER_ASAN 1  // AddressSanitizer keeps freed memory in quarantine: RSS is not meaningful
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SN_UNDER_ASAN 1
#endif
#endif

TEST_CASE("memory: resident memory does not grow per epoch after the first (CPU training loop)", "[memory]") {
#ifdef SN_UNDER_ASAN
  WARN("SKIPPED under AddressSanitizer: its quarantine holds freed memory, so RSS grows by design");
  return;
#endif
  CHECK(peak_rss_bytes() > 0);
  CHECK(current_rss_bytes() > 0);
  // 24 cats and 24 dogs.
  data::ImageFolder all = data::ImageFolder::scan(test::data_path("catanddog/train"));
  data::ImageFolder set = all;
  set.paths.clear(), set.labels.clear();
  for (size_t i = 0; i < 24; ++i) {
    set.paths.push_back(all.paths[i]), set.labels.push_back(all.labels[i]);
    set.paths.push_back(all.paths[all.size() - 1 - i]), set.labels.push_back(all.labels[all.size() - 1 - i]);
  }
  set.class_counts = {24, 24};
  data::Compose transform({std::make_shared<data::Resize>(48), std::make_shared<data::RandomResizedCrop>(32),
                           std::make_shared<data::RandomHorizontalFlip>(), std::make_shared<data::ToTensor>(),
                           std::make_shared<data::Normalize>(data::kImageNetMean, data::kImageNetStd)});
  data::LoaderOptions o;
  o.batch_size = 8;
  o.shuffle = true;
  o.num_workers = 2;
  o.seed = 3;
  data::DataLoader loader(set, transform, o);

  Rng rng(7);
  nn::Conv2d conv(3, 8, 3, 2, 1, true, rng);
  nn::Linear fc(8, 2, true, rng);
  std::vector<Tensor> params = conv.parameters();
  for (const auto& p : fc.parameters()) params.push_back(p);
  optim::Adam adam(params);

  const int epochs = 6;
  std::vector<int64_t> rss, peak;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    loader.start_epoch(epoch);
    data::Batch b;
    double loss_sum = 0;
    while (loader.next(b)) {
      Tensor x = relu(conv(b.images));                          // (N, 8, 16, 16)
      Tensor logits = fc(flatten(adaptive_avg_pool2d_1x1(x)));  // (N, 2)
      Tensor loss = cross_entropy(logits, b.labels);
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.item();
    }
    rss.push_back(current_rss_bytes());
    peak.push_back(peak_rss_bytes());
    std::printf("memory test: epoch %d loss %.4f rss %.1f MiB peak %.1f MiB\n", epoch + 1, loss_sum / 6,
                rss.back() / 1048576.0, peak.back() / 1048576.0);
  }
  // Tolerance: 2 MiB, under the 576 KiB-per-epoch leak above times the 5 later epochs
  // (2.8 MiB), and above the allocator's noise here (arena trimming moves RSS by
  // a few hundred KiB between epochs).
  const int64_t tol = 2 << 20;
  for (int e = 1; e < epochs; ++e) {
    INFO("epoch " << e + 1 << ": rss " << rss[e] << " vs " << rss[0] << " after epoch 1; peak " << peak[e] << " vs "
                  << peak[0]);
    CHECK(rss[e] - rss[0] <= tol);
    CHECK(peak[e] - peak[0] <= tol);
  }
}
