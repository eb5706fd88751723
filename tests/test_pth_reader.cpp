// The .pth reader: a state_dict written by torch 1.13 comes back bit for bit,
// and hostile or damaged files are rejected with clear errors, never executed.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/pth_reader.h"
#include "tests/helpers.h"

using namespace sn;
using namespace std::string_literals;

namespace {

std::string fixture_path(const std::string& name) { return std::string(SN_SOURCE_DIR) + "/tests/fixtures/" + name; }

nlohmann::json read_json(const std::string& name) {
  std::ifstream in(fixture_path(name));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

uint32_t crc_of(const Tensor& t) { return io::crc32(t.data(), t.nbytes()); }

// A minimal zip writer (stored entries, no zip64), enough to build test archives.
void put16(std::string& s, uint16_t v) { s.push_back(char(v & 0xff)), s.push_back(char(v >> 8)); }
void put32(std::string& s, uint32_t v) { put16(s, uint16_t(v & 0xffff)), put16(s, uint16_t(v >> 16)); }
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = io::crc32(data.data(), data.size()), offset = uint32_t(out.size());
    put32(out, 0x04034b50), put16(out, 20), put16(out, 0), put16(out, 0), put32(out, 0);
    put32(out, crc), put32(out, uint32_t(data.size())), put32(out, uint32_t(data.size()));
    put16(out, uint16_t(name.size())), put16(out, 0);
    out += name + data;
    put32(cd, 0x02014b50), put16(cd, 20), put16(cd, 20), put16(cd, 0), put16(cd, 0), put32(cd, 0);
    put32(cd, crc), put32(cd, uint32_t(data.size())), put32(cd, uint32_t(data.size()));
    put16(cd, uint16_t(name.size())), put16(cd, 0), put16(cd, 0), put16(cd, 0), put16(cd, 0), put32(cd, 0);
    put32(cd, offset);
    cd += name;
  }
  const uint32_t cd_offset = uint32_t(out.size());
  out += cd;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0), put16(out, uint16_t(entries.size()));
  put16(out, uint16_t(entries.size())), put32(out, uint32_t(cd.size())), put32(out, cd_offset), put16(out, 0);
  return out;
}

// Pickle fragments (protocol 2), written by hand.
std::string unicode(const std::string& s) {
  std::string o = "X";
  put32(o, uint32_t(s.size()));
  return o + s;
}
// OrderedDict{"w": tensor of 2 floats from data/0}
const std::string kOneTensorPickle = std::string("\x80\x02") + "ccollections\nOrderedDict\n)R(" + unicode("w") +
                                     "ctorch._utils\n_rebuild_tensor_v2\n((" + unicode("storage") +
                                     "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") +
                                     "K\x02tQK\x00K\x02\x85K\x01\x85\x89"s + "ccollections\nOrderedDict\n)RtRu.";

std::string write_pth(const std::string& name, const std::string& pickle, const std::string& storage0) {
  const std::string path = std::string(SN_BINARY_DIR) + "/" + name;
  const std::string zip =
      make_zip({{"archive/data.pkl", pickle}, {"archive/data/0", storage0}, {"archive/version", "3\n"}});
  io::write_file_atomic(path, zip);
  return path;
}

std::string two_floats() {
  const float v[2] = {1.5f, -2.f};
  return std::string(reinterpret_cast<const char*>(v), 8);
}

}  // namespace

TEST_CASE("pth: torch 1.13 state_dicts come back bit for bit, in order", "[io][pth]") {
  const auto fx = read_json("resnet.json");
  for (const std::string model : {"resnet18_w4", "resnet50_w2"}) {
    INFO(model);
    const io::PthStateDict sd = io::read_pth(fixture_path(model + ".pth"));
    const auto& order = fx.at(model + "/order");
    const auto& crcs = fx.at(model + "/crc32");
    REQUIRE(sd.tensors.size() == order.size());
    for (size_t i = 0; i < sd.tensors.size(); ++i) {
      const auto& t = sd.tensors[i];
      INFO(t.name);
      CHECK(t.name == order[i].get<std::string>());
      if (t.name.size() > 19 && t.name.substr(t.name.size() - 19) == "num_batches_tracked") {
        CHECK(t.dtype == "int64");  // not loaded: scratchnet tensors are float32
        CHECK_FALSE(t.value.defined());
      } else {
        CHECK(t.dtype == "float32");
        CHECK(crc_of(t.value) == crcs.at(t.name).get<uint32_t>());  // bit for bit
      }
    }
    CHECK(sd.skipped().size() == (model == "resnet18_w4" ? 20u : 53u));  // one per BatchNorm2d
  }
}

