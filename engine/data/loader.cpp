#include "engine/data/loader.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "engine/check.h"

namespace sn::data {

// ---- seeds ---------------------------------------------------------------------------

static uint64_t mix64(uint64_t z) {  // splitmix64's finalizer: a good 64-bit hash
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return mix64(mix64(mix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

static constexpr int64_t kShuffleStream = -1;  // the "sample index" whose stream shuffles an epoch

// ---- the pieces of a batch -------------------------------------------------------------

struct DataLoader::SampleOut {
  Tensor tensor;             // (3, H, W) when the sample is good
  std::string bad_reason;    // non-empty: skipped bad file
  std::exception_ptr error;  // set: the epoch stops here
};

// A batch being filled: positions [begin, end) of the epoch order. Workers
// copy their samples into `images` (allocated by the first one, which fixes
// H and W); the last one to finish makes the Batch.
struct DataLoader::Slot {
  int64_t batch = 0, begin = 0, end = 0;
  Tensor images;
  std::vector<char> good;    // per position: sample present (not skipped)
  std::exception_ptr error;  // first error, by position
  int64_t error_pos = INT64_MAX;
  int64_t done = 0;
  bool ready = false;
  Batch out;
};

// ---- construction ---------------------------------------------------------------------

DataLoader::DataLoader(ImageFolder data, Compose transform, LoaderOptions options)
    : data_(std::move(data)),
      transform_(std::move(transform)),
      prefix_(transform_.deterministic_prefix()),
      opt_(options) {
  SN_CHECK(opt_.batch_size > 0, "DataLoader: batch_size must be positive, got ", opt_.batch_size);
  SN_CHECK(opt_.num_workers >= 0, "DataLoader: num_workers must be >= 0, got ", opt_.num_workers);
  SN_CHECK(opt_.prefetch_batches >= 1, "DataLoader: prefetch_batches must be >= 1, got ", opt_.prefetch_batches);
  SN_CHECK(data_.size() > 0, "DataLoader: the data set ", data_.root, " is empty");
  SN_CHECK(data_.labels.size() == data_.paths.size(), "DataLoader: ", data_.paths.size(), " paths but ",
           data_.labels.size(), " labels");
  cache_.resize(data_.size());
  bad_reason_.resize(data_.size());
  for (int i = 0; i < opt_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t DataLoader::num_batches() const {
  const int64_t n = static_cast<int64_t>(data_.size()), bs = opt_.batch_size;
  return opt_.drop_last ? n / bs : (n + bs - 1) / bs;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(data_.size());
  std::iota(order.begin(), order.end(), 0);
  if (opt_.shuffle) {  // Fisher-Yates with the epoch's own stream
    Rng rng(sample_seed(opt_.seed, epoch, kShuffleStream));
    for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) std::swap(order[i], order[rng.randint(0, i)]);
  }
  return order;
}

void DataLoader::start_epoch(int64_t epoch) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++generation_;
    epoch_ = epoch;
    order_ = epoch_order(epoch);
    order_.resize(static_cast<size_t>(std::min<int64_t>(num_batches() * opt_.batch_size, order_.size())));
    next_job_ = 0;
    consumed_ = 0;
    slots_.clear();
  }
  work_cv_.notify_all();
}

// ---- one sample: cache or decode, then the transforms -------------------------------------

DataLoader::SampleOut DataLoader::load_sample(int64_t index, int64_t epoch, Tensor destination) {
  SampleOut out;
  const std::string& path = data_.paths[index];
  std::shared_ptr<const Image> cached;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!bad_reason_[index].empty()) {  // skipped before: do not decode it again
      out.bad_reason = bad_reason_[index];
      return out;
    }
    cached = cache_[index];
    ++(cached ? stats_.cache_hits : stats_.cache_misses);
  }
  Rng rng(sample_seed(opt_.seed, epoch, index));
  Sample s;
  s.destination = std::move(destination);  // ToTensor writes straight into the batch
  try {
    if (cached) {
      s.image = *cached;
    } else {
      try {
        s.image = load_image(path, opt_.decode);
      } catch (const Error& e) {
        if (!opt_.skip_bad_files) throw;
        out.bad_reason = e.what();
        std::lock_guard<std::mutex> lk(mu_);
        bad_reason_[index] = out.bad_reason;
        if (!opt_.quiet) std::fprintf(stderr, "warning: skipping bad image: %s\n", e.what());
        return out;
      }
      transform_.apply(s, rng, 0, prefix_);  // deterministic steps: no random draws
      if (opt_.cache_bytes > 0) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!cache_[index] && cached_bytes_ + s.image.bytes() <= opt_.cache_bytes) {
          cache_[index] = std::make_shared<const Image>(s.image);
          cached_bytes_ += s.image.bytes();
          ++stats_.cache_entries;
        }
      }
    }
    transform_.apply(s, rng, prefix_);
    SN_CHECK(s.is_tensor(), "the transform ", transform_.describe(), " does not end with ToTensor()");
    out.tensor = s.tensor;
  } catch (const Error& e) {
    const std::string msg = e.what();
    // Decoder messages already start with the path; others get it in front.
    out.error = same_kind(e, msg.rfind(path, 0) == 0 ? msg : path + ": " + msg);  // a bad image stays a UserError
  } catch (...) {
    out.error = std::current_exception();
  }
  return out;
}

