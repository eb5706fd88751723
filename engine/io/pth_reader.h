// pth_reader.h — read a PyTorch state_dict (.pth) without Python.
//
// A .pth written by torch.save (PyTorch >= 1.6) is a zip archive (zip_reader.h):
//   <archive>/data.pkl    the pickled OrderedDict {name: tensor}
//   <archive>/data/<key>  one raw little-endian storage per key
//   <archive>/version, and in newer versions <archive>/byteorder
// The pickle is run by the restricted VM of pickle.h with exactly four
// callable globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter, torch._utils._rebuild_tensor) and the
// torch.*Storage type names; anything else is rejected before it could run.
// Each tensor is rebuilt from (storage, offset, size, stride) with bounds
// checks. Floating tensors become float32 scratchnet tensors (float32 bit for
// bit; float16/bfloat16 exactly; float64 rounded); integer and bool tensors
// (e.g. BatchNorm's int64 num_batches_tracked) are listed with their dtype but
// not loaded, since scratchnet tensors are float32.
#pragma once
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor.h"

namespace sn::io {

struct PthTensor {
  std::string name;   // state_dict key
  std::string dtype;  // torch's dtype name: "float32", "float64", "int64", ...
  Shape shape;
  Tensor value;  // float32 CPU tensor; undefined for integer and bool dtypes
};

struct PthStateDict {
  std::vector<PthTensor> tensors;  // in the file's (OrderedDict) order

  std::vector<std::string> skipped() const;  // names of the integer/bool tensors that were not loaded
};

// Throws sn::Error naming the file (and the entry or key) on any problem.
// A checkpoint dict holding the state_dict under "state_dict" or "model" is accepted too.
PthStateDict read_pth(const std::string& path);

}  // namespace sn::io