TEST_CASE("pth: shared storages, strides, float64/float16, parameters, scalars, empty", "[io][pth]") {
  const auto fx = read_json("pth_small.json");
  const io::PthStateDict sd = io::read_pth(fixture_path("pth_small.pth"));
  REQUIRE(sd.tensors.size() == fx.at("order").size());
  for (size_t i = 0; i < sd.tensors.size(); ++i) {
    const auto& t = sd.tensors[i];
    const auto& e = fx.at(t.name);
    INFO(t.name);
    CHECK(t.name == fx.at("order")[i].get<std::string>());
    CHECK(t.dtype == e.at("dtype").get<std::string>());
    CHECK(t.shape == e.at("shape").get<Shape>());
    if (t.dtype == "int64") {
      CHECK_FALSE(t.value.defined());
      continue;
    }
    // float64 is rounded to float32 the same way torch's .float() does: exact equality holds.
    CHECK(t.value.to_vector() == e.at("data").get<std::vector<float>>());
    CHECK(crc_of(t.value) == e.at("crc32").get<uint32_t>());
  }
  CHECK(sd.skipped() == std::vector<std::string>{"count"});
}

TEST_CASE("pth: a hand-built archive loads, hostile or damaged ones are rejected", "[io][pth]") {
  SECTION("the hand-built reference archive is valid") {
    const auto path = write_pth("ok.pth", kOneTensorPickle, two_floats());
    const auto sd = io::read_pth(path);
    REQUIRE(sd.tensors.size() == 1);
    CHECK(sd.tensors[0].value.to_vector() == std::vector<float>{1.5f, -2.f});
  }
  SECTION("forbidden global (os.system) is refused before anything could run") {
    const std::string evil = std::string("\x80\x02") + "cos\nsystem\n" + unicode("touch /tmp/pwned") + "\x85R.";
    const auto path = write_pth("evil.pth", evil, two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains(path) && Catch::Contains("forbidden global 'os.system'"));
  }
  SECTION("forbidden global via STACK_GLOBAL (protocol 4)") {
    const std::string evil = std::string("\x80\x04") + "\x8c\x08" + "builtins" + "\x8c\x04" + "eval" + "\x93.";
    const auto path = write_pth("evil4.pth", evil, two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("forbidden global 'builtins.eval'"));
  }
  SECTION("a whitelisted type name may not be called") {
    const std::string p = std::string("\x80\x02") + "ctorch\nFloatStorage\n)R.";
    const auto path = write_pth("call.pth", p, two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path),
                        Catch::Contains("torch.FloatStorage may appear in the file but not be called"));
  }
  SECTION("unsupported opcode") {
    const std::string p = std::string("\x80\x02") + "I42\n.";  // INT (text protocol 0)
    const auto path = write_pth("opcode.pth", p, two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains(path) && Catch::Contains("unsupported pickle opcode 0x49"));
  }
  SECTION("truncated pickle") {
    const auto path = write_pth("trunc.pth", kOneTensorPickle.substr(0, 40), two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains(path) && Catch::Contains("truncated pickle"));
  }
  SECTION("deep nesting is bounded") {
    std::string p = "\x80\x02)";
    for (int i = 0; i < 100; ++i) p += "\x85";  // TUPLE1: ((((),),),)...
    const auto path = write_pth("deep.pth", p + ".", two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("nested deeper than 64"));
  }
  SECTION("a list that would contain itself") {
    const std::string p = std::string("\x80\x02") + "]q\x00h\x00"s + "a.";  // l = []; l.append(l)
    const auto path = write_pth("cycle.pth", p, two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("would contain itself"));
  }
  SECTION("memo read before write") {
    const auto path = write_pth("memo.pth", std::string("\x80\x02h\x05."), two_floats());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("memo key 5 read before it was written"));
  }
  SECTION("tensor reaching past its storage") {
    const auto path = write_pth("bounds.pth", kOneTensorPickle, two_floats().substr(0, 4));
    // the persistent id says 2 elements, the entry holds 1
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("storage '0' should hold 2 elements"));
  }
  SECTION("storage entry missing") {
    const std::string path = std::string(SN_BINARY_DIR) + "/nostorage.pth";
    io::write_file_atomic(path, make_zip({{"archive/data.pkl", kOneTensorPickle}}));
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("archive/data/0"));
  }
  SECTION("damaged storage bytes fail the zip CRC-32") {
    const auto path = write_pth("crc.pth", kOneTensorPickle, two_floats());
    auto bytes = io::read_file(path);
    const std::string marker = "archive/data/0";
    auto it = std::search(bytes.begin(), bytes.end(), marker.begin(), marker.end());
    REQUIRE(it != bytes.end());
    *(it + marker.size()) ^= 0x40;  // the first data byte follows the name in the local header
    io::write_file_atomic(path, bytes.data(), bytes.size());
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains(path) && Catch::Contains("'archive/data/0' is corrupted"));
  }
  SECTION("not a zip, not a torch file") {
    const std::string path = std::string(SN_BINARY_DIR) + "/notzip.pth";
    io::write_file_atomic(path, std::string("just some text, long enough to look for a zip directory"));
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains(path) && Catch::Contains("not a zip archive"));
    io::write_file_atomic(path, make_zip({{"hello.txt", "hi"}}));
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("not a PyTorch file"));
    io::write_file_atomic(path, std::string("\x80\x02\x8a\x0a") + "legacy");
    REQUIRE_THROWS_WITH(io::read_pth(path), Catch::Contains("legacy"));
  }
}
