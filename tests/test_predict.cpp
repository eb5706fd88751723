// `scratchnet predict`: the real ImageNet ResNet-50 on cat.jpg (when the
// converted weights are present), and the command's output and errors.
#include <sys/stat.h>
#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/data/decode.h"
#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "engine/ops.h"
#include "models/convert.h"
#include "models/preprocess.h"
#include "models/resnet.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// Runs a shell command; returns (exit status, stdout + stderr).
std::pair<int, std::string> run(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen((cmd + " 2>&1").c_str(), "r"), &::pclose);
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE("predict: the npm ImageNet ResNet-50 puts cat.jpg in a cat class (281-285)", "[predict][weights]") {
  const std::string weights = std::string(SN_SOURCE_DIR) + "/weights/resnet50-imagenet.snw";
  if (!exists(weights)) SN_SKIP(weights + " is absent (run tools/fetch-weights.sh)");
  const io::WeightFile file(weights);
  auto model = models::load_resnet(file);
  model->eval();
  Rng rng(0);  // the evaluation pipeline draws nothing
  const Tensor x = models::eval_transform(file.meta().preprocessing)(data::load_image(test::data_path("cat.jpg")), rng);
  NoGradGuard no_grad;
  const Tensor p = softmax(model->forward(x.view({1, 3, 224, 224})));
  const int64_t top = argmax(p)[0];
  INFO("top-1 class " << top << " " << file.meta().labels.at(top) << " p=" << p.to_vector()[top]);
  CHECK(top >= 281);
  CHECK(top <= 285);
}

TEST_CASE("predict command: JSON top-5 with integer indices, unreadable images are named and skipped", "[predict]") {
  const std::string exe = std::string(SN_BINARY_DIR) + "/scratchnet";
  if (!exists(exe)) SN_SKIP(exe + " is not built");
  // A small random ResNet-18 (the fixture) with 10 named classes stands in for real weights.
  models::Converted c = models::convert_pth(std::string(SN_SOURCE_DIR) + "/tests/fixtures/resnet18_w4.pth");
  for (int i = 0; i < 10; ++i) c.meta.labels.push_back("label" + std::to_string(i));
  const std::string weights = std::string(SN_BINARY_DIR) + "/predict_r18_w4.snw";
  io::write_weight_file(weights, c.meta, c.tensors);
  const std::string cat = test::data_path("cat.jpg");

  auto [rc, out] = run(exe + " predict --model resnet18 --weights " + weights + " --json " + cat + " " + cat);
  INFO(out);
  REQUIRE(rc == 0);
  const auto j = nlohmann::json::parse(out);
  REQUIRE(j.at("images").size() == 2);
  const auto& img = j["images"][0];
  CHECK(img.at("path") == cat);
  REQUIRE(img.at("top5").size() == 5);
  double last = 1.0;
  for (const auto& r : img["top5"]) {
    CHECK(r.at("index").is_number_integer());
    CHECK(r.at("name") == "label" + std::to_string(r["index"].get<int>()));
    CHECK(r.at("probability").get<double>() <= last);
    last = r["probability"].get<double>();
  }
  CHECK(j["images"][1]["top5"] == img["top5"]);  // same image, same answer

  // Text output names the image and ranks 1..5.
  std::tie(rc, out) = run(exe + " predict --weights " + weights + " " + cat);
  CHECK(rc == 0);
  CHECK(out.find(cat) != std::string::npos);
  CHECK(out.find("  5. ") != std::string::npos);

  // A file that is not an image, and one that does not exist: each is named, the
  // other images are still classified, and the exit status (2) says some failed.
  const std::string bogus = std::string(SN_BINARY_DIR) + "/not-an-image.jpg";
  io::write_file_atomic(bogus, std::string("this is not a JPEG"));
  std::tie(rc, out) = run(exe + " predict --weights " + weights + " " + cat + " " + bogus);
  CHECK(rc == 2);
  CHECK(out.find("not-an-image.jpg") != std::string::npos);
  CHECK(out.find("  1. ") != std::string::npos);  // cat.jpg was classified
  CHECK(out.find("1 of 2 images could not be classified") != std::string::npos);
  std::tie(rc, out) = run(exe + " predict --weights " + weights + " /nonexistent/dir/photo.png");
  CHECK(rc == 2);
  CHECK(out.find("/nonexistent/dir/photo.png") != std::string::npos);
  // --model that contradicts the weight file.
  std::tie(rc, out) = run(exe + " predict --model resnet50 --weights " + weights + " " + cat);
  CHECK(rc != 0);
  CHECK(out.find("holds a resnet18") != std::string::npos);
}

TEST_CASE("predict --precision bf16: near-ties are classified again in float32", "[predict][bf16]") {
  const std::string exe = std::string(SN_BINARY_DIR) + "/scratchnet";
  if (!exists(exe)) SN_SKIP(exe + " is not built");
  if (!cpu::nchwc::bf16_supported()) SN_SKIP("this CPU has no AVX512_BF16");
  const models::Converted c = models::convert_pth(std::string(SN_SOURCE_DIR) + "/tests/fixtures/resnet18_w4.pth");
  const std::string weights = std::string(SN_BINARY_DIR) + "/predict_bf16_r18_w4.snw";
  io::write_weight_file(weights, c.meta, c.tensors);
  const std::string cat = test::data_path("cat.jpg"), images = " " + cat + " " + cat + " " + cat;
  const std::string base = exe + " predict --model resnet18 --weights " + weights + " --json --batch 2";
  auto answer = [&](const std::string& options) {
    auto [rc, out] = run(base + options + images);
    INFO(out);
    REQUIRE(rc == 0);
    const size_t json_start = out.find('{');  // stderr's summary line may come first
    REQUIRE(json_start != std::string::npos);
    return std::make_pair(nlohmann::json::parse(out.substr(json_start)), out.substr(0, json_start));
  };
  const auto [fp32, fp32_note] = answer("");
  const auto [pure, pure_note] = answer(" --precision bf16 --no-recheck");
  // A margin nothing is below: every image takes float32's path, so every
  // answer equals float32's to the last bit (same snapshot, same kernels).
  const auto [all, all_note] = answer(" --precision bf16 --recheck-margin 1e30");
  const auto [none, none_note] = answer(" --precision bf16 --recheck-margin 0");
  for (size_t i = 0; i < 3; ++i) {
    INFO("image " << i);
    CHECK(all["images"][i]["top5"] == fp32["images"][i]["top5"]);
    CHECK(all["images"][i]["near_tie_float32"] == true);
    CHECK(none["images"][i]["near_tie_float32"] == false);
    CHECK(none["images"][i]["top5"] == pure["images"][i]["top5"]);
    CHECK_FALSE(pure["images"][i].contains("near_tie_float32"));
    // bfloat16 really ran (no silent float32): its probabilities differ.
    CHECK(pure["images"][i]["top5"] != fp32["images"][i]["top5"]);
  }
  CHECK(all_note.find("3 of 3 images were near-ties") != std::string::npos);
  CHECK(none_note.find("0 of 3 images were near-ties") != std::string::npos);
}
