// loader.h — batches of transformed images, loaded by worker threads.
//
//   ImageFolder train = ImageFolder::scan("../shared/datasets/catanddog/train");
//   LoaderOptions o;  o.batch_size = 32;  o.shuffle = true;  o.num_workers = 4;  o.seed = 1;
//   DataLoader loader(train, train_transform, o);
//   for (int64_t epoch = 0; epoch < 13; ++epoch) {
//     loader.start_epoch(epoch);
//     Batch b;
//     while (loader.next(b)) { ... b.images (N, 3, 224, 224), b.labels ... }
//   }
//
// Determinism: the sample order of an epoch comes from (seed, epoch), and
// each sample's augmentation from its own Rng seeded with (seed, epoch,
// dataset index). Workers only decide *when* a sample is computed, never
// *what* it is, so the batches are bit-identical for any num_workers.
//
// Prefetch: workers run ahead of the consumer by up to `prefetch_batches`
// batches, in order, so the training loop finds the next batch ready when the
// workers keep up (stats().wait_seconds says how long it waited anyway).
//
// Cache: the leading non-random steps of the transform (e.g. Resize(256, 256))
// give the same image every epoch; their result is kept, up to `cache_bytes`
// in all, so later epochs skip reading, decoding and resizing. Without such
// steps the decoded image itself is cached. First come, first kept: once the
// budget is full, further images are simply not cached (for a data set read
// in a new order every epoch, evicting would only trade one miss for another).
//
// Bad files: by default the first file that cannot be read or decoded stops
// the epoch with an sn::Error naming the file and the reason, raised by
// next() when the batch holding it is reached (at the same batch for any
// num_workers). With skip_bad_files, the file is left out of its batch (so
// that batch is smaller), a warning is printed, and bad_files() lists them;
// the list is printed again at the end of the epoch.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/data/decode.h"
#include "engine/data/folder.h"
#include "engine/data/transforms.h"
#include "engine/tensor.h"

namespace sn::data {

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  bool drop_last = false;    // drop the last, smaller batch
  int num_workers = 0;       // 0: load in the calling thread, inside next()
  int prefetch_batches = 2;  // how many batches workers may prepare ahead
  uint64_t seed = 0;
  size_t cache_bytes = size_t(1) << 30;  // 0 disables the cache
  bool skip_bad_files = false;
  bool quiet = false;  // no warnings on stderr (bad_files() still lists them)
  DecodeOptions decode;
};

struct Batch {
  Tensor images;                   // (N, 3, H, W) float
  std::vector<int64_t> labels;     // N class indices
  std::vector<std::string> paths;  // N source files
  std::vector<int64_t> indices;    // N indices into the ImageFolder
  int64_t index = 0;               // batch number within the epoch
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct BadFile {
  std::string path;
  std::string reason;
};

struct LoaderStats {
  int64_t cache_hits = 0, cache_misses = 0, cache_entries = 0;
  size_t cache_bytes = 0;
  double wait_seconds = 0;  // time next() spent waiting for workers, since construction
  int64_t batches = 0;      // batches returned since construction
};

// Seed of sample `index` in `epoch` (a hash of the three): its augmentation stream.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

class DataLoader {
 public:
  DataLoader(ImageFolder data, Compose transform, LoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  const ImageFolder& dataset() const { return data_; }
  const LoaderOptions& options() const { return opt_; }
  int64_t num_batches() const;
  // The dataset indices of `epoch` in the order they are batched.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  // Starts (or restarts) an epoch; work of an unfinished previous epoch is dropped.
  void start_epoch(int64_t epoch);
  // The next batch of the epoch; false when the epoch is over.
  bool next(Batch& out);

  std::vector<BadFile> bad_files() const;  // sorted by path
  LoaderStats stats() const;

 private:
  struct Slot;       // one batch being assembled
  struct SampleOut;  // one transformed sample (or why it is missing)
  SampleOut load_sample(int64_t index, int64_t epoch, Tensor destination);
  void worker_loop();
  Tensor take_job(int64_t pos);  // opens the batch's slot; returns the sample's row if known
  void store_sample(std::unique_lock<std::mutex>& lk, int64_t pos, uint64_t gen, SampleOut out);
  Tensor batch_tensor(const Shape& shape);
  void finish_batch(Slot& slot);
  void report_bad_files();

  ImageFolder data_;
  Compose transform_;
  size_t prefix_;  // transform_.deterministic_prefix()
  LoaderOptions opt_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
  uint64_t generation_ = 0;  // bumped by start_epoch: results of older epochs are dropped
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
  int64_t next_job_ = 0;  // position in order_ of the next sample to load
  int64_t consumed_ = 0;  // batches returned by next() this epoch
  std::map<int64_t, std::unique_ptr<Slot>> slots_;
  Shape sample_shape_;        // (3, H, W) of the first sample: batches are allocated ahead with it
  std::vector<Tensor> pool_;  // batch tensors, reused once nobody else holds them

  // cache (guarded by mu_)
  std::vector<std::shared_ptr<const Image>> cache_;
  std::vector<std::string> bad_reason_;  // per dataset index; non-empty = known bad
  size_t cached_bytes_ = 0;
  LoaderStats stats_;
  size_t reported_bad_ = 0;
};

}  // namespace sn::data
