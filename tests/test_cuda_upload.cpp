// [cuda] upload_batch (engine/upload.h): CPU batches to the GPU through the pinned
// staging ring (kernels/pinned.h), as the trainer and evaluator upload theirs.
#include <vector>

#include "engine/upload.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

TEST_CASE("upload_batch on the CPU is the tensor itself", "[upload]") {
  Tensor t = Tensor::zeros({2, 3});
  Tensor u = upload_batch(t, Device::CPU);
  CHECK(u.data() == t.data());
}

TEST_CASE("cuda upload_batch: same values as .to(CUDA), through the pinned ring, the source free at once",
          "[cuda][upload][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  Rng rng(91);
  const cuda::StagingStats s0 = cuda::staging_stats();
  // Several batches queued back to back without a sync: the two buffers are refilled
  // while earlier copies may still be in flight (each waits for its own last copy),
  // and they grow when a larger batch comes. The source tensor is overwritten right
  // after each upload: the device copy must hold the values it had at the call.
  const std::vector<Shape> shapes = {{4, 3, 8, 8}, {4, 3, 8, 8}, {2, 3, 8, 8}, {6, 3, 9, 9},
                                     {1, 5},       {6, 3, 9, 9}, {6, 3, 9, 9}};
  std::vector<Tensor> gpu;
  std::vector<std::vector<float>> want;
  for (const Shape& sh : shapes) {
    Tensor cpu = Tensor::randn(sh, rng);
    want.push_back(cpu.to_vector());
    gpu.push_back(upload_batch(cpu, Device::CUDA));
    float* p = cpu.data();
    for (int64_t i = 0; i < cpu.numel(); ++i) p[i] = -1e30f;  // the caller reuses its buffer at once
  }
  for (size_t k = 0; k < shapes.size(); ++k) {
    INFO("batch " << k);
    REQUIRE(gpu[k].is_cuda());
    CHECK(gpu[k].shape() == shapes[k]);
    CHECK(to_host(gpu[k]) == want[k]);
  }
  const cuda::StagingStats s1 = cuda::staging_stats();
  CHECK(s1.uploads == s0.uploads + int64_t(shapes.size()));
  CHECK(s1.buffer_bytes >= size_t(6 * 3 * 9 * 9) * sizeof(float));  // both buffers grew to the largest batch

  // A view (a slice of a batch, as the loader returns after skipping a bad file) uploads its own rows.
  Tensor batch = Tensor::randn({5, 7}, rng);
  Tensor part = batch.slice(1, 4);
  CHECK(to_host(upload_batch(part, Device::CUDA)) == part.to_vector());
#endif
}
