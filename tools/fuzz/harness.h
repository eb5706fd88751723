// harness.h — the fuzz targets' bodies, shared with tests/test_fuzz_regress.cpp.
//
// Each run_<target>(data, size) turns one fuzzer input into the file(s) a
// reader takes, calls the normal reader, and lets an sn::Error (the expected
// answer to a bad file) propagate. The libFuzzer entry points
// (fuzz_<target>.cpp) catch sn::Error and nothing else, so any other exception,
// crash, sanitizer report or oversized allocation is a finding. The regression
// test replays saved findings through the same functions, in the normal build
// and under the asan preset.
//
// The readers take paths (they mmap files, or read shards beside a model.json),
// so inputs are written to a per-process scratch directory, in /dev/shm (memory)
// when it exists.
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/crc32.h"
#include "engine/io/pth_reader.h"
#include "engine/io/tfjs_reader.h"
#include "engine/io/weight_file.h"
#include "engine/nn/module.h"
#include "tools/experiment/checkpoint.h"
#if __has_include("engine/data/decode.h")
#include "engine/data/decode.h"
#include "engine/data/transforms.h"
#define SN_FUZZ_HAVE_IMAGE 1
#endif

namespace sn::fuzz {

// ---- scratch files ---------------------------------------------------------------
inline const std::string& scratch_dir();
// At exit: empty and remove the scratch directory (fork-mode fuzzing starts many processes).
inline void remove_scratch_dir() {
  const std::string& d = scratch_dir();
  if (DIR* dir = ::opendir(d.c_str())) {
    while (dirent* e = ::readdir(dir))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) ::unlink((d + "/" + e->d_name).c_str());
    ::closedir(dir);
  }
  ::rmdir(d.c_str());
}
inline const std::string& scratch_dir() {
  // Never destroyed (a leaked heap string): remove_scratch_dir() still needs it at exit.
  static const std::string* dir = [] {
    struct stat st {};
    const std::string base = ::stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    auto* d = new std::string(base + "/scratchnet-fuzz-" + std::to_string(::getpid()));
    ::mkdir(d->c_str(), 0700);
    std::atexit(remove_scratch_dir);
    return d;
  }();
  return *dir;
}

// Plain write, no fsync: fuzzing runs thousands of inputs a second.
inline void write_bytes(const std::string& path, const void* data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();  // the harness itself is broken: stop loudly
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n <= 0) std::abort();
    p += n;
    size -= static_cast<size_t>(n);
  }
  ::close(fd);
}
inline void write_bytes(const std::string& path, const std::string& s) { write_bytes(path, s.data(), s.size()); }

inline void put_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
inline uint64_t get_u64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return v;
}
inline void append16(std::string& s, uint16_t v) { s.push_back(char(v & 0xff)), s.push_back(char(v >> 8)); }
inline void append32(std::string& s, uint32_t v) { append16(s, uint16_t(v & 0xffff)), append16(s, uint16_t(v >> 16)); }

// A zip archive of stored entries (no compression, no zip64), as torch.save writes them.
inline std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = io::crc32(data.data(), data.size()), offset = uint32_t(out.size());
    append32(out, 0x04034b50), append16(out, 20), append16(out, 0), append16(out, 0), append32(out, 0);
    append32(out, crc), append32(out, uint32_t(data.size())), append32(out, uint32_t(data.size()));
    append16(out, uint16_t(name.size())), append16(out, 0);
    out += name + data;
    append32(cd, 0x02014b50), append16(cd, 20), append16(cd, 20), append16(cd, 0), append16(cd, 0), append32(cd, 0);
    append32(cd, crc), append32(cd, uint32_t(data.size())), append32(cd, uint32_t(data.size()));
    append16(cd, uint16_t(name.size())), append16(cd, 0), append16(cd, 0), append16(cd, 0), append16(cd, 0);
    append32(cd, 0), append32(cd, offset);
    cd += name;
  }
  const uint32_t cd_offset = uint32_t(out.size());
  out += cd;
  append32(out, 0x06054b50), append16(out, 0), append16(out, 0), append16(out, uint16_t(entries.size()));
  append16(out, uint16_t(entries.size())), append32(out, uint32_t(cd.size())), append32(out, cd_offset);
  append16(out, 0);
  return out;
}

