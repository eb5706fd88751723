// weight_file.h — scratchnet's weight format (.snw): reader and writer.
//
// The byte layout is specified in weights/FORMAT.md. In short: a fixed 64-byte
// little-endian header (magic "SNWEIGHT", version, sizes, CRC-32s), a JSON
// header (architecture, model options, input preprocessing, class names,
// provenance, and the tensor table: name, dtype, shape, offset, size, CRC-32),
// then the raw float32 data, every tensor starting on a 64-byte boundary.
//
// Opening a file verifies everything that can be verified without a model
// (magic, version, sizes, the JSON, the table, the checksums); load_into()
// then checks names and shapes against the model. Every error names the file
// and, where there is one, the tensor.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor.h"

namespace sn::io {

constexpr uint32_t kWeightFormatVersion = 1;

// The input the weights expect, computed from an RGB image with values in
// [0, 255] (after resizing and cropping):
//   input[c] = (pixel[channel_order[c]] * scale - mean[c]) / std[c]
// torchvision: RGB, scale 1/255, ImageNet mean/std. Keras "caffe" style
// (the npm ResNet-50): BGR, scale 1, mean [103.939, 116.779, 123.68], std 1.
struct Preprocessing {
  std::string channel_order = "RGB";  // "RGB" or "BGR": channel order of the input tensor
  double scale = 1.0 / 255.0;
  std::array<double, 3> mean{0.485, 0.456, 0.406};  // per input channel, in channel_order
  std::array<double, 3> std{0.229, 0.224, 0.225};
  int resize = 256;  // evaluation: resize the shorter side to this ...
  int crop = 224;    // ... then take the center crop x crop
};

// One entry of the tensor table.
struct TensorInfo {
  std::string name;   // PyTorch state_dict name, e.g. "layer1.0.conv1.weight"
  std::string dtype;  // "float32" (the only dtype of version 1)
  Shape shape;
  uint64_t offset = 0;  // bytes from the start of the payload; a multiple of 64
  uint64_t nbytes = 0;  // numel * 4
  uint32_t crc32 = 0;   // CRC-32 of the tensor's bytes
};

// Everything in the header except the tensor table.
struct WeightMeta {
  std::string architecture;                         // "resnet18", "resnet50", ...
  nlohmann::json model = nlohmann::json::object();  // the architecture's options (models/resnet.h)
  Preprocessing preprocessing;
  std::vector<std::string> labels;                     // class names by output index; may be empty
  nlohmann::json metadata = nlohmann::json::object();  // provenance: source, license, converter
};

// Writes `tensors` (in this order) atomically (engine/io/atomic_file.h).
void write_weight_file(const std::string& path, const WeightMeta& meta, const nn::NamedTensors& tensors);

class MappedFile;

class WeightFile {
 public:
  // Maps the file and verifies header, table and checksums; throws sn::Error
  // naming the file (and the tensor) on the first problem.
  explicit WeightFile(const std::string& path);
  ~WeightFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  const WeightMeta& meta() const { return meta_; }
  const std::vector<TensorInfo>& tensors() const { return table_; }
  const TensorInfo* find(const std::string& name) const;  // null if absent

  // A copy of one tensor as a new CPU tensor; an absent name is an error.
  Tensor tensor(const std::string& name) const;
  // All tensors, in file order.
  nn::NamedTensors all() const;
  // Raw float32 data of a tensor inside the mapping (valid while this object lives).
  const float* data(const TensorInfo& t) const;

  // Copies the file's tensors into the model's parameters and buffers (on any
  // device), straight from the mapping. Every tensor of the model must be in
  // the file with the same shape; tensors the model does not have are errors
  // unless allow_unexpected. All mismatches are listed in one error.
  void load_into(nn::Module& model, bool allow_unexpected = false) const;

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  WeightMeta meta_;
  std::vector<TensorInfo> table_;
  const uint8_t* payload_ = nullptr;
};

}  // namespace sn::io
