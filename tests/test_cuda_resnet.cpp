// [cuda] whole models on the GPU against the CPU: ResNet-18 and ResNet-50
// forward (eval and train mode), and one full training step (forward, cross
// entropy, backward, Adam) of a ResNet-18, for both GPU backends.
//
// Tolerances: ~50 layers of float32 convolutions and batch norms, each within
// ~1e-6 of the CPU, compound to ~1e-5 in the logits; 1e-4 (rel. L2 per tensor)
// leaves margin while any wrong kernel gives O(1). Batch norm in training mode
// divides by the batch standard deviation, which amplifies differences in
// gradients a little more; the same 1e-4 holds there.
#include "engine/autograd.h"
#include "engine/backend_config.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "models/resnet.h"
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

#if SCRATCHNET_CUDA
namespace {

// Two copies of one randomly initialised model: one stays on the CPU, one goes to the GPU.
struct Pair {
  std::shared_ptr<models::ResNet> cpu, gpu;
};
Pair make_pair(const std::string& arch, int width, int classes, uint64_t seed) {
  models::ResNetConfig cfg;
  cfg.arch = arch;
  cfg.width = width;
  cfg.num_classes = classes;
  Rng r1(seed), r2(seed);
  Pair p{std::make_shared<models::ResNet>(cfg, r1), std::make_shared<models::ResNet>(cfg, r2)};
  p.gpu->to(Device::CUDA);
  return p;
}

void check_forward(const std::string& arch, ConvBackend backend, bool training) {
  backend_config().conv = backend;
  backend_config().tf32 = false;
  Pair m = make_pair(arch, 64, 10, 7);
  m.cpu->train(training);
  m.gpu->train(training);
  Rng rng(8);
  // 128x128: layer4 is 4x4, so training-mode batch norm there still averages
  // N*H*W = 32 values (fewer make its normalization ill-conditioned).
  Tensor x = Tensor::randn({2, 3, 128, 128}, rng);
  NoGradGuard no_grad;
  const auto want = m.cpu->forward(x).to_vector();
  const auto got = to_host(m.gpu->forward(x.to(Device::CUDA)));
  INFO(arch << " backend " << to_string(backend) << (training ? " train" : " eval"));
  CHECK(rel_l2_error(got, want) < 1e-4);
  if (training) {  // the running statistics moved the same way
    const auto cb = m.cpu->named_buffers(), gb = m.gpu->named_buffers();
    REQUIRE(cb.size() == gb.size());
    for (size_t i = 0; i < cb.size(); ++i) {
      INFO(cb[i].first);
      CHECK(rel_l2_error(to_host(gb[i].second), cb[i].second.to_vector()) < 1e-4);
    }
  }
}

}  // namespace
#endif

TEST_CASE("cuda ResNet-18 and ResNet-50 forward equal the CPU (eval and train mode, both backends)",
          "[cuda][resnet][cudnn]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  for (const char* arch : {"resnet18", "resnet50"})
    for (ConvBackend b : {ConvBackend::Cudnn, ConvBackend::Native})
      for (bool training : {false, true}) check_forward(arch, b, training);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

TEST_CASE("cuda ResNet-18 forward with our kernels equals the CPU (eval and train mode)", "[cuda][resnet]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  // The native-only half of the test above: runs on tools/cudasim too.
  for (bool training : {false, true}) check_forward("resnet18", ConvBackend::Native, training);
  backend_config().conv = ConvBackend::Cudnn;
#endif
}

TEST_CASE("cuda full training step of a ResNet-18 equals the CPU: loss, every gradient, Adam update",
          "[cuda][resnet][train]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  for (ConvBackend backend : {ConvBackend::Native, ConvBackend::Cudnn}) {
#if SCRATCHNET_CUDASIM
    if (backend == ConvBackend::Cudnn) continue;  // no cuDNN on the emulator
#endif
    backend_config().conv = backend;
    Pair m = make_pair("resnet18", 16, 2, 9);  // width 16: small enough for the CPU side to be quick
    m.cpu->train();
    m.gpu->train();
    Rng rng(10);
    Tensor x = Tensor::randn({8, 3, 64, 64}, rng);  // layer4 2x2: 32 values per batch-norm channel
    const std::vector<int64_t> labels{0, 1, 1, 0, 1, 0, 0, 1};
    optim::Adam opt_cpu(m.cpu->parameters()), opt_gpu(m.gpu->parameters());

    Tensor loss_cpu = cross_entropy(m.cpu->forward(x), labels);
    Tensor loss_gpu = cross_entropy(m.gpu->forward(x.to(Device::CUDA)), labels);
    loss_cpu.backward();
    loss_gpu.backward();
    INFO("backend " << to_string(backend));
    CHECK(std::abs(loss_gpu.item() - loss_cpu.item()) < 1e-4 * std::abs(loss_cpu.item()));
    const auto pc = m.cpu->named_parameters(), pg = m.gpu->named_parameters();
    REQUIRE(pc.size() == pg.size());
    for (size_t i = 0; i < pc.size(); ++i) {
      INFO(pc[i].first);
      REQUIRE(pg[i].second.grad().defined());
      CHECK(rel_l2_error(to_host(pg[i].second.grad()), pc[i].second.grad().to_vector()) < 1e-4);
    }
    opt_cpu.step();
    opt_gpu.step();
    // Adam's first step moves every weight by +-lr whatever its gradient's size,
    // so a gradient within rounding of 0 may move either way on the two devices:
    // compare all weights together (one such flip is 2*lr against a norm of ~80).
    std::vector<float> all_cpu, all_gpu;
    for (size_t i = 0; i < pc.size(); ++i) {
      const auto a = pc[i].second.to_vector(), b = to_host(pg[i].second);
      all_cpu.insert(all_cpu.end(), a.begin(), a.end());
      all_gpu.insert(all_gpu.end(), b.begin(), b.end());
    }
    CHECK(rel_l2_error(all_gpu, all_cpu) < 1e-4);
  }
  backend_config().conv = ConvBackend::Cudnn;
#endif
}
