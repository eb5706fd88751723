#include "tools/experiment/trained_model.h"

#include <cstdio>
#include <map>

#include "engine/check.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/data/folder.h"
#include "engine/nn/init.h"
#include "models/zoo.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/experiment_data.h"
#include "tools/experiment/run_dir.h"

namespace sn::train {

using nlohmann::json;

namespace {

std::string epochs_of(const std::vector<std::pair<int, std::string>>& list) {
  if (list.empty()) return "none";
  std::string s;
  for (const auto& [e, p] : list) s += (s.empty() ? "" : ", ") + std::to_string(e);
  return s;
}

// The run's classes: the "start" record of metrics.jsonl, else the data folder's training classes.
std::vector<std::string> run_classes(const RunPaths& run, const TrainConfig& cfg) {
  if (path_exists(run.metrics()))
    for (const auto& r : read_jsonl(run.metrics()))
      if (r.value("type", "") == "start" && r.contains("classes"))
        return r.at("classes").get<std::vector<std::string>>();
  SN_CHECK(is_directory(cfg.data + "/train"), run.metrics(), " has no class names and the run's data folder ", cfg.data,
           "/train is gone: cannot name the classes");
  return data::ImageFolder::scan(cfg.data + "/train").classes;
}

}  // namespace

ChosenEpoch choose_epoch(const std::string& run_dir, const std::string& spec) {
  const RunPaths run(run_dir);
  SN_CHECK(path_exists(run.config()), run_dir, " is not a training run: ", run.config(), " is missing");
  const auto list = list_checkpoints(run);
  SN_CHECK(!list.empty(), run_dir, " has no checkpoints in ", run.checkpoints(), ": train first");
  ChosenEpoch c;
  if (spec == "last") {
    c.epoch = list.back().first;
    c.chosen_by = "last";
  } else if (spec == "best") {
    SN_CHECK(path_exists(run.eval()), "no best epoch yet: ", run.eval(), " is missing (run `scratchnet eval --run ",
             run_dir, "` first, or pass --epoch N or --epoch last)");
    const json e = read_json(run.eval());
    std::vector<int> evaluated;
    try {
      for (const auto& ck : e.at("checkpoints")) evaluated.push_back(ck.at("epoch").get<int>());
      c.epoch = e.at("best").at("epoch").get<int>();
      char acc[64];
      std::snprintf(acc, sizeof acc, "%.2f%%", 100 * e.at("best").at("acc").get<double>());
      c.chosen_by = std::string("best in ") + run.eval() + ", " + acc + " test accuracy";
    } catch (const json::exception& ex) {
      SN_FAIL(run.eval(), " is not an evaluation written by `scratchnet eval`: ", ex.what());
    }
    std::vector<int> present;
    for (const auto& [ep, p] : list) present.push_back(ep);
    SN_CHECK(evaluated == present, run.eval(), " is out of date: it evaluated epochs ", json(evaluated).dump(),
             " but the run now holds ", epochs_of(list), " (run `scratchnet eval --run ", run_dir,
             "` again, or pass --epoch N)");
  } else {
    size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(spec, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    SN_CHECK(used == spec.size() && n > 0, "--epoch ", spec, ": expected best, last or an epoch number");
    c.epoch = n;
    c.chosen_by = "--epoch " + spec;
  }
  for (const auto& [ep, p] : list)
    if (ep == c.epoch) c.path = p;
  SN_CHECK(!c.path.empty(), run_dir, " has no checkpoint of epoch ", c.epoch, " (it has epochs ", epochs_of(list), ")");
  return c;
}

TrainedModel load_trained(const std::string& run_dir, const std::string& epoch, const std::string& precision) {
  TrainedModel m;
  m.run = run_dir;
  const RunPaths run(run_dir);
  const ChosenEpoch chosen = choose_epoch(run_dir, epoch);
  m.epoch = chosen.epoch;
  m.checkpoint = chosen.path;
  m.chosen_by = chosen.chosen_by;
  m.cfg = config_from_json(read_json(run.config()), run.config());
  m.cfg.out = run_dir;
  if (!precision.empty()) {  // as `eval --precision`: the frozen backbone's arithmetic, checked where it can run
    SN_CHECK(precision == "fp32" || precision == "bf16", "unknown --precision '", precision, "' (choose fp32 or bf16)");
    SN_CHECK(precision == "fp32" || cpu::nchwc::bf16_supported(),
             "--precision bf16 needs a CPU with AVX512_BF16 "
             "(vdpbf16ps) and a scratchnet built for it; this one has none: use --precision fp32");
    SN_CHECK(precision == "fp32" || m.cfg.model.rfind("resnet", 0) == 0,
             "--precision bf16 runs on the fused ResNet "
             "path only; a ",
             m.cfg.model, " runs in fp32");
    m.cfg.precision = precision;
  }
  m.classes = run_classes(run, m.cfg);

  const Checkpoint ck = load_checkpoint(m.checkpoint);
  m.base = load_backbone(m.cfg.model, resolve_weights(m.cfg.model, m.cfg.weights));
  SN_CHECK(ck.base_weights_hash == m.base.hash, m.checkpoint, " was trained on other base weights than ", m.base.path,
           " (hash ", ck.base_weights_hash, ", the file has ", m.base.hash, ")");
  const std::string head = models::head_name(m.cfg.model);
  for (const auto& [name, t] : ck.model)
    if (name == head + ".weight")
      SN_CHECK(t.ndim() == 2 && t.size(0) == static_cast<int64_t>(m.classes.size()), m.checkpoint, ": its head has ",
               t.ndim() == 2 ? t.size(0) : -1, " outputs but the run has ", m.classes.size(), " classes");
  Rng rng(m.cfg.seed);  // the head's initial values are overwritten by the checkpoint's
  m.model = std::make_unique<TransferModel>(m.base.net, static_cast<int>(m.classes.size()), m.cfg, rng);
  m.model->load_checkpoint_state(ck.model, m.checkpoint);
  m.model->set_phase(false);
  return m;
}

data::Compose TrainedModel::transform() const { return test_transform(cfg, base.preprocessing); }

io::Preprocessing TrainedModel::preprocessing() const {
  io::Preprocessing p = base.preprocessing;
  if (!cfg.normalize) {  // the textbook's bare ToTensor: RGB in [0, 1]
    p.channel_order = "RGB";
    p.scale = 1.0 / 255.0;
    p.mean = {0, 0, 0};
    p.std = {1, 1, 1};
  }
  p.resize = cfg.crop;  // the test transform: Resize(crop) (shorter side), CenterCrop(crop)
  p.crop = cfg.crop;
  return p;
}

ExportedWeights export_weights(const TrainedModel& m) {
  ExportedWeights w;
  w.meta.architecture = m.base.net->architecture();
  w.meta.model = m.base.net->options();
  w.meta.model["num_classes"] = static_cast<int>(m.classes.size());
  w.meta.preprocessing = m.preprocessing();
  w.meta.labels = m.classes;
  json base_meta = json::object();
  try {
    base_meta = io::WeightFile(m.base.path).meta().metadata;
  } catch (const Error&) {
  }
  w.meta.metadata = {{"source", "scratchnet transfer learning: " + m.run + ", epoch " + std::to_string(m.epoch)},
                     {"run", m.run},
                     {"epoch", m.epoch},
                     {"checkpoint", m.checkpoint},
                     {"chosen_by", m.chosen_by},
                     {"base_weights", m.base.path},
                     {"base_weights_hash", m.base.hash},
                     {"base_metadata", base_meta},
                     {"training", to_json(m.cfg)}};
  // The backbone's tensors (with the checkpoint's statistics and layers), its
  // own 1000-class head replaced by the trained one, in state_dict order (the
  // head is the last module of every network here).
  const std::string prefix = m.model->head_name() + ".";
  std::map<std::string, Tensor> head;
  for (auto& [n, t] : m.model->head_module().named_parameters()) head[prefix + n] = t;
  for (auto& [n, t] : m.base.net->state_dict()) {
    if (n.rfind(prefix, 0) == 0) continue;
    w.tensors.emplace_back(n, t.to(Device::CPU).detach().clone());
  }
  for (const std::string& n : {prefix + "weight", prefix + "bias"}) {
    auto it = head.find(n);
    SN_CHECK(it != head.end(), "the trained head has no ", n);
    w.tensors.emplace_back(n, it->second.to(Device::CPU).detach().clone());
  }
  return w;
}

std::shared_ptr<models::Classifier> to_classifier(const ExportedWeights& w) {
  Rng rng(0);
  std::shared_ptr<models::Classifier> net;
  {
    const nn::SkipInit skip;  // every tensor is loaded below
    net = models::make_classifier(w.meta.architecture, w.meta.model, rng);
  }
  std::map<std::string, Tensor> state(w.tensors.begin(), w.tensors.end());
  net->load_state_dict(state);
  net->eval();
  return net;
}

}  // namespace sn::train