// ---- weight file (.snw) --------------------------------------------------------------
// Input: byte 0 = mode, the rest = the file.
//   even: the file as it is; nearly every mutation then fails a CRC-32, which is
//         itself worth testing (the checks must run before anything trusts a size).
//   odd:  the header and payload CRC-32s are recomputed after mutation, so the
//         fuzzer gets past them into the JSON header and the tensor table.
//   bit 1: load_into(allow_unexpected).

// A two-tensor model ("weight" (2,2), "bias" (2)), the names of the seed files.
struct TinyModel : nn::Module {
  TinyModel() {
    register_parameter("weight", &weight);
    register_buffer("bias", &bias);
  }
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "TinyModel"; }
  Tensor weight = Tensor::zeros({2, 2}), bias = Tensor::zeros({2});
};

inline void run_weight_file(const uint8_t* data, size_t size) {
  if (size < 1) return;
  std::string f(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && f.size() >= 64) {
    const uint64_t header_size = get_u64(f, 16), payload_offset = get_u64(f, 24), payload_size = get_u64(f, 32);
    if (header_size <= f.size() - 64) put_u32(f, 12, io::crc32(f.data() + 64, header_size));
    if (payload_offset <= f.size() && payload_size <= f.size() - payload_offset)
      put_u32(f, 40, io::crc32(f.data() + payload_offset, payload_size));
  }
  const std::string path = scratch_dir() + "/w.snw";
  write_bytes(path, f);
  io::WeightFile w(path);
  for (const auto& t : w.tensors()) {  // read every tensor: touches every byte the table points at
    const Tensor x = w.tensor(t.name);
    if (x.numel() != numel(t.shape)) std::abort();
  }
  TinyModel model;
  w.load_into(model, /*allow_unexpected=*/data[0] & 2);
}

// ---- PyTorch .pth ----------------------------------------------------------------------
// Input: byte 0 = mode, the rest is fuzzed.
//   even: the rest is the whole .pth file (zip parsing, CRC checks, then the pickle).
//   odd:  the rest is the pickle only; it is wrapped in a valid archive
//         ("archive/data.pkl" with a correct CRC-32) holding storages data/0
//         (16 float32), data/1 (4 float64) and data/2 (8 int64), so mutations
//         reach the pickle VM instead of failing the zip CRC.
inline std::string pth_archive(const std::string& pickle) {
  std::vector<float> f16(16);
  for (int i = 0; i < 16; ++i) f16[i] = float(i) - 7.5f;
  const double d4[4] = {1.0, -2.0, 0.5, 3.25};
  const int64_t i8[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  return make_zip({{"archive/data.pkl", pickle},
                   {"archive/data/0", std::string(reinterpret_cast<const char*>(f16.data()), f16.size() * 4)},
                   {"archive/data/1", std::string(reinterpret_cast<const char*>(d4), sizeof d4)},
                   {"archive/data/2", std::string(reinterpret_cast<const char*>(i8), sizeof i8)},
                   {"archive/version", "3\n"}});
}

inline void run_pth(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string path = scratch_dir() + "/m.pth";
  write_bytes(path, (data[0] & 1) ? pth_archive(rest) : rest);
  const io::PthStateDict sd = io::read_pth(path);
  for (const auto& t : sd.tensors)
    if (t.value.defined() && t.value.numel() != numel(t.shape)) std::abort();  // shape and values disagree
}

// ---- TF.js model.json + shards -----------------------------------------------------------
// Input: the model.json text up to the first NUL byte, then the bytes of shard
// "s1.bin". A shard "s2.bin" of 16 float32 always lies beside it, so manifests
// naming one or two shards both work (the seeds name s1.bin and s2.bin).
inline void run_tfjs(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t json_size = nul ? size_t(nul - data) : size;
  const std::string dir = scratch_dir();
  write_bytes(dir + "/model.json", data, json_size);
  write_bytes(dir + "/s1.bin", data + json_size + (nul ? 1 : 0), nul ? size - json_size - 1 : 0);
  const float s2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  write_bytes(dir + "/s2.bin", s2, sizeof s2);
  const io::TfjsModel m = io::read_tfjs(dir);
  for (const auto& [name, t] : m.weights)
    if (t.numel() > 0 && !t.data()) std::abort();
}

// ---- training checkpoint (.snck) ------------------------------------------------------------
// Input: byte 0 = mode, the rest is fuzzed.
//   even: the rest is the whole .snck file.
//   odd:  the rest is the JSON header up to the first NUL, then the payload; the
//         file is built around them (magic, version, header length, padding) and,
//         when the header parses as a JSON object, the payload's correct checksum
//         is stored in it, so mutations get past the checksum check.
inline std::string checkpoint_file(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  std::string header(reinterpret_cast<const char*>(data), nul ? size_t(nul - data) : size);
  const std::string payload =
      nul ? std::string(reinterpret_cast<const char*>(nul) + 1, reinterpret_cast<const char*>(data) + size) : "";
  auto j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    j["payload_fnv1a64"] = train::to_hex(train::fnv1a64(payload.data(), payload.size()));
    header = j.dump();
  }
  std::string file("SNCKPT\0\0\x01\0\0\0\0\0\0\0", 16);
  for (int i = 0; i < 8; ++i) file.push_back(char(uint64_t(header.size()) >> (8 * i)));
  file += header;
  file.resize((file.size() + 63) / 64 * 64, '\0');
  return file + payload;
}

