#include "tests/helpers.h"

#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace sn::test {

namespace {
const nlohmann::json& entry(const Fixture& f, const std::string& key) {
  const nlohmann::json& j = fixture_json(f.path);
  INFO("fixture " << f.path << " key " << key);
  REQUIRE(j.contains(key));
  return j.at(key);
}
}  // namespace

const nlohmann::json& fixture_json(const std::string& name) {
  // One parse per file and process (a ResNet-50 golden file is megabytes); never evicted,
  // so references stay valid. `name` is a fixture's name or the path load_fixture made.
  static std::mutex m;
  static std::map<std::string, nlohmann::json> cache;
  const std::string path = name.find('/') != std::string::npos ? name : fixture_file(name + ".json");
  std::lock_guard<std::mutex> lock(m);
  auto it = cache.find(path);
  if (it == cache.end()) {
    std::ifstream in(path);
    INFO("missing fixture " << path << " (regenerate it with the scripts in tools/fixtures/)");
    REQUIRE(in.good());
    it = cache.emplace(path, nlohmann::json::parse(in)).first;
  }
  return it->second;
}

Tensor fixture_tensor(const std::string& name, const std::string& key) {
  const nlohmann::json& j = fixture_json(name);
  INFO("fixture " << name << " key " << key);
  REQUIRE(j.contains(key));
  const auto& e = j.at(key);
  return Tensor::from_vector(e.at("data").get<std::vector<float>>(), e.at("shape").get<Shape>());
}

std::string fixture_file(const std::string& file) { return std::string(SN_SOURCE_DIR) + "/tests/fixtures/" + file; }

Fixture load_fixture(const std::string& name) {
  Fixture f{fixture_file(name + ".json")};
  std::ifstream in(f.path);
  INFO("missing fixture " << f.path << " (regenerate with tools/fixtures/make_fixtures.py)");
  REQUIRE(in.good());
  return f;
}

std::vector<float> Fixture::data(const std::string& key) const {
  return entry(*this, key).at("data").get<std::vector<float>>();
}
Shape Fixture::shape(const std::string& key) const { return entry(*this, key).at("shape").get<Shape>(); }
Tensor Fixture::tensor(const std::string& key) const { return Tensor::from_vector(data(key), shape(key)); }
double Fixture::number(const std::string& key) const { return entry(*this, key).get<double>(); }
std::vector<int64_t> Fixture::ints(const std::string& key) const {
  return entry(*this, key).at("data").get<std::vector<int64_t>>();
}

std::string data_path(const std::string& rel) { return std::string(SN_DATA_DIR) + "/" + rel; }

}  // namespace sn::test
