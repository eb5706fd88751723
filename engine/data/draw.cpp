#include "engine/data/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "engine/check.h"
#include "engine/data/transforms.h"
#include "engine/io/atomic_file.h"

// The one translation unit that compiles stb_truetype.
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb_truetype.h>

namespace sn::data {

void fill_rect(Image& img, int x, int y, int w, int h, Color c) {
  const int x0 = std::max(0, x), x1 = std::min(img.width, x + w);
  const int y0 = std::max(0, y), y1 = std::min(img.height, y + h);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) {
      uint8_t* p = img.row(yy) + 3 * xx;
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
}

void blit(Image& dst, const Image& src, int x, int y) {
  const int x0 = std::max(0, x), x1 = std::min(dst.width, x + src.width);
  if (x0 >= x1) return;
  for (int yy = std::max(0, y); yy < std::min(dst.height, y + src.height); ++yy)
    std::copy_n(src.row(yy - y) + 3 * (x0 - x), 3 * (x1 - x0), dst.row(yy) + 3 * x0);
}

// ---- text ----------------------------------------------------------------------------------

namespace {

struct Font {
  std::vector<uint8_t> ttf;
  stbtt_fontinfo info{};
  int ascent = 0, descent = 0, line_gap = 0;
};

// Loaded once, on first use, from SCRATCHNET_FONT or the Debian path.
const Font& font() {
  static Font f;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("SCRATCHNET_FONT");
    const std::string path = env && *env ? env : "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    try {
      f.ttf = io::read_file(path);
    } catch (const Error& e) {
      SN_FAIL("cannot load the font for text in pictures: ", e.what(),
              ". Install the Debian package fonts-dejavu-core (tools/install-deps.sh does) "
              "or set SCRATCHNET_FONT to a .ttf file");
    }
    SN_CHECK(stbtt_InitFont(&f.info, f.ttf.data(), stbtt_GetFontOffsetForIndex(f.ttf.data(), 0)), "font ", path,
             " is not a TrueType font stb_truetype can read");
    stbtt_GetFontVMetrics(&f.info, &f.ascent, &f.descent, &f.line_gap);
  });
  return f;
}

// UTF-8 to code points; a malformed byte becomes U+FFFD.
std::vector<int> codepoints(const std::string& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    int cp = n == 1 ? c : c & (0x7F >> n);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

float scale_for(const Font& f, float size_px) { return size_px / static_cast<float>(f.ascent - f.descent); }

}  // namespace

int text_height(float size_px) { return static_cast<int>(std::ceil(size_px)); }

int text_width(const std::string& text, float size_px) {
  const Font& f = font();
  const float scale = scale_for(f, size_px);
  const std::vector<int> cps = codepoints(text);
  float x = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, cps[i], &advance, &lsb);
    x += advance * scale;
    if (i + 1 < cps.size()) x += scale * stbtt_GetCodepointKernAdvance(&f.info, cps[i], cps[i + 1]);
  }
  return static_cast<int>(std::ceil(x));
}

void draw_text(Image& img, int x, int y, const std::string& text, Color color, float size_px) {
  const Font& f = font();
  const float scale = scale_for(f, size_px);
  const float baseline = y + f.ascent * scale;
  const std::vector<int> cps = codepoints(text);
  float pen = static_cast<float>(x);
  for (size_t i = 0; i < cps.size(); ++i) {
    // Rasterize the glyph at its sub-pixel position: an 8-bit coverage mask.
    const float shift = pen - std::floor(pen);
    int w = 0, h = 0, xoff = 0, yoff = 0;
    unsigned char* mask =
        stbtt_GetCodepointBitmapSubpixel(&f.info, scale, scale, shift, 0.f, cps[i], &w, &h, &xoff, &yoff);
    const int gx = static_cast<int>(std::floor(pen)) + xoff, gy = static_cast<int>(std::lround(baseline)) + yoff;
    for (int yy = 0; yy < h; ++yy) {
      if (gy + yy < 0 || gy + yy >= img.height) continue;
      for (int xx = 0; xx < w; ++xx) {
        if (gx + xx < 0 || gx + xx >= img.width) continue;
        const int a = mask[yy * w + xx];  // coverage: blend the color over the background
        uint8_t* p = img.row(gy + yy) + 3 * (gx + xx);
        p[0] = static_cast<uint8_t>(p[0] + ((color.r - p[0]) * a + 127) / 255);
        p[1] = static_cast<uint8_t>(p[1] + ((color.g - p[1]) * a + 127) / 255);
        p[2] = static_cast<uint8_t>(p[2] + ((color.b - p[2]) * a + 127) / 255);
      }
    }
    stbtt_FreeBitmap(mask, nullptr);
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, cps[i], &advance, &lsb);
    pen += advance * scale;
    if (i + 1 < cps.size()) pen += scale * stbtt_GetCodepointKernAdvance(&f.info, cps[i], cps[i + 1]);
  }
}

