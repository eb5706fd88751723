// experiment/optimizer_state.h — the optimizer of a run and its place in checkpoints.
//
// The head (and any fine-tuned layer) trains with Adam (engine/optim/adam.h,
// torch.optim.Adam's arithmetic). Its state ("state.<i>.exp_avg", ...) goes
// into the checkpoint's "optim" tensors; the checkpoint's "optimizer" JSON
// records the type, the learning rate and the parameter names in order, so
// that a state is never restored onto other parameters.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/nn/module.h"
#include "engine/optim/adam.h"

namespace sn::train {

using Optimizer = optim::Optimizer;

std::unique_ptr<Optimizer> make_adam(std::vector<Tensor> params, double lr);

void save_optimizer_state(const Optimizer& opt, const nn::NamedTensors& params, nn::NamedTensors& tensors,
                          nlohmann::json& scalars);
// Errors name `source` (the checkpoint) and what does not match.
void load_optimizer_state(Optimizer& opt, const nn::NamedTensors& params, const nn::NamedTensors& tensors,
                          const nlohmann::json& scalars, const std::string& source);

}  // namespace sn::train
