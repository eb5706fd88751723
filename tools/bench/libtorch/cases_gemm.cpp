// SGEMM cases: C (M,N) = A (M,K) B (K,N), row-major float32.
// Shapes: square sizes, and the products inside ResNet (a 3x3 conv of layer1
// as im2col GEMM, layer4's 3x3, the 2048->1000 classifier at batch 32, the
// 2048->2 head of the cat/dog experiment).
#include "engine/cpu/gemm/gemm.h"
#include "engine/random.h"
#include "tools/bench/libtorch/cases.h"

namespace sn::bench {

namespace {

Case gemm_case(int64_t M, int64_t N, int64_t K, const std::string& what, bool with_ref) {
  Case c;
  c.group = "gemm";
  c.name = "sgemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
           (what.empty() ? "" : " (" + what + ")");
  c.flops = 2.0 * double(M) * double(N) * double(K);
  c.make = [M, N, K, with_ref]() {
    Rng rng(1);
    auto A = std::make_shared<Tensor>(Tensor::uniform({M, K}, rng, -1, 1));
    auto B = std::make_shared<Tensor>(Tensor::uniform({K, N}, rng, -1, 1));
    auto C = std::make_shared<Tensor>(Tensor::zeros({M, N}));
    auto Cref = std::make_shared<Tensor>(Tensor::zeros({M, N}));
    auto tA = std::make_shared<at::Tensor>(to_torch(*A));
    auto tB = std::make_shared<at::Tensor>(to_torch(*B));
    auto tC = std::make_shared<at::Tensor>(at::zeros({M, N}));
    Instance in;
    in.sides.push_back({"libtorch", [=] { at::mm_out(*tC, *tA, *tB); }});
    in.sides.push_back(
        {"fast", [=] { cpu::sgemm(false, false, M, N, K, A->data(), K, B->data(), N, 0.f, C->data(), N); }});
    if (with_ref)
      in.sides.push_back({"ref", [=] {
                            const float *a = A->data(), *b = B->data();
                            float* cr = Cref->data();
                            for (int64_t i = 0; i < M; ++i)
                              for (int64_t j = 0; j < N; ++j) {
                                float s = 0;
                                for (int64_t k = 0; k < K; ++k) s += a[i * K + k] * b[k * N + j];
                                cr[i * N + j] = s;
                              }
                          }});
    in.check = [=] {
      Check ck = compare(*C, *tC);
      if (with_ref) ck = merge(ck, compare(*Cref, *tC));
      return ck;
    };
    return in;
  };
  return c;
}
}  // namespace

std::vector<Case> gemm_cases(const Options& o) {
  std::vector<Case> v;
  const bool ref = o.with_ref;
  v.push_back(gemm_case(256, 256, 256, "", ref));
  v.push_back(gemm_case(1024, 1024, 1024, "", false));
  if (!o.quick) v.push_back(gemm_case(2048, 2048, 2048, "", false));
  v.push_back(gemm_case(64, 3136, 576, "layer1 3x3 conv, one image", false));
  v.push_back(gemm_case(512, 49, 4608, "layer4 3x3 conv, one image", false));
  v.push_back(gemm_case(32, 1000, 2048, "fc 2048->1000, batch 32", ref));
  v.push_back(gemm_case(32, 2, 2048, "cat/dog head, batch 32", ref));
  v.push_back(gemm_case(37, 71, 129, "odd sizes", ref));
  return v;
}

}  // namespace sn::bench
