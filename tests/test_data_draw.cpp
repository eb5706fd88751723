// Drawing for figures: text lands where asked, grids have the right size,
// PNGs round-trip, and tensors convert back to the bytes they came from.
#include "engine/data/decode.h"
#include "engine/data/draw.h"
#include "engine/data/transforms.h"
#include "tests/data_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::data;
using namespace sn::test;

TEST_CASE("draw: text is drawn inside its box, in its color", "[data][draw]") {
  Image img(200, 60, 255);
  const int w = text_width("Cat(Dog)", 20.f), h = text_height(20.f);
  CHECK(w > 40);
  CHECK(w < 120);  // 8 glyphs of a 20 px font
  draw_text(img, 30, 10, "Cat(Dog)", kRed, 20.f);
  int inked = 0, outside = 0, reddish = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      if (img.at(x, y, 1) == 255) continue;  // untouched (white)
      ++inked;
      outside += x < 30 || x >= 30 + w + 1 || y < 10 || y >= 10 + h + 1;
      reddish += img.at(x, y, 0) > 150 && img.at(x, y, 1) < 100;
    }
  CHECK(inked > 100);
  CHECK(outside == 0);
  CHECK(reddish > 30);  // fully covered pixels take the color exactly
  Image tiny(4, 4, 0);
  draw_text(tiny, -10, -5, "clipped", kWhite, 30.f);  // partly outside: clipped, no crash
}

TEST_CASE("draw: grid layout, fill_rect and blit clip", "[data][draw]") {
  std::vector<GridTile> tiles;
  for (int i = 0; i < 24; ++i) tiles.push_back({pattern_image(30 + i % 3, 20), "Dog", kGreen});
  GridStyle st;
  st.columns = 6;
  st.padding = 4;
  st.caption_px = 12.f;
  const Image g = make_grid(tiles, st);
  const int caption_h = text_height(12.f) + 2;
  CHECK(g.width == 4 + 6 * (32 + 4));
  CHECK(g.height == 4 + 4 * (20 + caption_h + 4));
  Image img(10, 10, 0);
  fill_rect(img, -5, 8, 100, 100, kWhite);
  CHECK(img.at(0, 9, 0) == 255);
  CHECK(img.at(0, 7, 0) == 0);
  blit(img, pattern_image(4, 4), 8, -2);
  CHECK(img.at(9, 0, 2) == pattern_image(4, 4).at(1, 2, 2));
}

TEST_CASE("draw: PNG round trip and tensor_to_image undoes ToTensor + Normalize", "[data][draw]") {
  const Image img = pattern_image(37, 23);
  const std::string path = scratch_dir("draw") + "/pattern.png";
  write_png(path, img);
  CHECK(load_image(path) == img);
  Rng rng(0);
  const Tensor t =
      Compose({std::make_shared<ToTensor>(), std::make_shared<Normalize>(kImageNetMean, kImageNetStd)})(img, rng);
  CHECK(tensor_to_image(t, kImageNetMean, kImageNetStd) == img);  // float error << 0.5 level
}
