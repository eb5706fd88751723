#include "engine/optim/optimizer.h"

#include "engine/check.h"

namespace sn::optim {

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {
  for (size_t i = 0; i < params_.size(); ++i) {
    SN_CHECK(params_[i].defined(), "optimizer: parameter ", i, " is an undefined tensor");
    SN_CHECK(params_[i].is_leaf(), "optimizer: parameter ", i, " ", to_string(params_[i].shape()),
             " is not a leaf tensor (it was computed by an op)");
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

std::map<std::string, bool> Optimizer::names_of(const NamedTensors& state) {
  std::map<std::string, bool> used;
  for (auto& [name, t] : state) {
    SN_CHECK(!used.count(name), "optimizer state: tensor '", name, "' appears twice");
    used[name] = false;
  }
  return used;
}

Tensor Optimizer::take(const std::map<std::string, Tensor>& state, std::map<std::string, bool>& used, size_t i,
                       const std::string& what, const Shape& shape, bool required) {
  const std::string name = "state." + std::to_string(i) + "." + what;
  auto it = state.find(name);
  if (it == state.end()) {
    SN_CHECK(!required, "optimizer state: missing tensor '", name, "' (expected shape ", to_string(shape), ")");
    return Tensor();
  }
  SN_CHECK(it->second.shape() == shape, "optimizer state: tensor '", name, "' has shape ",
           to_string(it->second.shape()), " but the optimizer expects ", to_string(shape));
  used[name] = true;
  return it->second;
}

void Optimizer::check_all_used(const std::map<std::string, bool>& used) {
  for (auto& [name, ok] : used) SN_CHECK(ok, "optimizer state: unexpected tensor '", name, "'");
}

}  // namespace sn::optim
