// nn/init.h — the initial values of new layers, and a scope that skips drawing them.
//
// A network about to be overwritten by a weight file need not draw random
// values first: for ResNet-50 that is 25.6M uniform and 23.5M normal draws,
// about a second of every process that loads it (train, eval, predict). Inside
// a SkipInit scope the layers' parameters start at zero instead, with their
// shapes, so a loader that misses one still fails by name (WeightFile::load_into
// and Module::load_state_dict check every parameter), and the Rng is not advanced.
#pragma once
#include "engine/random.h"
#include "engine/shape.h"
#include "engine/tensor.h"

namespace sn::nn {

// U(lo, hi) of `shape` drawn from rng; zeros inside a SkipInit scope. (A network that overwrites
// a layer's values with its own draws, e.g. kaiming_normal_, skips them when init_skipped().)
Tensor init_uniform(const Shape& shape, Rng& rng, float lo, float hi);

// While one is alive on this thread, layers built on it skip their random
// initial values. For code that loads every parameter right after building.
class SkipInit {
 public:
  SkipInit();
  ~SkipInit();
  SkipInit(const SkipInit&) = delete;
  SkipInit& operator=(const SkipInit&) = delete;

 private:
  bool was_;
};

bool init_skipped();

}  // namespace sn::nn
