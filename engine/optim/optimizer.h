// optim/optimizer.h — the base of every optimizer: a list of parameters, zero_grad, step,
// and a state that a checkpoint can save and restore.
//
// Usage, as in PyTorch:
//   Adam opt(model.trainable_parameters());
//   opt.zero_grad(); loss.backward(); opt.step();
//
// state() names tensors after PyTorch's optimizer state_dict: "state.<i>.<what>",
// i the parameter's index in the list given to the constructor (e.g.
// "state.0.exp_avg", "state.0.step"). load_state() needs exactly the names and
// shapes state() produces; a missing, unexpected or misshapen tensor is an
// error naming it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor.h"

namespace sn::optim {

using nn::NamedTensors;

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Drops every parameter's gradient (PyTorch's set_to_none=True).
  void zero_grad();
  // One update of every parameter that has a gradient (others are skipped,
  // their state untouched, as in PyTorch). Runs without recording a graph.
  virtual void step() = 0;

  virtual NamedTensors state() const = 0;
  virtual void load_state(const NamedTensors& state) = 0;

  const std::vector<Tensor>& params() const { return params_; }
  double lr() const { return lr_; }

 protected:
  // Looks up "state.<i>.<what>" in `state`, checks its shape, and marks it used.
  // Missing names are an error when `required`, else return an undefined tensor.
  static Tensor take(const std::map<std::string, Tensor>& state, std::map<std::string, bool>& used, size_t i,
                     const std::string& what, const Shape& shape, bool required);
  // Errors for names nobody took.
  static void check_all_used(const std::map<std::string, bool>& used);
  static std::map<std::string, bool> names_of(const NamedTensors& state);

  std::vector<Tensor> params_;
  double lr_ = 0;
};

}  // namespace sn::optim