// ---- workers ------------------------------------------------------------------------------

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    // A job: the next sample of the order, if its batch is inside the prefetch window.
    work_cv_.wait(lk, [&] {
      return stop_ || (next_job_ < static_cast<int64_t>(order_.size()) &&
                       next_job_ / opt_.batch_size < consumed_ + opt_.prefetch_batches);
    });
    if (stop_) return;
    const int64_t pos = next_job_++;
    const uint64_t gen = generation_;
    const int64_t epoch = epoch_, index = order_[pos];
    Tensor row = take_job(pos);
    lk.unlock();
    SampleOut out = load_sample(index, epoch, std::move(row));
    lk.lock();
    if (gen != generation_) continue;  // start_epoch() was called meanwhile: drop it
    store_sample(lk, pos, gen, std::move(out));
  }
}

// Under mu_: the slot of sample pos's batch, opened (and its batch tensor
// allocated, once the sample shape is known) by the batch's first job.
Tensor DataLoader::take_job(int64_t pos) {
  const int64_t bs = opt_.batch_size;
  auto& slot = slots_[pos / bs];
  if (!slot) {
    slot = std::make_unique<Slot>();
    slot->batch = pos / bs;
    slot->begin = slot->batch * bs;
    slot->end = std::min<int64_t>(slot->begin + bs, order_.size());
    slot->good.assign(slot->end - slot->begin, 0);
    if (!sample_shape_.empty()) {
      const Shape& s = sample_shape_;
      slot->images = batch_tensor({slot->end - slot->begin, s[0], s[1], s[2]});
    }
  }
  if (!slot->images.defined()) return Tensor();
  const int64_t k = pos - slot->begin;
  return slot->images.slice(k, k + 1).view(sample_shape_);
}

// Under mu_: a batch tensor of this shape, from the pool if one is free (no
// handle or view of it outside the pool), else new. Reusing them avoids
// page-faulting fresh memory for every batch.
Tensor DataLoader::batch_tensor(const Shape& shape) {
  for (const Tensor& t : pool_)
    if (t.shape() == shape && t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1) return t;
  Tensor t = Tensor::empty(shape);
  if (pool_.size() < static_cast<size_t>(opt_.prefetch_batches) + 4) pool_.push_back(t);
  return t;
}

// Under mu_ (held by lk): puts sample `pos` of the epoch order into its
// batch's slot. Samples that did not go straight into the batch (the first
// ones) are copied with the lock released, so workers fill rows in parallel;
// the last sample of a batch completes it.
void DataLoader::store_sample(std::unique_lock<std::mutex>& lk, int64_t pos, uint64_t gen, SampleOut out) {
  const int64_t bs = opt_.batch_size;
  auto& slot_ptr = slots_[pos / bs];
  Slot* slot = slot_ptr.get();
  const int64_t k = pos - slot->begin;
  if (out.tensor.defined()) {
    const Shape& sh = out.tensor.shape();  // (3, H, W)
    if (sample_shape_.empty()) sample_shape_ = sh;
    if (!slot->images.defined()) slot->images = batch_tensor({slot->end - slot->begin, sh[0], sh[1], sh[2]});
    const Shape& bsh = slot->images.shape();
    if (sh[0] != bsh[1] || sh[1] != bsh[2] || sh[2] != bsh[3]) {
      out.error = std::make_exception_ptr(
          Error(data_.paths[order_[pos]] + ": transformed to " + to_string(sh) + " but other images of the batch to " +
                to_string(Shape(bsh.begin() + 1, bsh.end())) +
                ": the transform must end with a fixed size (Resize((h, w)), CenterCrop or RandomResizedCrop)"));
    } else if (out.tensor.data() == slot->images.data() + k * out.tensor.numel()) {
      slot->good[k] = 1;  // ToTensor wrote it in place
    } else {
      Tensor images = slot->images;  // keeps the storage alive even if start_epoch() drops the slot
      lk.unlock();
      std::memcpy(images.data() + k * out.tensor.numel(), out.tensor.data(), out.tensor.nbytes());
      lk.lock();
      if (gen != generation_) return;  // the slot is gone
      slot->good[k] = 1;
    }
  }
  if (out.error && pos < slot->error_pos) {  // report the first bad sample of the batch
    slot->error = out.error;
    slot->error_pos = pos;
  }
  if (++slot->done == slot->end - slot->begin) {
    finish_batch(*slot);
    ready_cv_.notify_all();
  }
}

