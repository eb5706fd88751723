// tfjs_reader.h — read a TensorFlow.js layers model (model.json + binary shards).
//
// model.json holds the Keras topology ("modelTopology") and a weights
// manifest: groups of shard files ("paths") and the weights stored in them
// ({"name", "shape", "dtype"}). The shards of a group, concatenated in order,
// are the weights' raw little-endian bytes back to back, in manifest order.
// Only float32 weights are supported (no quantization). Values keep the
// TensorFlow layout (conv kernels HWIO, dense kernels [in, out]): layout
// changes belong to the converter (models/convert_keras.cpp).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "engine/nn/module.h"

namespace sn::io {

struct TfjsModel {
  std::string path;          // the model.json read
  nlohmann::json topology;   // "modelTopology" (Keras model config)
  nn::NamedTensors weights;  // in manifest order, e.g. {"conv1/kernel", (7,7,3,64)}
};

// `path` is model.json or the directory that contains it. Errors name the file and weight.
TfjsModel read_tfjs(const std::string& path);

}  // namespace sn::io
