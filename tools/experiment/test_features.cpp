#include "tools/experiment/test_features.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::train {

using nlohmann::json;

namespace {
constexpr char kMagic[8] = {'S', 'N', 'T', 'F', 'E', 'A', 'T', '1'};  // then u64 header bytes, header, float32s
}

json test_features_key(const std::string& model, const std::string& base_weights_hash, const std::string& precision,
                       const std::string& transform, const data::ImageFolder& test) {
  json files = json::array();
  for (const auto& path : test.paths) {
    struct stat st {};
    SN_USER_CHECK(::stat(path.c_str(), &st) == 0, "cannot read ", path, ": ", std::strerror(errno));
    // The path relative to the folder, so a moved data folder still matches.
    const std::string rel = path.rfind(test.root, 0) == 0 ? path.substr(test.root.size()) : path;
    files.push_back({rel, int64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
  }
  return {{"model", model},
          {"base_weights_hash", base_weights_hash},
          {"precision", precision},
          {"transform", transform},
          {"files", files}};
}

void save_test_features(const std::string& path, const json& key, const TestFeatures& f) {
  SN_CHECK(f.features.ndim() == 2 && !f.features.is_cuda(), "test features must be (N, F) on the CPU");
  const std::string header =
      json{{"key", key}, {"head_name", f.head_name}, {"shape", {f.features.size(0), f.features.size(1)}}}.dump();
  const uint64_t header_bytes = header.size();
  std::string bytes(kMagic, sizeof kMagic);
  bytes.append(reinterpret_cast<const char*>(&header_bytes), sizeof header_bytes);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(f.features.data()), size_t(f.features.numel()) * sizeof(float));
  io::write_file_atomic(path, bytes);
}

std::optional<TestFeatures> load_test_features(const std::string& path, const json& key, std::string* why) {
  auto fail = [&](const std::string& reason) {
    if (why) *why = reason;
    return std::nullopt;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("no " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t header_bytes = 0;
  if (bytes.size() < sizeof kMagic + sizeof header_bytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return fail(path + " is not a test-features file");
  std::memcpy(&header_bytes, bytes.data() + sizeof kMagic, sizeof header_bytes);
  const size_t data_at = sizeof kMagic + sizeof header_bytes + header_bytes;
  if (header_bytes > bytes.size() || data_at > bytes.size()) return fail(path + " is truncated");
  const json header = json::parse(bytes.begin() + (data_at - header_bytes), bytes.begin() + data_at, nullptr, false);
  if (header.is_discarded() || !header.contains("key") || !header.contains("shape"))
    return fail(path + " has an unreadable header");
  const json& saved = header["key"];
  if (saved != key) {
    for (const auto& [field, value] : key.items())
      if (!saved.contains(field) || saved[field] != value)
        return fail(field == "files" ? "the test photos changed since train saved their features"
                                     : "the " + field + " differs from train's");
    return fail(path + " was made for another key");
  }
  const json& shape = header["shape"];
  if (!shape.is_array() || shape.size() != 2 || !shape[0].is_number_integer() || !shape[1].is_number_integer())
    return fail(path + " has an unreadable header");
  const int64_t n = shape[0], f = shape[1];
  if (n < 0 || f <= 0 || bytes.size() - data_at != size_t(n * f) * sizeof(float))
    return fail(path + " is truncated or padded");
  TestFeatures out;
  out.features = Tensor::empty({n, f});
  std::memcpy(out.features.data(), bytes.data() + data_at, size_t(n * f) * sizeof(float));
  if (header.contains("head_name") && header["head_name"].is_string()) out.head_name = header["head_name"];
  return out;
}

}  // namespace sn::train
