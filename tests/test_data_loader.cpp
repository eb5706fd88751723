// DataLoader: batches independent of the worker count, shuffling per epoch,
// the decoded-image cache, restarting an epoch, and bad files (stop with the
// file's name by default, or skip and list them).
#include <filesystem>
#include <set>

#include "engine/data/loader.h"
#include "engine/io/atomic_file.h"
#include "tests/data_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::data;
using namespace sn::test;
namespace fs = std::filesystem;

namespace {

// The first `per_class` images of each class of the training set: enough to
// cover JPEG, progressive JPEG and BMP files, small enough to be quick.
ImageFolder small_train_set(int per_class) {
  const ImageFolder all = ImageFolder::scan(data_path("catanddog/train"));
  ImageFolder f;
  f.root = all.root;
  f.classes = all.classes;
  f.class_counts.assign(all.classes.size(), 0);
  for (size_t i = 0; i < all.size(); ++i) {
    if (f.class_counts[all.labels[i]] >= per_class) continue;
    f.paths.push_back(all.paths[i]);
    f.labels.push_back(all.labels[i]);
    ++f.class_counts[all.labels[i]];
  }
  return f;
}

Compose train_transform() {
  return Compose({std::make_shared<Resize>(48, 48), std::make_shared<RandomResizedCrop>(32),
                  std::make_shared<RandomHorizontalFlip>(), std::make_shared<ToTensor>(),
                  std::make_shared<Normalize>(kImageNetMean, kImageNetStd)});
}

struct Epoch {
  std::vector<std::vector<float>> images;
  std::vector<std::vector<int64_t>> labels, indices;
  std::vector<std::vector<std::string>> paths;
};

Epoch run_epoch(DataLoader& loader, int64_t epoch) {
  Epoch e;
  loader.start_epoch(epoch);
  Batch b;
  int64_t expect_index = 0;
  while (loader.next(b)) {
    CHECK(b.index == expect_index++);
    CHECK(b.images.shape()[0] == b.size());
    e.images.push_back(b.images.to_vector());
    e.labels.push_back(b.labels);
    e.indices.push_back(b.indices);
    e.paths.push_back(b.paths);
  }
  return e;
}

}  // namespace

TEST_CASE("loader: the batches depend on the seed, not on the number of workers", "[data][loader]") {
  const ImageFolder data = small_train_set(9);  // 18 images: batches of 4, 4, 4, 4, 2
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = true;
  o.seed = 42;
  std::vector<std::array<Epoch, 2>> runs;
  for (int workers : {0, 1, 3}) {
    for (int prefetch : {1, 3}) {
      o.num_workers = workers;
      o.prefetch_batches = prefetch;
      DataLoader loader(data, train_transform(), o);
      runs.push_back({run_epoch(loader, 0), run_epoch(loader, 1)});
    }
  }
  const Epoch& e0 = runs[0][0];
  REQUIRE(e0.labels.size() == 5);
  CHECK(e0.labels.back().size() == 2);
  for (size_t r = 1; r < runs.size(); ++r) {
    INFO("run " << r);
    for (int ep = 0; ep < 2; ++ep) {
      CHECK(runs[r][ep].indices == runs[0][ep].indices);
      CHECK(runs[r][ep].images == runs[0][ep].images);  // bit-identical
      CHECK(runs[r][ep].labels == runs[0][ep].labels);
    }
  }
  // Each epoch is a permutation of all samples; epochs differ; labels follow the files.
  std::multiset<int64_t> seen;
  for (const auto& b : e0.indices) seen.insert(b.begin(), b.end());
  CHECK(seen.size() == 18);
  CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 18);
  CHECK(runs[0][0].indices != runs[0][1].indices);
  CHECK(e0.labels[0][0] == data.labels[e0.indices[0][0]]);
  CHECK(e0.paths[0][0] == data.paths[e0.indices[0][0]]);
  // Another seed, other batches.
  o.seed = 43;
  o.num_workers = 0;
  DataLoader other(data, train_transform(), o);
  CHECK(run_epoch(other, 0).indices != e0.indices);
}

