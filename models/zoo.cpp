#include "models/zoo.h"

#include <algorithm>
#include <map>

#include "engine/check.h"
#include "engine/io/weight_file.h"
#include "engine/nn/init.h"
#include "models/mobilenet_v2.h"
#include "models/resnet.h"
#include "models/vgg.h"

namespace sn::models {

const std::vector<std::string>& architectures() {
  static const std::vector<std::string> names{"resnet18",  "resnet34", "resnet50",    "resnet101",
                                              "resnet152", "vgg16",    "mobilenet_v2"};
  return names;
}

bool is_architecture(const std::string& arch) {
  const auto& a = architectures();
  return std::find(a.begin(), a.end(), arch) != a.end();
}

std::string architecture_list() {
  std::string s;
  for (const auto& a : architectures()) s += (s.empty() ? "" : ", ") + a;
  return s;
}

static void check_known(const std::string& arch) {
  SN_USER_CHECK(is_architecture(arch), "unknown architecture '", arch, "' (known: ", architecture_list(), ")");
}

std::shared_ptr<Classifier> make_classifier(const std::string& arch, const nlohmann::json& given, Rng& rng) {
  check_known(arch);
  const nlohmann::json options = given.is_null() ? nlohmann::json::object() : given;  // {} from C++ is null
  if (arch == "vgg16") return std::make_shared<VGG>(VGGConfig::from_json(options), rng);
  if (arch == "mobilenet_v2") return std::make_shared<MobileNetV2>(MobileNetV2Config::from_json(options), rng);
  return std::make_shared<ResNet>(ResNetConfig::from_json(arch, options), rng);
}

std::shared_ptr<Classifier> load_classifier(const io::WeightFile& file, bool allow_unexpected) {
  std::shared_ptr<Classifier> model;
  try {
    Rng rng(0);
    const nn::SkipInit skip;  // every value comes from the file: drawing them first cost ~1 s (ResNet-50; VGG-16 ~5x)
    model = make_classifier(file.meta().architecture, file.meta().model, rng);
  } catch (const Error& e) {
    SN_USER_FAIL(file.path(), ": ", e.what());
  }
  file.load_into(*model, allow_unexpected);
  return model;
}

std::string head_name(const std::string& arch) {
  check_known(arch);
  if (arch == "vgg16") return "classifier.6";
  if (arch == "mobilenet_v2") return "classifier.1";
  return "fc";
}

const std::vector<std::string>& trainable_layers(const std::string& arch) {
  check_known(arch);
  static const std::map<std::string, std::vector<std::string>> lists = [] {
    std::map<std::string, std::vector<std::string>> m;
    std::vector<std::string> resnet{"conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"};
    for (const auto& a : architectures())
      if (a.rfind("resnet", 0) == 0) m[a] = resnet;
    auto& vgg = m["vgg16"];
    for (int i : {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28}) vgg.push_back("features." + std::to_string(i));
    vgg.insert(vgg.end(), {"classifier.0", "classifier.3", "classifier.6"});
    auto& mobile = m["mobilenet_v2"];
    for (int i = 0; i <= 18; ++i) mobile.push_back("features." + std::to_string(i));
    mobile.push_back("classifier.1");
    return m;
  }();
  return lists.at(arch);
}

}  // namespace sn::models
