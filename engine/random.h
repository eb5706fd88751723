// random.h — a small, seedable, serializable random generator (xoshiro256**).
//
// Every random choice in scratchnet (weight init, shuffling, augmentation)
// draws from an Rng passed in explicitly, so results depend only on seeds.
// The algorithms (not std::*_distribution, which differ between standard
// libraries) are spelled out here, so a sequence is the same on every platform.
#pragma once
#include <array>
#include <cstdint>

namespace sn {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { seed_with(seed); }
  void seed_with(uint64_t seed);

  uint64_t next_u64();
  double uniform();  // [0, 1), 53 random bits
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t randint(int64_t lo, int64_t hi);  // uniform integer in [lo, hi], unbiased
  double normal();                          // N(0, 1), Box-Muller
  Rng split();                              // an independent child stream (e.g. one per worker or sample)

  using State = std::array<uint64_t, 4>;
  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_{};
};

}  // namespace sn
