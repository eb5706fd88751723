#include "tests/helpers.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace sn::test {

namespace {
const nlohmann::json& entry(const Fixture& f, const std::string& key) {
  static thread_local std::string cached_path;
  static thread_local nlohmann::json cached;
  if (cached_path != f.path) {
    std::ifstream in(f.path);
    REQUIRE(in.good());
    cached = nlohmann::json::parse(in);
    cached_path = f.path;
  }
  INFO("fixture " << f.path << " key " << key);
  REQUIRE(cached.contains(key));
  return cached.at(key);
}
}  // namespace

Fixture load_fixture(const std::string& name) {
  Fixture f{std::string(SN_SOURCE_DIR) + "/tests/fixtures/" + name + ".json"};
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
