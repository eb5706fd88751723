// onnx_import.h — ResNet-shaped ONNX graphs into scratchnet weights
// (`scratchnet convert --from onnx`), read with the ONNX project's own C++
// library (Debian's libonnx-dev).
//
// What it accepts: the forward pass of a torchvision-style ResNet-18/34/50/
// 101/152 made of Conv, BatchNormalization, Relu, MaxPool, Add,
// GlobalAveragePool (or ReduceMean over the two spatial axes), Flatten and
// Gemm (or MatMul + Add), with float32 initializers inside the file (an
// Identity of an initializer, as torch writes shared weights, is one too). The
// graph is matched by its structure, not by names: from the input, the stem
// (conv, batch norm, ReLU, max pool), then block after block (the main path's
// two or three convs up to the Add, the shortcut being the block's input or a
// downsampling conv), then the pooling and the classifier. The initializers
// get torchvision's state_dict names ("layer1.0.conv1.weight", ...) and are
// checked against the ResNet they describe, including every conv's stride and
// padding.
//
// Exporters often fold batch norm into the convolutions (torch.onnx.export
// does by default): a conv with a bias and no BatchNormalization after it
// becomes a conv and a batch norm with weight 1, bias = the conv's bias, mean 0
// and variance 1 - eps (so the normalization divides by exactly 1). A conv
// bias before a BatchNormalization is folded into its mean. Both are listed as notes.
//
// Anything else is refused with the node named: another operator, grouped or
// dilated convs, a graph that branches elsewhere, external data, other dtypes.
// Where the file was written by `scratchnet export`, its preprocessing and
// class names come back from the metadata; otherwise torchvision's
// preprocessing is assumed (a note says so).
#pragma once
#include <string>

#include "models/convert.h"

namespace sn::models {

Converted convert_onnx(const std::string& path);

// The same, from the bytes of a file (`source` names it in errors): the fuzz target's entry.
Converted convert_onnx_bytes(const void* data, size_t size, const std::string& source);

}  // namespace sn::models
