// PIL-exact bilinear resize: fixed-point coefficients, the fast path against
// the reference transcription, and both against bytes produced by PIL.
#include "engine/data/resample.h"
#include "tests/data_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::data;
using namespace sn::test;

TEST_CASE("resample: coefficients are PIL's triangle, normalized, 22-bit fixed point", "[data][resize]") {
  // 4 -> 2: scale 2, so the triangle is 2 wide on each side. Output pixel 0
  // is centred at input 1.0; pixels 0, 1, 2 (centres 0.5, 1.5, 2.5) are at
  // distances 0.5, 0.5, 1.5: weights 1 - d/2 = 0.75, 0.75, 0.25, normalized 3/7, 3/7, 1/7.
  const ResampleCoeffs c = bilinear_coeffs(4, 0.f, 4.f, 2);
  REQUIRE(c.ksize == 5);
  CHECK(c.first[0] == 0);
  CHECK(c.count[0] == 3);
  CHECK(c.weights[0] == Approx(0.75 / 1.75));
  CHECK(c.weights[2] == Approx(0.25 / 1.75));
  CHECK(c.fixed[0] == static_cast<int32_t>(0.5 + 0.75 / 1.75 * (1 << 22)));
  // Every output's fixed-point weights sum to 2^22 within the rounding of each tap.
  for (auto [in, out] : {std::pair{500, 256}, {256, 224}, {97, 300}, {1920, 7}}) {
    const ResampleCoeffs k = bilinear_coeffs(in, 0.f, float(in), out);
    for (int o = 0; o < out; ++o) {
      int64_t sum = 0;
      for (int t = 0; t < k.count[o]; ++t) sum += k.fixed[size_t(o) * k.ksize + t];
      CHECK(std::abs(sum - (int64_t(1) << 22)) <= k.count[o]);
      CHECK(k.first[o] >= 0);
      CHECK(k.first[o] + k.count[o] <= in);
    }
  }
}

TEST_CASE("resample: fast CPU path equals the reference byte for byte", "[data][resize]") {
  Rng rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const int iw = int(rng.randint(1, 120)), ih = int(rng.randint(1, 120));
    const int ow = int(rng.randint(1, 150)), oh = int(rng.randint(1, 150));
    Image img(iw, ih);
    for (auto& b : img.pixels) b = uint8_t(rng.randint(0, 255));
    ResizeBox box = full_box(img);
    if (trial % 3 == 0) {  // a fractional sub-box, as PIL's resize(box=...) allows
      box.x0 = float(rng.uniform(0, iw * 0.4));
      box.y0 = float(rng.uniform(0, ih * 0.4));
      box.x1 = float(rng.uniform(iw * 0.6, iw));
      box.y1 = float(rng.uniform(ih * 0.6, ih));
    }
    INFO(iw << "x" << ih << " -> " << ow << "x" << oh);
    CHECK(cpu::resize_bilinear(img, ow, oh, box) == ref::resize_bilinear(img, ow, oh, box));
  }
}

TEST_CASE("resample: equals PIL's Image.resize(BILINEAR) exactly on synthetic images", "[data][resize][pil]") {
  // tests/fixtures/data_resize_pil.json: Pillow's output for shrinks, enlargements,
  // one-axis resizes, fractional boxes, identity, 1-pixel images. Exact: the
  // arithmetic is integer after the (identical) double coefficient computation.
  const Fixture fx = load_fixture("data_resize_pil");
  const int cases = 11;
  for (int i = 0; i < cases; ++i) {
    const std::string key = "case" + std::to_string(i);
    const auto a = fx.data(key + "_args");
    const int iw = int(a[0]), ih = int(a[1]), ow = int(a[2]), oh = int(a[3]);
    const ResizeBox box{a[4], a[5], a[6], a[7]};
    const Image in = pattern_image(iw, ih);
    const auto expect = fixture_bytes(fx.data(key));
    INFO(key << ": " << iw << "x" << ih << " -> " << ow << "x" << oh << " box (" << box.x0 << ", " << box.y0 << ", "
             << box.x1 << ", " << box.y1 << ")");
    const Image fast = cpu::resize_bilinear(in, ow, oh, box), slow = ref::resize_bilinear(in, ow, oh, box);
    REQUIRE(fast.width == ow);
    REQUIRE(fast.height == oh);
    const ByteDiff d = byte_diff(fast.pixels, expect);
    INFO("max diff " << d.max_abs << ", differing bytes " << d.differing);
    CHECK(d.differing == 0);
    CHECK(slow.pixels == expect);
  }
}

TEST_CASE("resample: bad sizes and boxes are errors, not crashes", "[data][resize]") {
  const Image img = pattern_image(10, 8);
  CHECK_THROWS_WITH(cpu::resize_bilinear(img, 0, 5, full_box(img)), Catch::Contains("output size must be positive"));
  CHECK_THROWS_WITH(cpu::resize_bilinear(img, 5, 5, ResizeBox{0, 0, 11, 8}), Catch::Contains("exceeds"));
  CHECK_THROWS_WITH(cpu::resize_bilinear(img, 5, 5, ResizeBox{-1, 0, 5, 8}), Catch::Contains("negative"));
  CHECK_THROWS_WITH(cpu::resize_bilinear(img, 5, 5, ResizeBox{3, 0, 3, 8}), Catch::Contains("empty"));
  CHECK_THROWS_WITH(cpu::resize_bilinear(Image(), 5, 5, ResizeBox{0, 0, 0, 0}),
                    Catch::Contains("input image is empty"));
}
