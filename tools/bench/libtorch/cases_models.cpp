// Model-level cases: ResNet-18/50 forward, fc-only training step.
#include "tools/bench/libtorch/cases.h"

namespace sn::bench {
std::vector<Case> model_cases(const Options&) { return {}; }
}  // namespace sn::bench
