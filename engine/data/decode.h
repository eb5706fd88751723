// decode.h — image files to RGB Images, with stb_image, as PIL would read them.
//
// What torchvision's default loader does, `Image.open(f).convert("RGB")`, is
// reproduced here:
//   - the format is found from the content (magic bytes), never from the file
//     name: six ".jpg" files of the cat/dog set are really BMPs;
//   - grayscale becomes RGB by copying the gray value into R, G and B;
//     gray+alpha and RGBA drop the alpha channel (no compositing on a
//     background, exactly like convert("RGB")); palette images are expanded;
//   - 16-bit PNGs keep their high byte (as PIL does for 16-bit RGB);
//   - EXIF orientation is ignored, as torchvision's loader ignores it.
// Baseline and progressive JPEG, PNG, BMP, GIF (first frame), PPM and PGM
// (binary) decode; TIFF and WebP are recognised and refused with a clear
// message (stb_image cannot read them).
//
// Bad input never crashes and never yields garbage: an empty file, a file
// that is not an image, a truncated or corrupt file, or a header that claims
// more pixels than DecodeOptions::max_pixels (checked from the header before
// any pixel memory is allocated) throws sn::Error naming the file and the reason.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/data/image.h"

namespace sn::data {

enum class ImageFormat { Unknown, JPEG, PNG, BMP, GIF, PNM, TIFF, WebP };
const char* format_name(ImageFormat f);

// The format announced by the first bytes of a file (Unknown if none matches).
ImageFormat detect_format(const uint8_t* data, size_t size);

struct DecodeOptions {
  // PIL's Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3): above it PIL
  // warns of a "decompression bomb"; here such a header is refused outright.
  int64_t max_pixels = 89478485;
};

// Width, height and format read from the header only (no pixel decoding).
struct ImageInfo {
  int width = 0, height = 0;
  ImageFormat format = ImageFormat::Unknown;
};
ImageInfo probe_image(const uint8_t* data, size_t size, const std::string& name);

// Decodes an encoded image held in memory; `name` (usually the path) is used in error messages.
Image decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options = {});

// Reads and decodes a file.
Image load_image(const std::string& path, const DecodeOptions& options = {});

}  // namespace sn::data
