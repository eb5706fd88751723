// nn/module.h — the Module base class: named parameters, buffers and children.
//
// Names follow PyTorch's state_dict exactly ("layer1.0.conv1.weight",
// "bn1.running_mean"), in registration order, so weight files map one to one
// onto torchvision's. A module registers *pointers* to its member tensors, so
// moving a model to another device or loading weights updates the members.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace sn::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // Recursive, in registration order, with dotted names.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;            // every parameter
  std::vector<Tensor> trainable_parameters() const;  // those with requires_grad
  NamedTensors state_dict() const;                   // parameters and buffers, PyTorch order
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "") const;
  Module* submodule(const std::string& dotted_name) const;  // "layer4.1" -> that block, or null

  // Copies values from `state` into this module's tensors. Every expected name
  // must be present with the right shape; with strict, unknown names are
  // errors too. Errors name the tensor and both shapes.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  void train(bool on = true);  // recursive, like nn.Module.train()
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void requires_grad_(bool on);  // freeze (false) or unfreeze every parameter below
  void to(Device device);        // moves parameters and buffers
  void zero_grad();

  // PyTorch-style summary, as print(model) shows it.
  std::string repr() const;
  virtual std::string type_name() const = 0;  // "Conv2d", "BasicBlock", ...
  virtual std::string extra_repr() const { return ""; }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor* slot);
  Tensor& register_buffer(const std::string& name, Tensor* slot);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }
  // Replace a registered child (e.g. swap the classifier for a new head).
  void replace_module(const std::string& name, std::shared_ptr<Module> m);

  bool training_ = true;

 private:
  void repr_into(std::string& out, int indent) const;
  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

int64_t count_parameters(const Module& m);

}  // namespace sn::nn
