#include "engine/io/tfjs_reader.h"

#include <fstream>
#include <sys/stat.h>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::io {

TfjsModel read_tfjs(const std::string& path) {
  TfjsModel m;
  struct stat st {};
  m.path = (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) ? path + "/model.json" : path;
  const std::string dir = m.path.substr(0, m.path.find_last_of('/') + 1);  // "" when no slash

  nlohmann::json j;
  {
    std::ifstream in(m.path);
    SN_CHECK(in.good(), "cannot open ", m.path);
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      SN_FAIL(m.path, ": not valid JSON: ", e.what());
    }
  }
  SN_CHECK(j.contains("weightsManifest") && j["weightsManifest"].is_array(), m.path,
           ": no weightsManifest: not a TensorFlow.js model.json");
  m.topology = j.value("modelTopology", nlohmann::json::object());

  for (const auto& group : j["weightsManifest"]) {
    // Stream the group's shards through the weights, one shard in memory at a time.
    const auto& paths = group.at("paths");
    size_t shard = 0, shard_pos = 0;
    std::vector<uint8_t> bytes;
    auto next_shard = [&]() {
      SN_CHECK(shard < paths.size(), m.path, ": the shards end before the manifest's weights do");
      bytes = read_file(dir + paths[shard++].get<std::string>());
      shard_pos = 0;
    };
    for (const auto& w : group.at("weights")) {
      const std::string name = w.at("name").get<std::string>();
      SN_CHECK(w.value("dtype", "float32") == "float32", m.path, ": weight '", name, "' has dtype ",
               w.value("dtype", ""), "; only float32 is supported");
      SN_CHECK(!w.contains("quantization"), m.path, ": weight '", name, "' is quantized; not supported");
      Shape shape = w.at("shape").get<Shape>();
      for (int64_t d : shape) SN_CHECK(d >= 0, m.path, ": weight '", name, "' has a negative dimension");
      Tensor t = Tensor::empty(shape);
      auto* dst = reinterpret_cast<uint8_t*>(t.data());
      size_t need = t.nbytes();
      while (need > 0) {  // a weight may straddle shards
        if (shard_pos == bytes.size()) next_shard();
        const size_t n = std::min(need, bytes.size() - shard_pos);
        std::copy(bytes.begin() + shard_pos, bytes.begin() + shard_pos + n, dst);
        dst += n, shard_pos += n, need -= n;
      }
      m.weights.emplace_back(name, t);
    }
    SN_CHECK(shard_pos == bytes.size() && shard == paths.size(), m.path,
             ": the shards hold more bytes than the manifest's weights (shard ", shard, " of ", paths.size(), ")");
  }
  return m;
}

}  // namespace sn::io
