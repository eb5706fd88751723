#include "engine/nn/module.h"

#include <set>

#include "engine/check.h"

namespace sn::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor* slot) {
  slot->set_requires_grad(true);
  params_.emplace_back(name, slot);
  return *slot;
}

Tensor& Module::register_buffer(const std::string& name, Tensor* slot) {
  buffers_.emplace_back(name, slot);
  return *slot;
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> m) {
  for (auto& [n, child] : children_)
    if (n == name) {
      child = std::move(m);
      return;
    }
  SN_FAIL("replace_module: no child named '", name, "' in ", type_name());
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) const {
  std::vector<std::pair<std::string, Module*>> out{{prefix, const_cast<Module*>(this)}};
  for (const auto& [n, child] : children_) {
    auto sub = child->named_modules(prefix.empty() ? n : prefix + "." + n);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

Module* Module::submodule(const std::string& dotted_name) const {
  for (auto& [n, m] : named_modules())
    if (n == dotted_name) return m;
  return nullptr;
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  for (auto& [prefix, m] : named_modules())
    for (auto& [n, t] : m->params_) out.emplace_back(prefix.empty() ? n : prefix + "." + n, *t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  for (auto& [prefix, m] : named_modules())
    for (auto& [n, t] : m->buffers_) out.emplace_back(prefix.empty() ? n : prefix + "." + n, *t);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::trainable_parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters())
    if (t.requires_grad()) out.push_back(t);
  return out;
}

NamedTensors Module::state_dict() const {
  // PyTorch interleaves per module: a module's parameters, then its buffers,
  // then its children's.
  NamedTensors out;
  for (auto& [prefix, m] : named_modules()) {
    for (auto& [n, t] : m->params_) out.emplace_back(prefix.empty() ? n : prefix + "." + n, *t);
    for (auto& [n, t] : m->buffers_) out.emplace_back(prefix.empty() ? n : prefix + "." + n, *t);
  }
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::set<std::string> used;
  for (auto& [prefix, m] : named_modules()) {
    for (auto* list : {&m->params_, &m->buffers_}) {
      for (auto& [n, slot] : *list) {
        const std::string name = prefix.empty() ? n : prefix + "." + n;
        auto it = state.find(name);
        SN_CHECK(it != state.end(), "missing tensor '", name, "' (expected shape ", to_string(slot->shape()), ")");
        SN_CHECK(it->second.shape() == slot->shape(), "tensor '", name, "' has shape ", to_string(it->second.shape()),
                 " but the model expects ", to_string(slot->shape()));
        slot->copy_(it->second);
        used.insert(name);
      }
    }
  }
  if (strict)
    for (auto& [name, t] : state) SN_CHECK(used.count(name), "unexpected tensor '", name, "' ", to_string(t.shape()));
}

void Module::train(bool on) {
  for (auto& [prefix, m] : named_modules()) m->training_ = on;
}

void Module::requires_grad_(bool on) {
  for (auto& [prefix, m] : named_modules())
    for (auto& [n, slot] : m->params_) slot->set_requires_grad(on);
}

void Module::to(Device device) {
  for (auto& [prefix, m] : named_modules())
    for (auto* list : {&m->params_, &m->buffers_})
      for (auto& [n, slot] : *list) {
        if (slot->device() == device) continue;
        const bool rg = slot->requires_grad();
        *slot = slot->to(device);
        if (rg) slot->set_requires_grad(true);
      }
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

std::string Module::repr() const {
  std::string out;
  repr_into(out, 0);
  return out;
}

void Module::repr_into(std::string& out, int indent) const {
  out += type_name() + "(" + extra_repr();
  if (children_.empty()) {
    out += ")";
    return;
  }
  out += "\n";
  for (auto& [n, child] : children_) {
    out += std::string(indent + 2, ' ') + "(" + n + "): ";
    child->repr_into(out, indent + 2);
    out += "\n";
  }
  out += std::string(indent, ' ') + ")";
}

int64_t count_parameters(const Module& m) {
  int64_t n = 0;
  for (auto& [name, t] : m.named_parameters()) n += t.numel();
  return n;
}

}  // namespace sn::nn
