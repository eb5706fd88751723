#include "models/classifier.h"

#include "engine/check.h"

namespace sn::models {

Tensor Classifier::head_forward(const Tensor& features) const {
  nn::Module* head = submodule(head_name());
  SN_CHECK(head != nullptr, architecture(), " has no head module '", head_name(), "'");
  return head->forward(features);
}

}  // namespace sn::models
