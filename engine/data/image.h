// image.h — an 8-bit RGB image, the currency of the data pipeline.
//
// Pixels are stored row-major, interleaved (HWC): the byte for channel c of
// pixel (x, y) is pixels[(y * width + x) * 3 + c], c = 0 red, 1 green, 2 blue.
// That is PIL's "RGB" mode, so every transform can be compared byte for byte
// with PIL. Decoders convert grayscale, gray+alpha, RGBA and palette images
// to this one layout (see decode.h); the tensor form (CHW float) only appears
// at ToTensor (transforms.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sn::data {

struct Image {
  static constexpr int channels = 3;
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3 bytes

  Image() = default;
  Image(int w, int h, uint8_t fill = 0);  // a w x h image filled with one gray value

  bool empty() const { return width == 0 || height == 0; }
  size_t bytes() const { return pixels.size(); }
  size_t stride() const { return static_cast<size_t>(width) * channels; }  // bytes per row
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * stride(); }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * stride(); }
  uint8_t& at(int x, int y, int c) { return row(y)[x * channels + c]; }
  uint8_t at(int x, int y, int c) const { return row(y)[x * channels + c]; }
};

bool operator==(const Image& a, const Image& b);
inline bool operator!=(const Image& a, const Image& b) { return !(a == b); }

// Writes a PNG (stb_image_write), atomically (engine/io/atomic_file.h);
// throws sn::Error naming the path on failure.
void write_png(const std::string& path, const Image& image);

}  // namespace sn::data
