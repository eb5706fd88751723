// tools/gpu_weights.py, which carries weights to the GPU machine rounded to
// bfloat16: its rounded file must be a valid .snw for our reader (its Python
// writer recomputes every checksum), hold exactly the round-to-nearest-even
// bfloat16 of each weight, and unpack from the pack byte for byte; damage to
// a pack must be refused with the file named.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

std::string tmp_path(const std::string& name) { return std::string(SN_BINARY_DIR) + "/" + name; }

// Runs a shell command; returns its exit status, its stderr in *err.
int run(const std::string& cmd, std::string* err) {
  const std::string err_file = tmp_path("gpu_weights_stderr.txt");
  const int status = std::system((cmd + " 2>" + err_file).c_str());
  std::ifstream f(err_file);
  std::stringstream ss;
  ss << f.rdbuf();
  *err = ss.str();
  return status;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// float32 -> bfloat16 (kept in a float), round to nearest, ties to even.
float bf16_rne(float f) {
  const uint32_t u = bits(f);
  return from_bits(((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16) << 16);
}

}  // namespace

TEST_CASE("gpu_weights.py: bfloat16 pack is a valid .snw, rounded to nearest even, unpacked byte for byte",
          "[io][weights][tools]") {
  std::string err;
  if (run("python3 -c 'import lzma, hashlib, json'", &err) != 0) SN_SKIP("no python3 with lzma on PATH: " + err);

  // Values that pin the rounding down: exact bfloat16 values, ties (to even,
  // both directions), just above and below a tie, negatives, subnormals, zero.
  std::vector<float> v = {0.f,
                          -0.f,
                          1.f,
                          -2.5f,
                          from_bits(0x3F808000u) /* tie, even below */,
                          from_bits(0x3F818000u) /* tie, even above */,
                          from_bits(0x3F808001u),
                          from_bits(0x3F807FFFu),
                          from_bits(0x00000001u) /* subnormal */,
                          3.0e38f,
                          -1.0e-30f};
  Rng rng(3);
  std::vector<float> big(3000);
  for (auto& x : big) x = float(rng.normal()) * 0.05f;
  nn::NamedTensors t = {{"a", Tensor::from_vector(v, {int64_t(v.size())})},
                        {"b.weight", Tensor::from_vector(big, {30, 100})}};
  io::WeightMeta meta;
  meta.architecture = "tiny";
  meta.labels = {"x", "y"};
  meta.metadata = {{"source", "test"}};
  const std::string src = tmp_path("gw_src.snw"), pack = tmp_path("gw.snwpack"), rounded = tmp_path("gw_rounded.snw"),
                    unpacked = tmp_path("gw_unpacked.snw");
  io::write_weight_file(src, meta, t);

  const std::string tool = "python3 " + std::string(SN_SOURCE_DIR) + "/tools/gpu_weights.py";
  REQUIRE(run(tool + " pack " + src + " " + pack + " --rounded " + rounded + " >/dev/null", &err) == 0);
  INFO(err);

  io::WeightFile r(rounded);  // checks magic, header and payload CRCs, every tensor's CRC
  CHECK(r.meta().architecture == "tiny");
  CHECK(r.meta().labels == meta.labels);
  CHECK(r.meta().metadata.contains("bfloat16_rounding"));
  const auto a = r.tensor("a").to_vector(), b = r.tensor("b.weight").to_vector();
  REQUIRE(a.size() == v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("value " << i << " = " << v[i]);
    CHECK(bits(a[i]) == bits(bf16_rne(v[i])));
  }
  CHECK(bits(a[4]) == 0x3F800000u);  // tie: down to the even neighbour
  CHECK(bits(a[5]) == 0x3F820000u);  // tie: up to the even neighbour
  REQUIRE(b.size() == big.size());
  for (size_t i = 0; i < big.size(); ++i) {
    CHECK((bits(b[i]) & 0xFFFFu) == 0u);
    CHECK(std::fabs(b[i] - big[i]) <= std::fabs(big[i]) * (1.f / 256.f));  // half a bfloat16 ulp (8-bit mantissa)
  }

  REQUIRE(run(tool + " unpack " + pack + " " + unpacked + " >/dev/null", &err) == 0);
  CHECK(io::read_file(unpacked) == io::read_file(rounded));

  // One flipped byte in the uncompressed low-byte plane (the pack's last byte).
  auto bytes = io::read_file(pack);
  bytes.back() ^= 0x40;
  const std::string damaged = tmp_path("gw_damaged.snwpack");
  io::write_file_atomic(damaged, bytes.data(), bytes.size());
  CHECK(run(tool + " unpack " + damaged + " " + tmp_path("gw_never.snw") + " >/dev/null", &err) != 0);
  CHECK(err.find(damaged) != std::string::npos);
  CHECK(err.find("sha256") != std::string::npos);
  // A truncated pack.
  io::write_file_atomic(damaged, bytes.data(), bytes.size() - 10);
  CHECK(run(tool + " unpack " + damaged + " " + tmp_path("gw_never.snw") + " >/dev/null", &err) != 0);
  CHECK(err.find("truncated") != std::string::npos);
}
