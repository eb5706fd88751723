// The TF.js reader: shards are one byte stream cut in manifest order.
#include <sys/stat.h>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/tfjs_reader.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

// A model dir with weights a (2,3) = 0..5 and b (5) = 6..10, split over shards
// of 16 and 28 bytes, so that `a` straddles the boundary.
std::string make_model(const std::string& name, const std::string& dtype = "float32", size_t drop = 0,
                       size_t extra = 0) {
  const std::string dir = std::string(SN_BINARY_DIR) + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  std::vector<float> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::string bytes(reinterpret_cast<const char*>(all.data()), all.size() * 4);
  bytes = bytes.substr(0, bytes.size() - drop) + std::string(extra, '\0');
  io::write_file_atomic(dir + "/s1.bin", bytes.substr(0, 16));
  io::write_file_atomic(dir + "/s2.bin", bytes.substr(16));
  nlohmann::json j = {{"format", "layers-model"},
                      {"modelTopology", {{"keras_version", "test"}}},
                      {"weightsManifest",
                       {{{"paths", {"s1.bin", "s2.bin"}},
                         {"weights",
                          {{{"name", "a"}, {"shape", {2, 3}}, {"dtype", dtype}},
                           {{"name", "b"}, {"shape", {5}}, {"dtype", "float32"}}}}}}}};
  io::write_file_atomic(dir + "/model.json", j.dump());
  return dir;
}

}  // namespace

TEST_CASE("tfjs: shards concatenate in manifest order and are cut by the weight list", "[io][tfjs]") {
  const std::string dir = make_model("tfjs_ok");
  for (const std::string& path : {dir, dir + "/model.json"}) {
    const io::TfjsModel m = io::read_tfjs(path);
    REQUIRE(m.weights.size() == 2);
    CHECK(m.weights[0].first == "a");
    CHECK(m.weights[0].second.shape() == Shape{2, 3});
    CHECK(m.weights[0].second.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
    CHECK(m.weights[1].second.to_vector() == std::vector<float>{6, 7, 8, 9, 10});
    CHECK(m.topology["keras_version"] == "test");
  }
}

TEST_CASE("tfjs: short or long shards and other dtypes are errors naming the file", "[io][tfjs]") {
  const std::string short_dir = make_model("tfjs_short", "float32", 4);
  REQUIRE_THROWS_WITH(io::read_tfjs(short_dir), Catch::Contains("model.json") && Catch::Contains("shards end before"));
  const std::string long_dir = make_model("tfjs_long", "float32", 0, 8);
  REQUIRE_THROWS_WITH(io::read_tfjs(long_dir), Catch::Contains("more bytes than the manifest"));
  const std::string int_dir = make_model("tfjs_int", "int32");
  REQUIRE_THROWS_WITH(io::read_tfjs(int_dir), Catch::Contains("weight 'a' has dtype int32"));
  REQUIRE_THROWS_WITH(io::read_tfjs(std::string(SN_BINARY_DIR) + "/no-such-model"), Catch::Contains("no-such-model"));
}