inline void run_checkpoint(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const std::string path = scratch_dir() + "/c.snck";
  write_bytes(path, (data[0] & 1) ? checkpoint_file(data + 1, size - 1)
                                  : std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  const train::Checkpoint ck = train::load_checkpoint(path);
  for (const auto& [name, t] : ck.model)
    if (t.numel() > 0 && !t.data()) std::abort();
}

#ifdef SN_FUZZ_HAVE_IMAGE
// ---- image decoding + transforms ---------------------------------------------------------
// Input: an encoded image (JPEG, PNG, BMP, GIF, PNM, ...), decoded from memory
// as the data pipeline does, then run through the evaluation transforms
// (Resize, CenterCrop, ToTensor, Normalize), the training ones
// (RandomResizedCrop, RandomHorizontalFlip) and a resize to a size taken from
// the input, so that odd sizes (1 x n, upscaling) reach the resampler.
// max_pixels is lowered to 1 Mpixel to keep each run fast; the header check
// that enforces it is the same code as with the default.
// Work per input is bounded: at most 2^18 pixels (512 x 512; decoding goes over every pixel once
// per JPEG scan, and image_guard.h allows at most 500 scans), and the resizes below are skipped
// for shapes whose output would be large.
inline void run_image(const uint8_t* data, size_t size) {
  data::DecodeOptions options;
  options.max_pixels = 1 << 18;
  const std::string path = scratch_dir() + "/image";
  write_bytes(path, data, size);
  const data::Image img = data::load_image(path, options);
  if (img.bytes() != size_t(img.width) * size_t(img.height) * 3) std::abort();
  Rng rng(size);
  data::Compose eval({std::make_shared<data::Resize>(20), std::make_shared<data::CenterCrop>(16),
                      std::make_shared<data::ToTensor>(),
                      std::make_shared<data::Normalize>(data::kImageNetMean, data::kImageNetStd)});
  // A strip (45832 x 6) resized to a shorter side of 20 is 3 Mpixels: correct but slow under the
  // sanitizers, which makes libFuzzer report a timeout. Such shapes skip only this step.
  const auto out = data::shorter_side_size(img.width, img.height, 20);
  if (int64_t(out[0]) * out[1] <= (1 << 18)) {
    const Tensor x = eval(img, rng);
    if (x.shape() != Shape{3, 16, 16}) std::abort();
  }
  data::Compose train({std::make_shared<data::RandomResizedCrop>(12), std::make_shared<data::RandomHorizontalFlip>(),
                       std::make_shared<data::ToTensor>()});
  const Tensor y = train(img, rng);
  if (y.shape() != Shape{3, 12, 12}) std::abort();
  const int w = 1 + data[size - 1] % 40, h = 1 + data[size / 2] % 40;  // size > 0: decoding succeeded
  const data::Image r = data::resize(img, w, h);
  if (r.width != w || r.height != h) std::abort();
}
#endif

}  // namespace sn::fuzz
