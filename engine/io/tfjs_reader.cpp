#include "engine/io/tfjs_reader.h"

#include <sys/stat.h>
#include <fstream>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::io {

// A shard path must name a file beside model.json or below it: a manifest
// from an untrusted model must not make us read /etc/... or ../../secret.
static void check_shard_path(const std::string& model_json, const std::string& p) {
  bool ok = !p.empty() && p[0] != '/';
  for (size_t start = 0; ok && start <= p.size();) {
    const size_t end = std::min(p.find('/', start), p.size());
    ok = p.compare(start, end - start, "..") != 0;
    start = end + 1;
  }
  SN_USER_CHECK(ok, model_json, ": shard path '", p, "' leaves the model's directory (absolute or with '..')");
}

static uint64_t file_size(const std::string& path) {
  struct stat st {};
  SN_USER_CHECK(::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode), "cannot read shard ", path,
                ": missing or not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

TfjsModel read_tfjs(const std::string& path) {
  TfjsModel m;
  struct stat st {};
  m.path = (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) ? path + "/model.json" : path;
  const std::string dir = m.path.substr(0, m.path.find_last_of('/') + 1);  // "" when no slash

  nlohmann::json j;
  {
    std::ifstream in(m.path);
    SN_USER_CHECK(in.good(), "cannot open ", m.path);
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      SN_USER_FAIL(m.path, ": not valid JSON: ", e.what());
    }
  }
  SN_USER_CHECK(j.is_object() && j.contains("weightsManifest") && j["weightsManifest"].is_array(), m.path,
                ": no weightsManifest: not a TensorFlow.js model.json");
  m.topology = j.value("modelTopology", nlohmann::json::object());

  // A manifest entry with a missing key or a wrong type is reported as such, naming the file.
  try {
    for (const auto& group : j["weightsManifest"]) {
      // Stream the group's shards through the weights, one shard in memory at a time.
      const auto& paths = group.at("paths");
      SN_USER_CHECK(paths.is_array(), m.path, ": weightsManifest paths must be a list of file names");
      uint64_t left = 0;  // bytes in the group's shards not yet consumed: bounds every allocation below
      for (const auto& p : paths) {
        check_shard_path(m.path, p.get<std::string>());
        left += file_size(dir + p.get<std::string>());
      }
      size_t shard = 0, shard_pos = 0;
      std::vector<uint8_t> bytes;
      auto next_shard = [&]() {
        SN_USER_CHECK(shard < paths.size(), m.path, ": the shards end before the manifest's weights do");
        bytes = read_file(dir + paths[shard++].get<std::string>());
        shard_pos = 0;
      };
      for (const auto& w : group.at("weights")) {
        const std::string name = w.at("name").get<std::string>();
        SN_USER_CHECK(w.value("dtype", "float32") == "float32", m.path, ": weight '", name, "' has dtype ",
                      w.value("dtype", ""), "; only float32 is supported");
        SN_USER_CHECK(!w.contains("quantization"), m.path, ": weight '", name, "' is quantized; not supported");
        Shape shape = w.at("shape").get<Shape>();
        for (int64_t d : shape) SN_USER_CHECK(d >= 0, m.path, ": weight '", name, "' has a negative dimension");
        // Check the size against the shards before allocating: a manifest cannot ask for more than they hold.
        const int64_t n = checked_numel(shape);
        SN_USER_CHECK(n >= 0 && static_cast<uint64_t>(n) <= left / 4, m.path,
                      ": the shards end before the manifest's weights do (weight '", name, "' of shape ",
                      to_string(shape), " needs ", n >= 0 ? std::to_string(uint64_t(n) * 4) : std::string("too many"),
                      " bytes, ", left, " left)");
        left -= static_cast<uint64_t>(n) * 4;
        Tensor t = Tensor::empty(shape);
        auto* dst = reinterpret_cast<uint8_t*>(t.data());
        size_t need = t.nbytes();
        while (need > 0) {  // a weight may straddle shards
          if (shard_pos == bytes.size()) next_shard();
          const size_t k = std::min(need, bytes.size() - shard_pos);
          std::copy(bytes.begin() + shard_pos, bytes.begin() + shard_pos + k, dst);
          dst += k, shard_pos += k, need -= k;
        }
        m.weights.emplace_back(name, t);
      }
      SN_USER_CHECK(shard_pos == bytes.size() && shard == paths.size(), m.path,
                    ": the shards hold more bytes than the manifest's weights (shard ", shard, " of ", paths.size(),
                    ")");
    }
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL(m.path, ": malformed weightsManifest: ", e.what());
  }
  return m;
}

}  // namespace sn::io
