// harness_onnx.h — the ONNX reader's fuzz body (models/onnx/onnx_import.h), beside
// harness.h's for the other readers; separate because it needs libonnx-dev.
//
// Input: the whole .onnx file, written to the scratch directory and read by
// `convert --from onnx`'s reader: protobuf parsing, the graph walk, initializers,
// attributes, metadata. An sn::Error is the expected answer to a bad file.
#pragma once
#include "models/onnx/onnx_import.h"
#include "tools/fuzz/harness.h"

namespace sn::fuzz {

inline void run_onnx(const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/model.onnx";
  write_bytes(path, data, size);
  const models::Converted c = models::convert_onnx(path);
  for (const auto& [name, t] : c.tensors)
    if (t.numel() > 0 && !t.data()) std::abort();
}

}  // namespace sn::fuzz
