#include "tools/experiment/optimizer_state.h"

#include "engine/check.h"

namespace sn::train {

std::unique_ptr<Optimizer> make_adam(std::vector<Tensor> params, double lr) {
  optim::AdamOptions o;
  o.lr = lr;
  return std::make_unique<optim::Adam>(std::move(params), o);
}

static std::vector<std::string> names_of(const nn::NamedTensors& params) {
  std::vector<std::string> out;
  for (const auto& [n, t] : params) out.push_back(n);
  return out;
}

void save_optimizer_state(const Optimizer& opt, const nn::NamedTensors& params, nn::NamedTensors& tensors,
                          nlohmann::json& scalars) {
  tensors = opt.state();
  scalars = {{"type", "adam"}, {"lr", opt.lr()}, {"params", names_of(params)}};
}

void load_optimizer_state(Optimizer& opt, const nn::NamedTensors& params, const nn::NamedTensors& tensors,
                          const nlohmann::json& scalars, const std::string& source) {
  SN_USER_CHECK(scalars.value("type", "") == "adam", source, ": the optimizer state is not Adam's");
  const auto names = scalars.value("params", std::vector<std::string>{});
  SN_USER_CHECK(names == names_of(params), source, ": the optimizer state is for other parameters (",
                nlohmann::json(names).dump(), ") than this run trains (", nlohmann::json(names_of(params)).dump(), ")");
  try {
    opt.load_state(tensors);
  } catch (const Error& e) {
    SN_USER_FAIL(source, ": ", e.what());
  }
}

}  // namespace sn::train
