#include "engine/data/decode.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/check.h"
#include "engine/data/image_guard.h"
#include "engine/io/atomic_file.h"

// Decompression bombs. stb_image inflates a PNG into a buffer it doubles
// whenever the data goes on (up to 4 GB), and then ignores what lies past the
// pixels: a 4 MB file of compressed zeros with a 1x1 header costs 4 GB. The
// header's size bounds every buffer a valid file needs (at most 8 bytes a pixel:
// 16-bit RGBA, plus PNG's filter byte per row), so each decode gets a budget
// from it and stb's allocations above the budget fail, reported as such.
namespace sn::data::stb_budget {
thread_local size_t limit = SIZE_MAX;  // the largest single allocation allowed now
thread_local bool exceeded = false;
static void* malloc_within(size_t n) { return n > limit ? (exceeded = true, nullptr) : std::malloc(n); }
static void* realloc_within(void* p, size_t n) { return n > limit ? (exceeded = true, nullptr) : std::realloc(p, n); }
// Sets the budget for one decode and restores "unlimited" after it.
struct Scope {
  explicit Scope(size_t bytes) { limit = bytes, exceeded = false; }
  ~Scope() { limit = SIZE_MAX; }
};
}  // namespace sn::data::stb_budget

// The one translation unit that compiles stb_image. Only the formats we accept
// are built in; everything else is refused by detect_format() first anyway.
#define STBI_MALLOC(n) sn::data::stb_budget::malloc_within(n)
#define STBI_REALLOC(p, n) sn::data::stb_budget::realloc_within(p, n)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_PSD
#define STBI_NO_TGA
#define STBI_NO_PIC
#include <stb_image.h>

namespace sn::data {

const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::JPEG:
      return "JPEG";
    case ImageFormat::PNG:
      return "PNG";
    case ImageFormat::BMP:
      return "BMP";
    case ImageFormat::GIF:
      return "GIF";
    case ImageFormat::PNM:
      return "PNM";
    case ImageFormat::TIFF:
      return "TIFF";
    case ImageFormat::WebP:
      return "WebP";
    case ImageFormat::Unknown:
      break;
  }
  return "unknown";
}

static bool starts_with(const uint8_t* d, size_t n, const char* magic, size_t m) {
  if (n < m) return false;
  for (size_t i = 0; i < m; ++i)
    if (d[i] != static_cast<uint8_t>(magic[i])) return false;
  return true;
}

ImageFormat detect_format(const uint8_t* d, size_t n) {
  if (starts_with(d, n, "\xFF\xD8\xFF", 3)) return ImageFormat::JPEG;
  if (starts_with(d, n, "\x89PNG\r\n\x1A\n", 8)) return ImageFormat::PNG;
  if (starts_with(d, n, "BM", 2) && n >= 26) return ImageFormat::BMP;
  if (starts_with(d, n, "GIF87a", 6) || starts_with(d, n, "GIF89a", 6)) return ImageFormat::GIF;
  if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && std::isspace(d[2])) return ImageFormat::PNM;
  if (starts_with(d, n, "II*\0", 4) || starts_with(d, n, "MM\0*", 4)) return ImageFormat::TIFF;
  if (n >= 12 && starts_with(d, n, "RIFF", 4) && starts_with(d + 8, n - 8, "WEBP", 4)) return ImageFormat::WebP;
  return ImageFormat::Unknown;
}

// "starts with 68 65 6c 6c 6f ('hello')": shows what a non-image file is.
static std::string preview(const uint8_t* d, size_t n) {
  std::string hex, text;
  char buf[4];
  for (size_t i = 0; i < n && i < 8; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", d[i]);
    hex += (i ? " " : "") + std::string(buf);
    text += std::isprint(d[i]) ? static_cast<char>(d[i]) : '.';
  }
  return "it starts with " + hex + " ('" + text + "')";
}

static std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? std::string(" (stb_image: ") + r + ")" : std::string();
}

static uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }
static uint32_t be32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

// stb_image reads past the end of a BMP as zeros instead of failing (PIL says
// "image file is truncated"), so compare the file size with what the header
// needs: the pixel-data offset plus height rows of 4-byte-aligned width*bpp bits.
static void check_bmp_complete(const uint8_t* d, size_t n, const std::string& name) {
  SN_USER_CHECK(n >= 30, name, ": truncated BMP: ", n, " bytes is shorter than a BMP header");
  const uint64_t offset = le32(d + 10), header_size = le32(d + 14);
  uint64_t w, h, bpp, compression = 0;
  if (header_size == 12) {  // OS/2 BITMAPCOREHEADER
    w = le16(d + 18), h = le16(d + 20), bpp = le16(d + 24);
  } else {
    SN_USER_CHECK(n >= 34, name, ": truncated BMP: ", n, " bytes is shorter than its header");
    const int32_t sh = static_cast<int32_t>(le32(d + 22));  // negative height: rows stored top-down
    w = le32(d + 18), h = static_cast<uint64_t>(sh < 0 ? -static_cast<int64_t>(sh) : sh);
    bpp = le16(d + 28), compression = le32(d + 30);
  }
  if (compression == 1 || compression == 2) return;  // RLE: stb refuses it anyway
  const uint64_t row_bytes = (w * bpp + 31) / 32 * 4;
  const uint64_t needed = offset + row_bytes * h;
  SN_USER_CHECK(n >= needed, name, ": truncated BMP: the header describes ", w, "x", h, " pixels at ", bpp,
                " bits, which needs ", needed, " bytes, but the file has ", n);
}

