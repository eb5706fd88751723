// try_in_order.h — run the first of a list of candidates that works, and say why the
// others did not. The cuDNN convolution (kernels/cudnn_conv.cpp) uses it for its
// algorithm choice: on a cache miss the algorithms are tried in order of preference
// and the first that runs is cached, so an algorithm the heuristics offer but that
// then fails (NOT_SUPPORTED, EXECUTION_FAILED, a workspace that cannot be
// allocated) costs one attempt instead of failing every call of that shape.
//
// Plain C++ (no CUDA), so the logic is tested on any machine (tests/test_try_in_order.cpp).
//
//   std::vector<std::string> why;
//   size_t i = try_in_order(candidates, [&](const Cand& c) -> std::string {
//     ... run c; return "" on success, else the reason it failed ...
//   }, &why);
//   if (i == candidates.size()) ... none worked: why[k] says what candidate k did ...
//
// `attempt` returns "" when the candidate worked, else a short reason; an error
// that no other candidate can avoid (a broken device, a bug) should be thrown
// instead, and propagates at once.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace sn {

template <typename Cand, typename Attempt>
size_t try_in_order(const std::vector<Cand>& candidates, Attempt&& attempt, std::vector<std::string>* failures) {
  if (failures) failures->clear();
  for (size_t i = 0; i < candidates.size(); ++i) {
    std::string why = attempt(candidates[i]);
    if (why.empty()) return i;
    if (failures) failures->push_back(std::move(why));
  }
  return candidates.size();
}

// "name1: why1; name2: why2" for an error message; `name(candidate)` gives a label.
template <typename Cand, typename Name>
std::string describe_failures(const std::vector<Cand>& candidates, const std::vector<std::string>& failures,
                              Name&& name) {
  std::string out;
  for (size_t i = 0; i < failures.size() && i < candidates.size(); ++i) {
    if (!out.empty()) out += "; ";
    out += name(candidates[i]) + ": " + failures[i];
  }
  return out.empty() ? std::string("no candidates") : out;
}

}  // namespace sn
