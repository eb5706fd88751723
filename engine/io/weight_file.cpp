#include "engine/io/weight_file.h"

#include <cstring>
#include <map>
#include <set>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/mapped_file.h"

namespace sn::io {

using nlohmann::json;

namespace {

// ---- the fixed 64-byte header (weights/FORMAT.md) ---------------------------------
constexpr char kMagic[8] = {'S', 'N', 'W', 'E', 'I', 'G', 'H', 'T'};
constexpr size_t kFixedHeader = 64;
constexpr uint64_t kAlign = 64;

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Fields are written byte by byte, least significant first, so the file is
// little-endian whatever the host. Tensor data is copied as is: the host must
// be little-endian too (checked below), as every machine we target is.
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

bool host_is_little_endian() {
  const uint32_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

json preprocessing_to_json(const Preprocessing& p) {
  return {{"channel_order", p.channel_order},
          {"scale", p.scale},
          {"mean", p.mean},
          {"std", p.std},
          {"resize", p.resize},
          {"crop", p.crop}};
}

Preprocessing preprocessing_from_json(const json& j, const std::string& path) {
  Preprocessing p;
  p.channel_order = j.at("channel_order").get<std::string>();
  SN_USER_CHECK(p.channel_order == "RGB" || p.channel_order == "BGR", path, ": preprocessing.channel_order is '",
                p.channel_order, "', expected \"RGB\" or \"BGR\"");
  p.scale = j.at("scale").get<double>();
  p.mean = j.at("mean").get<std::array<double, 3>>();
  p.std = j.at("std").get<std::array<double, 3>>();
  for (double s : p.std) SN_USER_CHECK(s > 0, path, ": preprocessing.std must be positive, got ", s);
  p.resize = j.at("resize").get<int>();
  p.crop = j.at("crop").get<int>();
  SN_USER_CHECK(p.crop > 0 && p.resize >= p.crop, path, ": preprocessing needs 0 < crop <= resize, got resize ",
                p.resize, " crop ", p.crop);
  return p;
}

}  // namespace

// ---- writer ---------------------------------------------------------------------------

void write_weight_file(const std::string& path, const WeightMeta& meta, const nn::NamedTensors& tensors) {
  SN_CHECK(host_is_little_endian(), "writing ", path, ": scratchnet weight files need a little-endian host");
  // 1. Lay out the payload: each tensor at the next 64-byte boundary.
  std::vector<TensorInfo> table;
  std::set<std::string> names;
  uint64_t end = 0;
  for (const auto& [name, t] : tensors) {
    SN_CHECK(!name.empty(), "writing ", path, ": a tensor has an empty name");
    SN_CHECK(names.insert(name).second, "writing ", path, ": tensor '", name, "' appears twice");
    SN_CHECK(t.defined() && t.dtype() == DType::F32, "writing ", path, ": tensor '", name,
             "' is undefined or not float32");
    TensorInfo info{name, "float32", t.shape(), align_up(end), t.nbytes(), 0};
    end = info.offset + info.nbytes;
    table.push_back(info);
  }
  const uint64_t payload_size = align_up(end);

  // 2. The JSON header, with the table (CRCs filled in below, before serializing).
  std::string payload(payload_size, '\0');
  for (size_t i = 0; i < table.size(); ++i) {
    const Tensor cpu = tensors[i].second.to(Device::CPU);
    std::memcpy(&payload[table[i].offset], cpu.data(), table[i].nbytes);
    table[i].crc32 = crc32(&payload[table[i].offset], table[i].nbytes);
  }
  json j_table = json::array();
  for (const auto& t : table)
    j_table.push_back({{"name", t.name},
                       {"dtype", t.dtype},
                       {"shape", t.shape},
                       {"offset", t.offset},
                       {"nbytes", t.nbytes},
                       {"crc32", t.crc32}});
  const json header = {{"architecture", meta.architecture},
                       {"model", meta.model},
                       {"preprocessing", preprocessing_to_json(meta.preprocessing)},
                       {"labels", meta.labels},
                       {"metadata", meta.metadata},
                       {"tensors", j_table}};
  const std::string text = header.dump(1);  // one entry per line: readable with `head -c`
  const uint64_t payload_offset = align_up(kFixedHeader + text.size());

  // 3. Fixed header + JSON + padding + payload, written in one atomic step.
  std::string file(payload_offset, '\0');
  auto* h = reinterpret_cast<uint8_t*>(&file[0]);
  std::memcpy(h, kMagic, 8);
  put_u32(h + 8, kWeightFormatVersion);
  put_u32(h + 12, crc32(text.data(), text.size()));
  put_u64(h + 16, text.size());
  put_u64(h + 24, payload_offset);
  put_u64(h + 32, payload_size);
  put_u32(h + 40, crc32(payload.data(), payload.size()));
  std::memcpy(&file[kFixedHeader], text.data(), text.size());
  file += payload;
  write_file_atomic(path, file);
}

// ---- reader ---------------------------------------------------------------------------

WeightFile::~WeightFile() = default;

WeightFile::WeightFile(const std::string& path) : path_(path) {
  SN_USER_CHECK(host_is_little_endian(), "reading ", path, ": scratchnet weight files need a little-endian host");
  file_ = std::make_unique<MappedFile>(path);
  const uint8_t* base = file_->data();
  const uint64_t size = file_->size();

  // Fixed header: magic first, so that a wrong file is called a wrong file, not a truncated one.
  SN_USER_CHECK(size >= 8 && std::memcmp(base, kMagic, 8) == 0, path,
                ": not a scratchnet weight file (bad magic: the first 8 bytes are not \"SNWEIGHT\")");
  SN_USER_CHECK(size >= kFixedHeader, path, ": truncated: ", size, " bytes, shorter than the 64-byte fixed header");
  version_ = get_u32(base + 8);
  SN_USER_CHECK(version_ == kWeightFormatVersion, path, ": unsupported format version ", version_,
                " (this scratchnet reads version ", kWeightFormatVersion, ")");
  const uint32_t header_crc = get_u32(base + 12);
  const uint64_t header_size = get_u64(base + 16);
  const uint64_t payload_offset = get_u64(base + 24);
  const uint64_t payload_size = get_u64(base + 32);
  const uint32_t payload_crc = get_u32(base + 40);
  SN_USER_CHECK(header_size <= size && payload_offset >= kFixedHeader + header_size && payload_offset % kAlign == 0,
                path, ": corrupt fixed header (JSON header size ", header_size, ", payload offset ", payload_offset,
                ")");
  SN_USER_CHECK(payload_offset <= size && payload_size <= size - payload_offset, path, ": truncated: the file has ",
                size, " bytes but its header says the data ends at byte ", payload_offset + payload_size);

  // JSON header.
  const char* text = reinterpret_cast<const char*>(base + kFixedHeader);
  const uint32_t got_header_crc = crc32(text, header_size);
  SN_USER_CHECK(got_header_crc == header_crc, path, ": header checksum mismatch (stored ", hex32(header_crc),
                ", computed ", hex32(got_header_crc), "): the JSON header is corrupted");
  json header;
  try {
    header = json::parse(text, text + header_size);
    meta_.architecture = header.at("architecture").get<std::string>();
    meta_.model = header.at("model");
    meta_.preprocessing = preprocessing_from_json(header.at("preprocessing"), path);
    meta_.labels = header.at("labels").get<std::vector<std::string>>();
    meta_.metadata = header.at("metadata");
    for (const auto& e : header.at("tensors")) {
      TensorInfo t;
      t.name = e.at("name").get<std::string>();
      t.dtype = e.at("dtype").get<std::string>();
      t.shape = e.at("shape").get<Shape>();
      t.offset = e.at("offset").get<uint64_t>();
      t.nbytes = e.at("nbytes").get<uint64_t>();
      t.crc32 = e.at("crc32").get<uint32_t>();
      table_.push_back(t);
    }
  } catch (const json::exception& e) {
    SN_USER_FAIL(path, ": malformed JSON header: ", e.what());
  }

  // Tensor table: each entry well-formed and inside the payload.
  std::set<std::string> names;
  for (const auto& t : table_) {
    SN_USER_CHECK(names.insert(t.name).second, path, ": tensor '", t.name, "' appears twice in the table");
    SN_USER_CHECK(t.dtype == "float32", path, ": tensor '", t.name, "' has dtype '", t.dtype,
                  "'; format version 1 stores float32 only");
    for (int64_t d : t.shape) SN_USER_CHECK(d >= 0, path, ": tensor '", t.name, "' has a negative dimension");
    const int64_t n = checked_numel(t.shape);
    SN_USER_CHECK(n >= 0 && n <= INT64_MAX / 4, path, ": tensor '", t.name, "' has shape ", to_string(t.shape),
                  ", too large for any file");
    SN_USER_CHECK(t.nbytes == static_cast<uint64_t>(n) * 4, path, ": tensor '", t.name, "' has ", t.nbytes,
                  " bytes but its shape ", to_string(t.shape), " needs ", n * 4);
    SN_USER_CHECK(t.offset % kAlign == 0, path, ": tensor '", t.name, "' starts at offset ", t.offset,
                  ", not a multiple of 64");
    SN_USER_CHECK(t.offset <= payload_size && t.nbytes <= payload_size - t.offset, path, ": tensor '", t.name,
                  "' (bytes ", t.offset, "..", t.offset + t.nbytes, ") lies outside the ", payload_size,
                  "-byte payload");
  }

  // Payload checksum: one pass over the data. On a mismatch, the per-tensor
  // CRCs say which tensor is damaged.
  payload_ = base + payload_offset;
  const uint32_t got = crc32(payload_, payload_size);
  if (got != payload_crc) {
    for (const auto& t : table_) {
      const uint32_t c = crc32(payload_ + t.offset, t.nbytes);
      SN_USER_CHECK(c == t.crc32, path, ": checksum mismatch in tensor '", t.name, "' (stored ", hex32(t.crc32),
                    ", computed ", hex32(c), "): the file is corrupted");
    }
    SN_USER_FAIL(path, ": payload checksum mismatch (stored ", hex32(payload_crc), ", computed ", hex32(got),
                 ") in the padding between tensors: the file is corrupted");
  }
}

const TensorInfo* WeightFile::find(const std::string& name) const {
  for (const auto& t : table_)
    if (t.name == name) return &t;
  return nullptr;
}

const float* WeightFile::data(const TensorInfo& t) const { return reinterpret_cast<const float*>(payload_ + t.offset); }

Tensor WeightFile::tensor(const std::string& name) const {
  const TensorInfo* t = find(name);
  SN_USER_CHECK(t, path_, ": no tensor named '", name, "'");
  Tensor out = Tensor::empty(t->shape);
  if (t->nbytes > 0) std::memcpy(out.data(), data(*t), t->nbytes);  // an empty tensor has no storage
  return out;
}

nn::NamedTensors WeightFile::all() const {
  nn::NamedTensors out;
  for (const auto& t : table_) out.emplace_back(t.name, tensor(t.name));
  return out;
}

void WeightFile::load_into(nn::Module& model, bool allow_unexpected) const {
  // First check everything, so that a mismatched file leaves the model untouched.
  const nn::NamedTensors slots = model.state_dict();
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const auto& [name, slot] : slots) {
    expected.insert(name);
    const TensorInfo* t = find(name);
    if (!t)
      problems.push_back("missing tensor '" + name + "' (the model expects shape " + to_string(slot.shape()) + ")");
    else if (t->shape != slot.shape())
      problems.push_back("tensor '" + name + "' has shape " + to_string(t->shape) + " but the model expects " +
                         to_string(slot.shape()));
  }
  if (!allow_unexpected)
    for (const auto& t : table_)
      if (!expected.count(t.name))
        problems.push_back("unexpected tensor '" + t.name + "' " + to_string(t.shape) + " (not in the model)");
  if (!problems.empty()) {
    std::string msg =
        path_ + " does not match the " + model.type_name() + " model (architecture '" + meta_.architecture + "'): ";
    const size_t shown = std::min<size_t>(problems.size(), 8);
    for (size_t i = 0; i < shown; ++i) msg += (i ? "; " : "") + problems[i];
    if (problems.size() > shown) msg += "; and " + std::to_string(problems.size() - shown) + " more";
    SN_USER_FAIL(msg);
  }
  for (const auto& [name, slot] : slots) {
    const TensorInfo* t = find(name);
    copy_bytes(slot.data(), slot.device(), data(*t), Device::CPU, t->nbytes);
  }
}

}  // namespace sn::io