ImageInfo probe_image(const uint8_t* data, size_t size, const std::string& name) {
  SN_USER_CHECK(size > 0, name, ": empty file (0 bytes), not an image");
  SN_USER_CHECK(size <= static_cast<size_t>(INT_MAX), name, ": file too large for the decoder (", size, " bytes)");
  ImageInfo info;
  info.format = detect_format(data, size);
  SN_USER_CHECK(info.format != ImageFormat::Unknown, name,
                ": not an image: the content is not JPEG, PNG, BMP, GIF, PPM or PGM, whatever its name says; ",
                preview(data, size));
  SN_USER_CHECK(info.format != ImageFormat::TIFF && info.format != ImageFormat::WebP, name, ": ",
                format_name(info.format), " images are not supported (stb_image reads JPEG, PNG, BMP, GIF, PPM, PGM)");
  SN_USER_CHECK(info.format != ImageFormat::PNM || data[1] == '5' || data[1] == '6', name, ": PNM variant P", data[1],
                " (ASCII or 1-bit) is not supported; only binary PGM (P5) and PPM (P6)");
  // stb_image 2.27 overflows on a bad Huffman table, even while reading the header: check first.
  if (info.format == ImageFormat::JPEG) check_jpeg_huffman_tables(data, size, name);
  if (info.format == ImageFormat::PNM) check_pnm_depth(data, size, name);  // 16-bit: a stb over-read
  if (info.format == ImageFormat::PNG && size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) {
    // Read the size from the IHDR chunk ourselves: stb's header parser already
    // refuses some huge sizes with a terse "too large" before we could name the limit.
    info.width = static_cast<int>(std::min<uint32_t>(be32(data + 16), INT_MAX));
    info.height = static_cast<int>(std::min<uint32_t>(be32(data + 20), INT_MAX));
    return info;
  }
  int comp = 0;
  SN_USER_CHECK(stbi_info_from_memory(data, static_cast<int>(size), &info.width, &info.height, &comp), name,
                ": corrupt or truncated ", format_name(info.format), " header", stb_reason());
  return info;
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options) {
  // 1. The header alone: format, then dimensions, refused before any pixel memory exists.
  const ImageInfo info = probe_image(data, size, name);
  const int64_t pixels = static_cast<int64_t>(info.width) * info.height;
  SN_USER_CHECK(info.width > 0 && info.height > 0, name, ": ", format_name(info.format), " header gives an empty size ",
                info.width, "x", info.height);
  SN_USER_CHECK(pixels <= options.max_pixels, name, ": ", format_name(info.format), " header claims ", info.width, "x",
                info.height, " = ", pixels, " pixels, above the limit of ", options.max_pixels,
                " (DecodeOptions::max_pixels): refusing to allocate for a corrupt or hostile file");
  if (info.format == ImageFormat::BMP) check_bmp_complete(data, size, name);
  if (info.format == ImageFormat::PNG) check_png_chunks(data, size, name);  // image_guard.h says why

  // 2. The pixels. stb converts to 4 channels (gray -> gray, gray, gray; 16 -> 8
  // bits; alpha kept or set to 255) and we drop the alpha. Asking stb for RGBA
  // rather than RGB gives identical values but is faster on JPEGs (docs/PERFORMANCE.md):
  // stb's SIMD YCbCr -> RGB conversion only exists for 4-byte pixels.
  // Every buffer of a valid file fits in 2x its largest need (stb doubles), plus 1 MiB for small images.
  const size_t budget = 2 * (8 * static_cast<size_t>(pixels) + static_cast<size_t>(info.height)) + (1 << 20);
  stb_budget::Scope scope(budget);
  int w = 0, h = 0, comp = 0;
  stbi_uc* p = stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &comp, 4);
  SN_USER_CHECK(p != nullptr || !stb_budget::exceeded, name, ": ", format_name(info.format),
                " data expands beyond the ", budget, " bytes its ", info.width, "x", info.height,
                " header allows: refusing a decompression bomb");
  SN_USER_CHECK(p != nullptr, name, ": cannot decode ", format_name(info.format), ": corrupt or truncated data",
                stb_reason());
  Image img;
  img.width = w;
  img.height = h;
  const size_t n = static_cast<size_t>(w) * h;
  img.pixels.resize(n * Image::channels);
  uint8_t* dst = img.pixels.data();
  for (size_t i = 0; i < n; ++i) {  // RGBA -> RGB: PIL's convert("RGB") drops alpha, no compositing
    dst[3 * i + 0] = p[4 * i + 0];
    dst[3 * i + 1] = p[4 * i + 1];
    dst[3 * i + 2] = p[4 * i + 2];
  }
  stbi_image_free(p);
  SN_USER_CHECK(w == info.width && h == info.height, name, ": decoded size ", w, "x", h, " differs from the header's ",
                info.width, "x", info.height);
  return img;
}

Image load_image(const std::string& path, const DecodeOptions& options) {
  const std::vector<uint8_t> bytes = io::read_file(path);
  return decode_image(bytes.data(), bytes.size(), path, options);
}

}  // namespace sn::data
