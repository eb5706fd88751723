// Op-level cases: batch norm, pooling, linear, cross-entropy, Adam.
#include "tools/bench/libtorch/cases.h"

namespace sn::bench {
std::vector<Case> op_cases(const Options&) { return {}; }
}  // namespace sn::bench