// Under mu_: turns a complete slot into a Batch, leaving out skipped files.
void DataLoader::finish_batch(Slot& slot) {
  Batch& b = slot.out;
  b.index = slot.batch;
  const int64_t n = slot.end - slot.begin;
  int64_t kept = 0;
  const int64_t per_sample = slot.images.defined() ? slot.images.numel() / n : 0;
  for (int64_t k = 0; k < n; ++k) {
    if (!slot.good[k]) continue;
    const int64_t index = order_[slot.begin + k];
    if (kept != k)  // close the gap left by a skipped file
      std::memmove(slot.images.data() + kept * per_sample, slot.images.data() + k * per_sample,
                   per_sample * sizeof(float));
    b.indices.push_back(index);
    b.labels.push_back(data_.labels[index]);
    b.paths.push_back(data_.paths[index]);
    ++kept;
  }
  if (slot.images.defined()) {
    const Shape& s = slot.images.shape();
    b.images = kept == n ? slot.images : slot.images.slice(0, kept);
    if (kept == 0) b.images = Tensor::empty({0, s[1], s[2], s[3]});
  }
  slot.ready = true;
}

bool DataLoader::next(Batch& out) {
  std::unique_lock<std::mutex> lk(mu_);
  SN_CHECK(epoch_ >= 0, "DataLoader::next: call start_epoch(epoch) first");
  const int64_t bs = opt_.batch_size;
  for (;;) {
    if (consumed_ >= num_batches()) {
      lk.unlock();
      report_bad_files();
      return false;
    }
    if (workers_.empty()) {
      // No workers: load this batch's samples here, through the same code path.
      const int64_t end = std::min<int64_t>((consumed_ + 1) * bs, order_.size());
      while (next_job_ < end) {
        const int64_t pos = next_job_++;
        Tensor row = take_job(pos);
        lk.unlock();
        SampleOut s = load_sample(order_[pos], epoch_, std::move(row));
        lk.lock();
        store_sample(lk, pos, generation_, std::move(s));
      }
    }
    // Wait for the batch to be complete.
    const auto t0 = std::chrono::steady_clock::now();
    ready_cv_.wait(lk, [&] {
      auto it = slots_.find(consumed_);
      return stop_ || (it != slots_.end() && it->second->ready);
    });
    stats_.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    SN_CHECK(!stop_, "DataLoader::next: the loader is shutting down");
    std::unique_ptr<Slot> slot = std::move(slots_[consumed_]);
    slots_.erase(consumed_);
    ++consumed_;
    lk.unlock();
    work_cv_.notify_all();  // the prefetch window moved
    if (slot->error) std::rethrow_exception(slot->error);
    lk.lock();
    if (slot->out.labels.empty()) continue;  // every file of this batch was bad: go on to the next
    ++stats_.batches;
    out = std::move(slot->out);
    return true;
  }
}

void DataLoader::report_bad_files() {
  const std::vector<BadFile> bad = bad_files();
  if (bad.size() <= reported_bad_ || opt_.quiet) return;
  std::fprintf(stderr, "warning: %zu bad image file(s) were skipped:\n", bad.size());
  for (const auto& b : bad) std::fprintf(stderr, "  %s\n", b.reason.c_str());
  reported_bad_ = bad.size();
}

std::vector<BadFile> DataLoader::bad_files() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<BadFile> bad;
  for (size_t i = 0; i < bad_reason_.size(); ++i)
    if (!bad_reason_[i].empty()) bad.push_back({data_.paths[i], bad_reason_[i]});
  std::sort(bad.begin(), bad.end(), [](const BadFile& a, const BadFile& b) { return a.path < b.path; });
  return bad;
}

LoaderStats DataLoader::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  LoaderStats s = stats_;
  s.cache_bytes = cached_bytes_;
  return s;
}

}  // namespace sn::data
