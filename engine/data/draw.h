// draw.h — just enough drawing for figures: rectangles, images, text, grids.
//
// Used by `scratchnet samples` (training samples, RandomResizedCrop results)
// and by the experiment report (the prediction grid, "Cat(Dog)" in red).
// Text is anti-aliased TrueType (stb_truetype) in DejaVu Sans from the Debian
// package fonts-dejavu-core; SCRATCHNET_FONT=/path/to/font.ttf picks another.
// Everything is clipped to the image, so callers never need bounds checks.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image.h"
#include "engine/tensor.h"

namespace sn::data {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
};
constexpr Color kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGray{110, 110, 110};
constexpr Color kGreen{0, 140, 0}, kRed{200, 0, 0};

void fill_rect(Image& img, int x, int y, int w, int h, Color c);
// Copies src with its top-left corner at (x, y).
void blit(Image& dst, const Image& src, int x, int y);

// Text whose line box has its top-left corner at (x, y). `size_px` is the
// line height in pixels (ascent + descent). Only one line; '\n' is not special.
void draw_text(Image& img, int x, int y, const std::string& text, Color color, float size_px = 16.f);
int text_width(const std::string& text, float size_px = 16.f);
int text_height(float size_px = 16.f);  // the line height in whole pixels

// A tile of a grid: a picture and a caption drawn centered below it.
struct GridTile {
  Image image;
  std::string caption;
  Color caption_color = kBlack;
};
struct GridStyle {
  int columns = 6;
  int padding = 8;          // pixels around and between cells
  float caption_px = 16.f;  // 0: no caption row
  Color background = kWhite;
  std::string title;  // drawn above the grid if not empty
  float title_px = 20.f;
};
// Cells are as large as the largest tile; smaller tiles are centered in theirs.
Image make_grid(const std::vector<GridTile>& tiles, const GridStyle& style = {});

// Scales an image to fit inside max_w x max_h, keeping its aspect ratio
// (PIL-exact bilinear resize, see resample.h).
Image fit_within(const Image& img, int max_w, int max_h);

// A (3, H, W) float tensor back to 8-bit RGB for display: undoes
// Normalize(mean, std) and ToTensor's / 255, rounding and clamping to 0..255.
Image tensor_to_image(const Tensor& chw, std::array<float, 3> mean = {0.f, 0.f, 0.f},
                      std::array<float, 3> std = {1.f, 1.f, 1.f});

}  // namespace sn::data