// ---- grids ---------------------------------------------------------------------------------

Image make_grid(const std::vector<GridTile>& tiles, const GridStyle& st) {
  SN_CHECK(!tiles.empty(), "make_grid: no tiles");
  SN_CHECK(st.columns > 0, "make_grid: columns must be positive, got ", st.columns);
  int cell_w = 0, cell_h = 0;
  for (const auto& t : tiles) {
    cell_w = std::max(cell_w, t.image.width);
    cell_h = std::max(cell_h, t.image.height);
  }
  const int caption_h = st.caption_px > 0 ? text_height(st.caption_px) + st.padding / 2 : 0;
  const int title_h = st.title.empty() ? 0 : text_height(st.title_px) + st.padding;
  const int cols = std::min<int>(st.columns, static_cast<int>(tiles.size()));
  const int rows = (static_cast<int>(tiles.size()) + cols - 1) / cols;
  const int pitch_x = cell_w + st.padding, pitch_y = cell_h + caption_h + st.padding;
  Image grid(st.padding + cols * pitch_x, st.padding + title_h + rows * pitch_y);
  fill_rect(grid, 0, 0, grid.width, grid.height, st.background);
  if (!st.title.empty())
    draw_text(grid, (grid.width - text_width(st.title, st.title_px)) / 2, st.padding, st.title, kBlack, st.title_px);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const int cx = st.padding + static_cast<int>(i % cols) * pitch_x;
    const int cy = st.padding + title_h + static_cast<int>(i / cols) * pitch_y;
    const GridTile& t = tiles[i];
    blit(grid, t.image, cx + (cell_w - t.image.width) / 2, cy + (cell_h - t.image.height) / 2);
    if (caption_h && !t.caption.empty())
      draw_text(grid, cx + (cell_w - text_width(t.caption, st.caption_px)) / 2, cy + cell_h + st.padding / 4, t.caption,
                t.caption_color, st.caption_px);
  }
  return grid;
}

Image fit_within(const Image& img, int max_w, int max_h) {
  SN_CHECK(!img.empty() && max_w > 0 && max_h > 0, "fit_within: empty image or size");
  const double s = std::min(double(max_w) / img.width, double(max_h) / img.height);
  const int w = std::max(1, static_cast<int>(std::lround(img.width * s)));
  const int h = std::max(1, static_cast<int>(std::lround(img.height * s)));
  return resize(img, w, h);
}

Image tensor_to_image(const Tensor& chw, std::array<float, 3> mean, std::array<float, 3> std) {
  SN_CHECK(chw.ndim() == 3 && chw.size(0) == 3, "tensor_to_image: expected a (3, H, W) tensor, got ",
           to_string(chw.shape()));
  const std::vector<float> v = chw.to_vector();
  const int h = static_cast<int>(chw.size(1)), w = static_cast<int>(chw.size(2));
  Image img(w, h);
  const size_t plane = static_cast<size_t>(h) * w;
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i) {
      const float x = (v[c * plane + i] * std[c] + mean[c]) * 255.f;
      img.pixels[3 * i + c] = static_cast<uint8_t>(std::clamp(std::lround(x), 0L, 255L));
    }
  return img;
}

}  // namespace sn::data
