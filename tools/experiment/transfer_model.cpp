#include "tools/experiment/transfer_model.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "engine/upload.h"

namespace sn::train {

TransferModel::TransferModel(std::shared_ptr<models::FeatureExtractor> backbone, int classes, const TrainConfig& cfg,
                             Rng& rng)
    : backbone_(std::move(backbone)),
      net_(&backbone_->network()),
      stages_(backbone_->feature_stages()),
      head_name_(backbone_->head_name()),
      cfg_(cfg),
      features_(backbone_->num_features()),
      classes_(classes) {
  for (const auto& s : stages_)
    SN_CHECK(net_->submodule(s) || models::is_functional_stage(s), "the backbone names a feature stage '", s,
             "' it has no module for");
  for (const auto& l : cfg.train_layers)
    SN_USER_CHECK(l == head_name_ || std::find(stages_.begin(), stages_.end(), l) != stages_.end(),
                  "--train-layers: the backbone has no feature stage '", l, "'");
  head_ = std::make_shared<nn::Linear>(features_, classes, true, rng);
  net_->requires_grad_(false);
  first_trained_stage_ = stages_.size();
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (!trains_layer(cfg, stages_[i])) continue;
    net_->submodule(stages_[i])->requires_grad_(true);
    first_trained_stage_ = std::min(first_trained_stage_, i);
  }
}

bool TransferModel::use_fused(const Tensor& x) const {
  const bool no_grad_reaches_backbone = first_trained_stage_ == stages_.size() || !grad_enabled();
  // Batch statistics need every backbone batch norm in training mode and no
  // backbone layer in training (set_phase decides both).
  const bool batch_stats_ok = backbone_bn_trains(cfg_) && first_trained_stage_ == stages_.size();
  return !x.is_cuda() && (backbone_inference_ || batch_stats_ok) && no_grad_reaches_backbone;
}

Tensor TransferModel::features(const Tensor& x) {
  const bool bf16 = cfg_.precision == "bf16";
  if (use_fused(x)) {
    const bool batch_stats = !backbone_inference_;
    if (!fused_ || fused_batch_stats_ != batch_stats) {
      fused_.reset();  // release the old snapshot's packed weights first
      fused_ = backbone_->feature_snapshot(batch_stats, bf16);
      fused_batch_stats_ = batch_stats;
    }
    if (fused_) return fused_->features(x);
  }
  // bfloat16 exists only on the fused CPU path: never fall back to float32 silently.
  SN_USER_CHECK(!bf16, "--precision bf16 runs the frozen backbone on the CPU only (this forward is on ",
                x.is_cuda() ? "a GPU" : "a path where the backbone trains", "): use --precision fp32");
  Tensor h = x;
  {
    NoGradGuard frozen;  // the frozen prefix: no graph
    for (size_t i = 0; i < first_trained_stage_; ++i) h = models::run_feature_stage(*net_, stages_[i], h);
  }
  for (size_t i = first_trained_stage_; i < stages_.size(); ++i) h = models::run_feature_stage(*net_, stages_[i], h);
  return flatten(h, 1);
}

void TransferModel::set_phase(bool training) {
  if (!training) {
    net_->eval();
    head_->eval();
    backbone_inference_ = true;
    return;
  }
  // Training leaves the backbone as it is only when its batch norm is frozen
  // and no backbone layer trains: then the folded snapshot stays valid.
  backbone_inference_ = !backbone_bn_trains(cfg_) && first_trained_stage_ == stages_.size();
  // A snapshot stays valid only while no backbone weight trains; the folded
  // one also needs the statistics to stay put (it is rebuilt in features()
  // when the mode changes).
  if (first_trained_stage_ != stages_.size()) fused_.reset();
  net_->train(backbone_bn_trains(cfg_));
  for (const auto& l : cfg_.train_layers)
    if (l != head_name_) net_->submodule(l)->train(true);
  head_->train(true);
}

nn::NamedTensors TransferModel::trainable() const {
  nn::NamedTensors out;
  for (const auto& l : cfg_.train_layers) {
    if (l == head_name_) continue;
    for (auto& [n, t] : net_->submodule(l)->named_parameters()) out.emplace_back(l + "." + n, t);
  }
  for (auto& [n, t] : head_->named_parameters()) out.emplace_back(head_name_ + "." + n, t);
  return out;
}

nn::NamedTensors TransferModel::checkpoint_state() const {
  nn::NamedTensors out;
  std::map<std::string, bool> seen;
  auto add = [&](const std::string& name, const Tensor& t) {
    if (!seen[name]) out.emplace_back(name, t), seen[name] = true;
  };
  for (const auto& l : cfg_.train_layers) {
    if (l == head_name_) continue;
    for (auto& [n, t] : net_->submodule(l)->state_dict()) add(l + "." + n, t);
  }
  if (backbone_bn_trains(cfg_))
    for (auto& [n, t] : net_->named_buffers()) add(n, t);
  for (auto& [n, t] : head_->named_parameters()) add(head_name_ + "." + n, t);
  return out;
}

void TransferModel::load_checkpoint_state(const nn::NamedTensors& state, const std::string& source) {
  std::map<std::string, Tensor> slots;
  for (auto& [n, t] : net_->state_dict())
    if (n.rfind(head_name_ + ".", 0) != 0) slots[n] = t;  // the backbone's own 1000-class head is never restored
  for (auto& [n, t] : head_->named_parameters()) slots[head_name_ + "." + n] = t;
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
  net_->to(d);
  head_->to(d);
}

Tensor features_of_split(TransferModel& model, data::DataLoader& loader, Device device,
                         const std::function<void(int64_t)>& after_batch) {
  NoGradGuard no_grad;
  const int64_t n = int64_t(loader.dataset().size()), f = model.num_features();
  Tensor out = Tensor::empty({n, f});
  loader.start_epoch(0);
  data::Batch b;
  int64_t done = 0;
  while (loader.next(b)) {
    const Tensor x = model.features(upload_batch(b.images, device)).to(Device::CPU);
    for (int64_t i = 0; i < b.size(); ++i)
      std::memcpy(out.data() + b.indices[i] * f, x.data() + i * f, size_t(f) * sizeof(float));
    done += b.size();
    after_batch(done);
  }
  return out;
}

}  // namespace sn::train