TEST_CASE("loader: no shuffle keeps folder order, drop_last drops the short batch", "[data][loader]") {
  const ImageFolder data = small_train_set(5);
  LoaderOptions o;
  o.batch_size = 4;
  o.drop_last = true;
  o.num_workers = 2;
  DataLoader loader(data, train_transform(), o);
  CHECK(loader.num_batches() == 2);
  const Epoch e = run_epoch(loader, 0);
  REQUIRE(e.indices.size() == 2);
  CHECK(e.indices[0] == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(e.indices[1] == std::vector<int64_t>{4, 5, 6, 7});
}

TEST_CASE("loader: the cache skips decoding in later epochs and changes nothing", "[data][loader][cache]") {
  const ImageFolder data = small_train_set(4);
  LoaderOptions o;
  o.batch_size = 3;
  o.shuffle = true;
  o.num_workers = 2;
  o.cache_bytes = 0;
  DataLoader uncached(data, train_transform(), o);
  o.cache_bytes = size_t(1) << 30;
  DataLoader cached(data, train_transform(), o);
  for (int ep = 0; ep < 3; ++ep) CHECK(run_epoch(cached, ep).images == run_epoch(uncached, ep).images);
  const LoaderStats s = cached.stats();
  CHECK(s.cache_misses == 8);  // the first epoch decodes each file once...
  CHECK(s.cache_hits == 16);   // ...the next two read the 48x48 resized images
  CHECK(s.cache_entries == 8);
  CHECK(s.cache_bytes == 8 * 48 * 48 * 3);
  CHECK(uncached.stats().cache_hits == 0);
  // The memory limit: room for 3 resized images, the rest is decoded every time.
  o.cache_bytes = 3 * 48 * 48 * 3;
  DataLoader limited(data, train_transform(), o);
  run_epoch(limited, 0);
  run_epoch(limited, 1);
  CHECK(limited.stats().cache_entries == 3);
  CHECK(limited.stats().cache_hits == 3);
  CHECK(limited.stats().cache_bytes <= o.cache_bytes);
}

TEST_CASE("loader: restarting an epoch drops the unfinished one", "[data][loader]") {
  const ImageFolder data = small_train_set(6);
  LoaderOptions o;
  o.batch_size = 2;
  o.shuffle = true;
  o.num_workers = 3;
  o.prefetch_batches = 4;
  DataLoader a(data, train_transform(), o), b(data, train_transform(), o);
  a.start_epoch(0);
  Batch first;
  REQUIRE(a.next(first));
  const Epoch restarted = run_epoch(a, 1);
  CHECK(restarted.images == run_epoch(b, 1).images);
}

namespace {
// A class folder with good images and the bad kinds of files of issue 4, in
// its own directory per test (CTest runs test cases in parallel).
std::string folder_with_bad_files(const std::string& name) {
  const std::string root = scratch_dir(name);
  fs::create_directories(root + "/Cat");
  fs::create_directories(root + "/Dog");
  const auto jpeg = io::read_file(data_path("catanddog/train/Cat/0.jpg"));
  const auto bmp = io::read_file(data_path("catanddog/train/Cat/23.jpg"));
  write_bytes(root + "/Cat/a_good.jpg", jpeg);
  write_bytes(root + "/Cat/b_truncated.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  write_bytes(root + "/Cat/c_good.jpg", bmp);
  write_bytes(root + "/Dog/a_zero.jpg", {});
  write_bytes(root + "/Dog/b_good.jpg", jpeg);
  const std::string text = "not an image";
  write_bytes(root + "/Dog/c_text.jpg", std::vector<uint8_t>(text.begin(), text.end()));
  return root;
}
}  // namespace

TEST_CASE("loader: a bad file stops the epoch with its name, at the same batch for any worker count",
          "[data][loader][bad]") {
  const std::string root = folder_with_bad_files("loader_bad_stop");
  const ImageFolder data = ImageFolder::scan(root);
  REQUIRE(data.size() == 6);
  for (int workers : {0, 2}) {
    LoaderOptions o;
    o.batch_size = 2;  // batch 0: a_good, b_truncated -> the error
    o.num_workers = workers;
    DataLoader loader(data, train_transform(), o);
    loader.start_epoch(0);
    Batch b;
    INFO("workers " << workers);
    CHECK_THROWS_WITH(loader.next(b),
                      Catch::Contains(root + "/Cat/b_truncated.jpg") && Catch::Contains("corrupt or truncated"));
  }
}

TEST_CASE("loader: skip_bad_files leaves bad files out, warns, and lists them", "[data][loader][bad]") {
  const std::string root = folder_with_bad_files("loader_bad_skip");
  const ImageFolder data = ImageFolder::scan(root);
  LoaderOptions o;
  o.batch_size = 4;
  o.num_workers = 2;
  o.skip_bad_files = true;
  o.quiet = true;  // keep the test log clean; the warnings go to stderr otherwise
  DataLoader loader(data, train_transform(), o);
  for (int ep = 0; ep < 2; ++ep) {
    const Epoch e = run_epoch(loader, ep);
    REQUIRE(e.paths.size() == 2);
    CHECK(e.paths[0] == std::vector<std::string>{root + "/Cat/a_good.jpg", root + "/Cat/c_good.jpg"});
    CHECK(e.paths[1] == std::vector<std::string>{root + "/Dog/b_good.jpg"});
    CHECK(e.labels[1] == std::vector<int64_t>{1});
    CHECK(e.images[0].size() == 2 * 3 * 32 * 32);  // the batch shrank to the good files
  }
  const auto bad = loader.bad_files();
  REQUIRE(bad.size() == 3);
  CHECK(bad[0].path == root + "/Cat/b_truncated.jpg");
  CHECK(bad[0].reason.find("corrupt or truncated") != std::string::npos);
  CHECK(bad[1].reason.find("empty file (0 bytes)") != std::string::npos);
  CHECK(bad[2].reason.find(root + "/Dog/c_text.jpg: not an image") != std::string::npos);
  CHECK(loader.stats().cache_misses == 6);  // bad files are not decoded again in epoch 2
}

TEST_CASE("loader: images of different sizes without a fixed-size transform are an error naming the file",
          "[data][loader][bad]") {
  const ImageFolder data = small_train_set(3);
  LoaderOptions o;
  o.batch_size = 6;
  DataLoader loader(data, Compose({std::make_shared<Resize>(20), std::make_shared<ToTensor>()}), o);
  loader.start_epoch(0);
  Batch b;
  CHECK_THROWS_WITH(loader.next(b), Catch::Contains("catanddog/train/") && Catch::Contains("fixed size"));
}

TEST_CASE("loader: a batch the caller keeps is never reused for later batches", "[data][loader]") {
  // Batch tensors come from a pool and are reused only when nobody holds them.
  const ImageFolder data = small_train_set(6);
  LoaderOptions o;
  o.batch_size = 3;
  o.shuffle = true;
  o.num_workers = 2;
  DataLoader loader(data, train_transform(), o);
  std::vector<Batch> kept;
  std::vector<std::vector<float>> copies;
  for (int ep = 0; ep < 3; ++ep) {
    loader.start_epoch(ep);
    Batch b;
    while (loader.next(b)) {
      kept.push_back(b);
      copies.push_back(b.images.to_vector());
    }
  }
  REQUIRE(kept.size() == 12);
  for (size_t i = 0; i < kept.size(); ++i) CHECK(kept[i].images.to_vector() == copies[i]);
  CHECK(kept[0].images.data() != kept[4].images.data());
}
