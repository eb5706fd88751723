#include "tools/experiment/transfer_model.h"

#include <map>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "models/resnet.h"

namespace sn::train {

// The backbone's stages in forward order (torchvision's ResNet attribute names).
static const std::vector<std::string> kStages{"conv1", "bn1",    "relu",   "maxpool", "layer1",
                                              "layer2", "layer3", "layer4", "avgpool"};

TransferModel::TransferModel(std::shared_ptr<nn::Module> backbone, int features, int classes, const TrainConfig& cfg,
                             Rng& rng)
    : backbone_(std::move(backbone)), cfg_(cfg), features_(features), classes_(classes) {
  for (const auto& s : {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"})
    SN_CHECK(backbone_->submodule(s), "the backbone has no '", s, "' module: not a torchvision-style ResNet");
  head_ = std::make_shared<nn::Linear>(features, classes, true, rng);
  backbone_->requires_grad_(false);
  first_trained_stage_ = kStages.size();
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (!trains_layer(cfg, kStages[i])) continue;
    backbone_->submodule(kStages[i])->requires_grad_(true);
    first_trained_stage_ = std::min(first_trained_stage_, i);
  }
}

bool TransferModel::use_fused(const Tensor& x) const {
  const bool no_grad_reaches_backbone = first_trained_stage_ == kStages.size() || !grad_enabled();
  // Batch statistics need every backbone batch norm in training mode and no
  // backbone layer in training (set_phase decides both).
  const bool batch_stats_ok = backbone_bn_trains(cfg_) && first_trained_stage_ == kStages.size();
  return !x.is_cuda() && (backbone_inference_ || batch_stats_ok) && no_grad_reaches_backbone &&
         dynamic_cast<const models::ResNet*>(backbone_.get()) != nullptr;
}

models::FusedResNet::BatchNorm TransferModel::fused_mode() const {
  return backbone_inference_ ? models::FusedResNet::BatchNorm::Folded : models::FusedResNet::BatchNorm::BatchStats;
}

Tensor TransferModel::features(const Tensor& x) {
  const bool bf16 = cfg_.precision == "bf16";
  if (use_fused(x)) {
    if (!fused_ || fused_->mode() != fused_mode()) {
      fused_.reset();  // release the old snapshot's packed weights first
      fused_ = std::make_shared<const models::FusedResNet>(
          static_cast<const models::ResNet&>(*backbone_), fused_mode(),
          bf16 ? models::FusedResNet::Precision::BF16 : models::FusedResNet::Precision::F32);
    }
    return fused_->features(x);
  }
  // bfloat16 exists only on the fused CPU path: never fall back to float32 silently.
  SN_USER_CHECK(!bf16, "--precision bf16 runs the frozen backbone on the CPU only (this forward is on ",
           x.is_cuda() ? "a GPU" : "a path where the backbone trains", "): use --precision fp32");
  Tensor h = x;
  auto run = [&](size_t i) {
    nn::Module* m = backbone_->submodule(kStages[i]);
    if (m) {
      h = m->forward(h);
    } else if (kStages[i] == "relu") {  // a ResNet may apply ReLU as a function
      h = relu(h);
    } else {
      SN_CHECK(kStages[i] == "avgpool", "the backbone has no '", kStages[i], "' module");
      h = adaptive_avg_pool2d_1x1(h);
    }
  };
  {
    NoGradGuard frozen;  // the frozen prefix: no graph
    for (size_t i = 0; i < first_trained_stage_; ++i) run(i);
  }
  for (size_t i = first_trained_stage_; i < kStages.size(); ++i) run(i);
  return flatten(h, 1);
}

void TransferModel::set_phase(bool training) {
  if (!training) {
    backbone_->eval();
    head_->eval();
    backbone_inference_ = true;
    return;
  }
  // Training leaves the backbone as it is only when its batch norm is frozen
  // and no backbone layer trains: then the folded snapshot stays valid.
  backbone_inference_ = !backbone_bn_trains(cfg_) && first_trained_stage_ == kStages.size();
  // A snapshot stays valid only while no backbone weight trains; the folded
  // one also needs the statistics to stay put (it is rebuilt in features()
  // when the mode changes).
  if (first_trained_stage_ != kStages.size()) fused_.reset();
  backbone_->train(backbone_bn_trains(cfg_));
  for (const auto& l : cfg_.train_layers)
    if (l != "fc") backbone_->submodule(l)->train(true);
  head_->train(true);
}

nn::NamedTensors TransferModel::trainable() const {
  nn::NamedTensors out;
  for (const auto& l : cfg_.train_layers) {
    if (l == "fc") continue;
    for (auto& [n, t] : backbone_->submodule(l)->named_parameters()) out.emplace_back(l + "." + n, t);
  }
  for (auto& [n, t] : head_->named_parameters()) out.emplace_back("fc." + n, t);
  return out;
}

nn::NamedTensors TransferModel::checkpoint_state() const {
  nn::NamedTensors out;
  std::map<std::string, bool> seen;
  auto add = [&](const std::string& name, const Tensor& t) {
    if (!seen[name]) out.emplace_back(name, t), seen[name] = true;
  };
  for (const auto& l : cfg_.train_layers) {
    if (l == "fc") continue;
    for (auto& [n, t] : backbone_->submodule(l)->state_dict()) add(l + "." + n, t);
  }
  if (backbone_bn_trains(cfg_))
    for (auto& [n, t] : backbone_->named_buffers()) add(n, t);
  for (auto& [n, t] : head_->named_parameters()) add("fc." + n, t);
  return out;
}

void TransferModel::load_checkpoint_state(const nn::NamedTensors& state, const std::string& source) {
  std::map<std::string, Tensor> slots;
  for (auto& [n, t] : backbone_->state_dict())
    if (n.rfind("fc.", 0) != 0) slots[n] = t;  // the backbone's own 1000-class fc is never restored
  for (auto& [n, t] : head_->named_parameters()) slots["fc." + n] = t;
  for (const auto& [name, value] : state) {
    auto it = slots.find(name);
    SN_USER_CHECK(it != slots.end(), source, ": tensor '", name, "' is not part of this model");
    SN_USER_CHECK(it->second.shape() == value.shape(), source, ": tensor '", name, "' has shape ",
                  to_string(value.shape()), " but the model expects ", to_string(it->second.shape()));
    it->second.copy_(value);
  }
  fused_.reset();
}

void TransferModel::to(Device d) {
  fused_.reset();
  backbone_->to(d);
  head_->to(d);
}

}  // namespace sn::train
