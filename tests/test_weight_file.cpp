// The .snw weight format: round trip, and one distinct error per kind of damage.
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/weight_file.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

// A two-tensor module standing in for a model: "w" (2,3) and "sub.b" (4).
struct Leaf : nn::Module {
  Tensor b = Tensor::zeros({4});
  Leaf() { register_parameter("b", &b); }
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Leaf"; }
};
struct Tiny : nn::Module {
  Tensor w = Tensor::zeros({2, 3});
  std::shared_ptr<Leaf> sub = std::make_shared<Leaf>();
  Tiny() {
    register_parameter("w", &w);
    register_module("sub", sub);
  }
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Tiny"; }
};

io::WeightMeta tiny_meta() {
  io::WeightMeta m;
  m.architecture = "tiny";
  m.model = {{"width", 3}};
  m.preprocessing.channel_order = "BGR";
  m.preprocessing.scale = 1.0;
  m.preprocessing.mean = {103.939, 116.779, 123.68};
  m.preprocessing.std = {1, 1, 1};
  m.labels = {"zero", "one"};
  m.metadata = {{"source", "test"}};
  return m;
}

std::string tmp_path(const std::string& name) { return std::string(SN_BINARY_DIR) + "/" + name; }

// Writes a valid file with w = 0..5 and sub.b = 10..13; returns its bytes.
std::vector<uint8_t> write_tiny(const std::string& path) {
  nn::NamedTensors t = {{"w", Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3})},
                        {"sub.b", Tensor::from_vector({10, 11, 12, 13}, {4})}};
  io::write_weight_file(path, tiny_meta(), t);
  return io::read_file(path);
}

void save(const std::string& path, const std::vector<uint8_t>& bytes) {
  io::write_file_atomic(path, bytes.data(), bytes.size());
}

uint64_t u64_at(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[at + i];
  return v;
}

}  // namespace

TEST_CASE("weight file: round trip keeps values, metadata and 64-byte alignment", "[io][weights]") {
  const std::string path = tmp_path("tiny.snw");
  const auto bytes = write_tiny(path);
  CHECK(std::memcmp(bytes.data(), "SNWEIGHT", 8) == 0);
  const uint64_t payload_offset = u64_at(bytes, 24);
  CHECK(payload_offset % 64 == 0);

  io::WeightFile f(path);
  CHECK(f.version() == 1);
  CHECK(f.meta().architecture == "tiny");
  CHECK(f.meta().model["width"] == 3);
  CHECK(f.meta().preprocessing.channel_order == "BGR");
  CHECK(f.meta().preprocessing.mean[0] == 103.939);
  CHECK(f.meta().labels == std::vector<std::string>{"zero", "one"});
  REQUIRE(f.tensors().size() == 2);
  CHECK(f.tensors()[0].name == "w");  // file order = write order
  CHECK(f.tensors()[1].offset % 64 == 0);
  CHECK(f.tensors()[1].offset >= 24);
  CHECK(f.tensor("sub.b").to_vector() == std::vector<float>{10, 11, 12, 13});
  const float expect_w[] = {0, 1, 2, 3, 4, 5};
  CHECK(f.tensors()[0].crc32 == io::crc32(expect_w, sizeof expect_w));

  Tiny m;
  f.load_into(m);
  CHECK(m.w.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(m.sub->b.to_vector() == std::vector<float>{10, 11, 12, 13});
  CHECK(io::crc32("123456789", 9) == 0xCBF43926u);  // the standard CRC-32 check value
}

TEST_CASE("weight file: each kind of damage gives its own error naming file and tensor", "[io][weights]") {
  const std::string good = tmp_path("tiny_good.snw"), bad = tmp_path("tiny_bad.snw");
  const auto bytes = write_tiny(good);
  const uint64_t payload_offset = u64_at(bytes, 24);

  SECTION("wrong magic") {
    auto b = bytes;
    b[0] = 'X';
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("bad magic"));
  }
  SECTION("not a weight file at all (a text file)") {
    io::write_file_atomic(bad, std::string("hello"));
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("bad magic"));
  }
  SECTION("wrong version") {
    auto b = bytes;
    b[8] = 7;
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("unsupported format version 7"));
  }
  SECTION("truncated in the data") {
    auto b = bytes;
    b.resize(b.size() - 10);
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("truncated"));
  }
  SECTION("truncated in the fixed header") {
    auto b = bytes;
    b.resize(40);
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("truncated"));
  }
  SECTION("flipped payload byte: the checksum error names the damaged tensor") {
    auto b = bytes;
    b[payload_offset + 64 + 5] ^= 0x10;  // inside "sub.b", the second tensor
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad),
                        Catch::Contains(bad) && Catch::Contains("checksum mismatch") && Catch::Contains("'sub.b'"));
  }
  SECTION("flipped byte in the padding between tensors") {
    auto b = bytes;
    b[payload_offset + 40] ^= 1;  // "w" is 24 bytes: 24..63 is padding
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("payload checksum mismatch"));
  }
  SECTION("flipped byte in the JSON header") {
    auto b = bytes;
    b[64 + 20] ^= 0x01;
    save(bad, b);
    REQUIRE_THROWS_WITH(io::WeightFile(bad), Catch::Contains(bad) && Catch::Contains("header checksum mismatch"));
  }
  SECTION("missing tensor") {
    io::write_weight_file(bad, tiny_meta(), {{"w", Tensor::zeros({2, 3})}});
    io::WeightFile f(bad);
    Tiny m;
    REQUIRE_THROWS_WITH(f.load_into(m),
                        Catch::Contains(bad) && Catch::Contains("missing tensor 'sub.b'") && Catch::Contains("(4,)"));
  }
  SECTION("wrong shape") {
    io::write_weight_file(bad, tiny_meta(), {{"w", Tensor::zeros({3, 2})}, {"sub.b", Tensor::zeros({4})}});
    io::WeightFile f(bad);
    Tiny m;
    m.w.fill_(7.f);
    REQUIRE_THROWS_WITH(f.load_into(m), Catch::Contains(bad) && Catch::Contains("tensor 'w' has shape (3, 2)") &&
                                            Catch::Contains("expects (2, 3)"));
    CHECK(m.w.to_vector()[0] == 7.f);  // a failed load changes nothing
  }
  SECTION("unexpected tensor: an error unless allowed") {
    io::write_weight_file(bad, tiny_meta(),
                          {{"w", Tensor::zeros({2, 3})}, {"sub.b", Tensor::ones({4})}, {"extra", Tensor::zeros({1})}});
    io::WeightFile f(bad);
    Tiny m;
    REQUIRE_THROWS_WITH(f.load_into(m), Catch::Contains(bad) && Catch::Contains("unexpected tensor 'extra'"));
    f.load_into(m, /*allow_unexpected=*/true);
    CHECK(m.sub->b.to_vector() == std::vector<float>{1, 1, 1, 1});
  }
  SECTION("unknown tensor name asked for") {
    io::WeightFile f(good);
    REQUIRE_THROWS_WITH(f.tensor("nope"), Catch::Contains(good) && Catch::Contains("'nope'"));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(io::WeightFile(tmp_path("does-not-exist.snw")), Catch::Contains("does-not-exist.snw"));
  }
  std::remove(bad.c_str());
}
