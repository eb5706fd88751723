// experiment/checkpoint.h — what one epoch of training leaves on disk.
//
// A checkpoint holds only what training changed, never the frozen backbone
// (25 M values for ResNet-50): the new head, the batch-norm running statistics
// when they moved (the textbook keeps the backbone in training mode, so they
// do), any fine-tuned layers, the optimizer's state, the epoch, the training
// random generator's state, the configuration, and a hash of the base weight
// file so that a checkpoint is never applied to other weights.
//
// File layout (little-endian), "SNCKPT" format version 1:
//
//   offset 0   8 bytes   magic "SNCKPT\0\0"
//   offset 8   u32       format version (1)
//   offset 12  u32       0 (reserved)
//   offset 16  u64       H: length of the JSON header
//   offset 24  H bytes   JSON header (UTF-8), see below
//   ...        zero padding up to a multiple of 64 bytes: the payload start P
//   P          float32   payload: the tensors back to back, each 64-byte aligned
//
// The JSON header: {"epoch": int, "config": {...}, "base_weights_hash": "hex",
//   "rng": ["hex u64" x4], "optimizer": {...scalars...}, "metrics": {...},
//   "payload_bytes": int, "payload_fnv1a64": "hex",
//   "tensors": [{"name": str, "group": "model"|"optim", "shape": [..], "offset": int}]}
// where offset is counted in bytes from P. The checksum covers the whole
// payload, so a flipped byte is reported, not silently loaded.
//
// Files are written atomically (engine/io/atomic_file.h): a crash mid-write
// leaves the previous checkpoints intact and no half-written file.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/nn/module.h"
#include "engine/random.h"

namespace sn::train {

struct Checkpoint {
  int epoch = 0;                  // 1-based: the number of completed epochs
  nlohmann::json config;          // the resolved training configuration
  std::string base_weights_hash;  // hash_file() of the base weight file
  Rng::State rng{};               // the training generator after this epoch
  nn::NamedTensors model;         // "fc.weight", "layer1.0.bn1.running_mean", ...
  nn::NamedTensors optim;         // optimizer tensors ("exp_avg.fc.weight", ...)
  nlohmann::json optimizer;       // optimizer scalars (step count, lr, betas, ...)
  nlohmann::json metrics;         // this epoch's training metrics, for eval and the report
};

void save_checkpoint(const std::string& path, const Checkpoint& ck);

// Checks magic, version, header, sizes and checksum; each problem is an
// sn::Error naming the file (and the tensor, where one is at fault).
Checkpoint load_checkpoint(const std::string& path);

// 64-bit FNV-1a, the checksum of the payload (fast enough, no table, and
// trivially re-implemented by a reader in any language).
uint64_t fnv1a64(const void* data, size_t size, uint64_t h = 0xcbf29ce484222325ULL);
std::string to_hex(uint64_t v);
// The hash recorded as base_weights_hash: FNV-1a over the whole file, in hex.
std::string hash_file(const std::string& path);

}  // namespace sn::train
