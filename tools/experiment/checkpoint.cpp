#include "tools/experiment/checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstring>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::train {

static const char kMagic[8] = {'S', 'N', 'C', 'K', 'P', 'T', 0, 0};
static constexpr uint32_t kVersion = 1;
static constexpr size_t kAlign = 64;

static size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

uint64_t fnv1a64(const void* data, size_t size, uint64_t h) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string to_hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

static uint64_t from_hex(const std::string& s, const std::string& path, const char* what) {
  SN_USER_CHECK(s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos, path,
                ": checkpoint field ", what, " is not a 16-digit hex number: '", s, "'");
  return std::stoull(s, nullptr, 16);
}

std::string hash_file(const std::string& path) {
  // mmap rather than read: the ResNet-50 file is 100 MB and we only stream over it once.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SN_USER_CHECK(fd >= 0, "cannot open ", path, " to hash it: ", std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  uint64_t h = fnv1a64(nullptr, 0);
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      SN_USER_FAIL("cannot map ", path, " to hash it: ", std::strerror(errno));
    }
    h = fnv1a64(p, static_cast<size_t>(st.st_size));
    ::munmap(p, static_cast<size_t>(st.st_size));
  }
  ::close(fd);
  return to_hex(h);
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  nlohmann::json header;
  header["epoch"] = ck.epoch;
  header["config"] = ck.config;
  header["base_weights_hash"] = ck.base_weights_hash;
  header["rng"] = nlohmann::json::array();
  for (uint64_t w : ck.rng) header["rng"].push_back(to_hex(w));
  header["optimizer"] = ck.optimizer.is_null() ? nlohmann::json::object() : ck.optimizer;
  header["metrics"] = ck.metrics.is_null() ? nlohmann::json::object() : ck.metrics;

  // Lay the tensors out, each aligned, and copy them to CPU once.
  struct Item {
    std::string name, group;
    std::vector<float> values;
    Shape shape;
    size_t offset;
  };
  std::vector<Item> items;
  size_t payload = 0;
  auto add = [&](const nn::NamedTensors& list, const char* group) {
    for (const auto& [name, t] : list) {
      SN_CHECK(t.defined(), "checkpoint ", path, ": tensor ", name, " is undefined");
      items.push_back({name, group, t.to_vector(), t.shape(), payload});
      payload = align_up(payload + items.back().values.size() * sizeof(float));
    }
  };
  add(ck.model, "model");
  add(ck.optim, "optim");
  header["tensors"] = nlohmann::json::array();
  for (const auto& it : items)
    header["tensors"].push_back({{"name", it.name}, {"group", it.group}, {"shape", it.shape}, {"offset", it.offset}});
  header["payload_bytes"] = payload;

  std::vector<uint8_t> data(payload, 0);
  for (const auto& it : items) std::memcpy(data.data() + it.offset, it.values.data(), it.values.size() * sizeof(float));
  header["payload_fnv1a64"] = to_hex(fnv1a64(data.data(), data.size()));

  const std::string text = header.dump();
  const size_t start = align_up(24 + text.size());
  std::vector<uint8_t> file(start + payload, 0);
  std::memcpy(file.data(), kMagic, 8);
  const uint32_t version = kVersion, reserved = 0;
  const uint64_t hlen = text.size();
  std::memcpy(file.data() + 8, &version, 4);
  std::memcpy(file.data() + 12, &reserved, 4);
  std::memcpy(file.data() + 16, &hlen, 8);
  std::memcpy(file.data() + 24, text.data(), text.size());
  std::memcpy(file.data() + start, data.data(), data.size());
  io::write_file_atomic(path, file.data(), file.size());
}

static Checkpoint load_checkpoint_unchecked(const std::string& path) {
  const std::vector<uint8_t> file = io::read_file(path);
  SN_USER_CHECK(file.size() >= 24, path, ": not a checkpoint (", file.size(),
                " bytes, shorter than the 24-byte preamble)");
  SN_USER_CHECK(std::memcmp(file.data(), kMagic, 8) == 0, path, ": not a scratchnet checkpoint (wrong magic)");
  uint32_t version;
  uint64_t hlen;
  std::memcpy(&version, file.data() + 8, 4);
  std::memcpy(&hlen, file.data() + 16, 8);
  SN_USER_CHECK(version == kVersion, path, ": checkpoint format version ", version, ", this scratchnet reads version ",
                kVersion);
  SN_USER_CHECK(hlen <= file.size() - 24, path, ": truncated checkpoint (header of ", hlen, " bytes, file has ",
                file.size(), ")");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.begin() + 24, file.begin() + 24 + static_cast<std::ptrdiff_t>(hlen));
  } catch (const std::exception& e) {
    SN_USER_FAIL(path, ": corrupt checkpoint header: ", e.what());
  }
  Checkpoint ck;
  try {
    ck.epoch = header.at("epoch").get<int>();
    ck.config = header.at("config");
    ck.base_weights_hash = header.at("base_weights_hash").get<std::string>();
    const auto& rng = header.at("rng");
    SN_USER_CHECK(rng.is_array() && rng.size() == 4, path, ": checkpoint field rng must hold 4 words");
    for (size_t i = 0; i < 4; ++i) ck.rng[i] = from_hex(rng[i].get<std::string>(), path, "rng");
    ck.optimizer = header.at("optimizer");
    ck.metrics = header.value("metrics", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL(path, ": checkpoint header is missing a field or has a wrong type: ", e.what());
  }

  const size_t start = align_up(24 + hlen);
  const size_t payload = header.value("payload_bytes", size_t(0));
  SN_USER_CHECK(start <= file.size() && file.size() - start == payload, path, ": truncated checkpoint (payload of ",
                file.size() >= start ? file.size() - start : 0, " bytes, header says ", payload, ")");
  const uint8_t* data = file.data() + start;
  const std::string sum = to_hex(fnv1a64(data, payload));
  SN_USER_CHECK(sum == header.value("payload_fnv1a64", std::string()), path,
                ": checkpoint payload checksum mismatch (the file is corrupt)");
  for (const auto& t : header.at("tensors")) {
    const std::string name = t.at("name").get<std::string>();
    const Shape shape = t.at("shape").get<Shape>();
    const size_t offset = t.at("offset").get<size_t>();
    const int64_t n = checked_numel(shape);  // a hostile shape must not wrap the size around
    SN_USER_CHECK(n >= 0 && static_cast<uint64_t>(n) <= payload / sizeof(float), path, ": tensor ", name, " has shape ",
                  to_string(shape), ", larger than the ", payload, "-byte payload");
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    SN_USER_CHECK(offset <= payload && bytes <= payload - offset, path, ": tensor ", name, " lies outside the payload");
    std::vector<float> values(bytes / sizeof(float));
    if (bytes > 0) std::memcpy(values.data(), data + offset, bytes);
    Tensor tensor = Tensor::from_vector(values, shape);
    (t.at("group").get<std::string>() == "optim" ? ck.optim : ck.model).emplace_back(name, tensor);
  }
  return ck;
}

// Every field read after the header is parsed can be missing or of the wrong
// type in a damaged file: report that as an error naming the file.
Checkpoint load_checkpoint(const std::string& path) {
  try {
    return load_checkpoint_unchecked(path);
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL(path, ": checkpoint header is missing a field or has a wrong type: ", e.what());
  }
}

}  // namespace sn::train
