#include "engine/nn/init.h"

namespace sn::nn {

namespace {
thread_local bool skip = false;  // per thread: another thread building a model still draws its values
}

SkipInit::SkipInit() : was_(skip) { skip = true; }
SkipInit::~SkipInit() { skip = was_; }
bool init_skipped() { return skip; }

Tensor init_uniform(const Shape& shape, Rng& rng, float lo, float hi) {
  return skip ? Tensor::zeros(shape) : Tensor::uniform(shape, rng, lo, hi);
}

}  // namespace sn::nn
