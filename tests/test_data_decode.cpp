// Decoding: formats found from content, PIL's convert("RGB") rules for
// gray / alpha / 16-bit / palette PNGs, and every bad-input case named in
// issue 4 giving an error that names the file and the reason.
#include <filesystem>

#include "engine/check.h"
#include "engine/data/decode.h"
#include "engine/io/atomic_file.h"
#include "tests/data_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::data;
using namespace sn::test;

TEST_CASE("decode: the format comes from the content, not the name", "[data][decode]") {
  // train/Cat/23.jpg is a BMP: it must decode as one.
  const std::string path = data_path("catanddog/train/Cat/23.jpg");
  const auto bytes = io::read_file(path);
  CHECK(detect_format(bytes.data(), bytes.size()) == ImageFormat::BMP);
  const Image img = load_image(path);
  CHECK(img.width == 334);
  CHECK(img.height == 257);
  const auto jpg = io::read_file(data_path("catanddog/train/Cat/7563.jpg"));  // progressive JPEG
  CHECK(detect_format(jpg.data(), jpg.size()) == ImageFormat::JPEG);
  CHECK(load_image(data_path("catanddog/train/Cat/7563.jpg")).width == 320);
}

TEST_CASE("decode: gray, gray+alpha, RGBA, 16-bit and palette PNGs become RGB as PIL's convert('RGB')",
          "[data][decode]") {
  const std::string dir = scratch_dir("decode_modes");
  // One row, two pixels, each with a filter byte 0 in front of the row.
  struct Case {
    const char* name;
    int depth, color;
    std::vector<uint8_t> row, palette;
    std::vector<uint8_t> rgb;  // what PIL's convert("RGB") gives
  };
  const std::vector<Case> cases = {
      {"gray8", 8, 0, {0, 7, 200}, {}, {7, 7, 7, 200, 200, 200}},
      {"gray_alpha", 8, 4, {0, 9, 0, 250, 128}, {}, {9, 9, 9, 250, 250, 250}},  // alpha dropped, not composited
      {"rgba", 8, 6, {0, 1, 2, 3, 0, 4, 5, 6, 77}, {}, {1, 2, 3, 4, 5, 6}},
      {"rgb16",
       16,
       2,
       {0, 0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF, 0x00, 0x01, 0x80, 0x00, 0x7F, 0xFF},
       {},
       {0x12, 0xAB, 0xFF, 0x00, 0x80, 0x7F}},  // high byte, as PIL's "RGB;16B" unpacker
      {"palette", 8, 3, {0, 1, 0}, {10, 20, 30, 40, 50, 60}, {40, 50, 60, 10, 20, 30}},
  };
  for (const auto& c : cases) {
    const std::string path = dir + "/" + c.name + ".png";
    write_bytes(path, make_png(2, 1, c.depth, c.color, c.row, c.palette));
    INFO(c.name);
    const Image img = load_image(path);
    REQUIRE(img.width == 2);
    CHECK(img.pixels == c.rgb);
  }
}

TEST_CASE("decode: binary PPM and PGM, and EXIF orientation ignored", "[data][decode]") {
  const std::string dir = scratch_dir("decode_pnm_exif");
  const std::string ppm = "P6\n2 1\n255\n";
  std::vector<uint8_t> bytes(ppm.begin(), ppm.end());
  bytes.insert(bytes.end(), {1, 2, 3, 250, 251, 252});
  write_bytes(dir + "/a.ppm", bytes);
  CHECK(load_image(dir + "/a.ppm").pixels == std::vector<uint8_t>{1, 2, 3, 250, 251, 252});
  const std::string pgm = "P5\n2 1\n255\n";
  bytes.assign(pgm.begin(), pgm.end());
  bytes.insert(bytes.end(), {9, 200});
  write_bytes(dir + "/a.pgm", bytes);
  CHECK(load_image(dir + "/a.pgm").pixels == std::vector<uint8_t>{9, 9, 9, 200, 200, 200});
  // An APP1 Exif segment saying "rotate 90 degrees" (orientation 6) right after
  // SOI: torchvision's loader ignores it, and so do we (same size, same pixels).
  const auto jpeg = io::read_file(data_path("catanddog/train/Cat/0.jpg"));
  const std::vector<uint8_t> exif = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,  // APP1, length 34
                                     'M',  'M',  0,    42,   0,   0,   0,   8,          // TIFF header
                                     0,    1,    0x01, 0x12, 0,   3,   0,   0,   0, 1,
                                     0,    6,    0,    0,   // 1 entry: Orientation = 6
                                     0,    0,    0,    0};  // no next IFD
  std::vector<uint8_t> rotated = exif;
  rotated.insert(rotated.begin(), {0xFF, 0xD8});  // SOI
  rotated.insert(rotated.end(), jpeg.begin() + 2, jpeg.end());
  write_bytes(dir + "/exif.jpg", rotated);
  CHECK(load_image(dir + "/exif.jpg") == load_image(data_path("catanddog/train/Cat/0.jpg")));
}

// Checks that f throws an sn::Error whose message names `file` and contains `reason`.
static void check_error(const std::function<void()>& f, const std::string& file, const std::string& reason) {
  try {
    f();
    FAIL("no error for " << file);
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(msg.find(file) != std::string::npos);
    CHECK(msg.find(reason) != std::string::npos);
  }
}

static std::vector<uint8_t> cut(const std::vector<uint8_t>& b, size_t n) { return {b.begin(), b.begin() + n}; }
// Overwrites n bytes from `at` with `value`: a file damaged in place, not cut.
static std::vector<uint8_t> corrupt(std::vector<uint8_t> b, size_t at, size_t n, uint8_t value = 0x55) {
  for (size_t i = at; i < at + n && i < b.size(); ++i) b[i] = value;
  return b;
}

TEST_CASE("decode: bad files give errors naming the file and the reason", "[data][decode][bad]") {
  const std::string dir = scratch_dir("decode_bad");
  const auto jpeg = io::read_file(data_path("catanddog/train/Cat/0.jpg"));
  const auto bmp = io::read_file(data_path("catanddog/train/Cat/23.jpg"));
  const auto png = make_png(2, 2, 8, 0, {0, 1, 2, 0, 3, 4});
  size_t dht = 2;  // the first DHT segment (FF C4) of the JPEG
  while (!(jpeg[dht] == 0xFF && jpeg[dht + 1] == 0xC4)) ++dht;
  size_t sos = 2;  // the first scan (FF DA)
  while (!(jpeg[sos] == 0xFF && jpeg[sos + 1] == 0xDA)) ++sos;
  struct Case {
    std::string name;
    std::vector<uint8_t> bytes;
    std::string reason;
  };
  std::vector<uint8_t> huge_png = png;  // IHDR claims 100000 x 100000 (1e10 pixels)
  for (int i : {16, 20}) {
    huge_png[i] = 0x00, huge_png[i + 1] = 0x01, huge_png[i + 2] = 0x86, huge_png[i + 3] = 0xA0;
  }
  std::vector<uint8_t> huge_bmp = bmp;  // BITMAPINFOHEADER width, height = 60000
  for (int i : {18, 22}) huge_bmp[i] = 0x60, huge_bmp[i + 1] = 0xEA, huge_bmp[i + 2] = 0, huge_bmp[i + 3] = 0;
  // 600 more scans (copies of the first scan's header, without data) before the end: stb_image
  // would go over the whole image 601 times.
  std::vector<uint8_t> many_scans(jpeg.begin(), jpeg.end() - 2);
  const size_t sos_len = size_t(jpeg[sos + 2]) << 8 | jpeg[sos + 3];
  for (int i = 0; i < 600; ++i)
    many_scans.insert(many_scans.end(), jpeg.begin() + sos, jpeg.begin() + sos + 2 + sos_len);
  many_scans.insert(many_scans.end(), {0xFF, 0xD9});
  const std::string text = "this is a text file, not a picture\n";
  const std::vector<Case> cases = {
      {"zero.jpg", {}, "empty file (0 bytes)"},
      {"text.jpg", {text.begin(), text.end()}, "not an image"},
      {"truncated.jpg", cut(jpeg, jpeg.size() / 2), "corrupt or truncated"},
      {"no_end.jpg", cut(jpeg, jpeg.size() - 2), "corrupt or truncated"},
      {"header_only.jpg", cut(jpeg, 300), "corrupt or truncated"},
      {"truncated.png", cut(png, png.size() - 20), "corrupt or truncated"},
      {"corrupt_header.jpg", corrupt(jpeg, 20, 200), "corrupt or truncated"},
      {"corrupt_zlib.png", corrupt(png, 41, 2), "corrupt or truncated"},
      // A Huffman table claiming 16 x 200 codes: stb_image 2.27 would write past its tables.
      {"bad_huffman.jpg", corrupt(jpeg, dht + 5, 16, 200), "3200 codes, more than the 256"},
      // The first component's Huffman tables are DC 3 and AC 3, which the file never defines: stb_image
      // 2.27 would decode with uninitialized memory.
      {"undefined_huffman.jpg", corrupt(jpeg, sos + 6, 1, 0x33), "Huffman table DC 3, which no DHT segment"},
      {"many_scans.jpg", many_scans, "more than 500 scans"},
      {"truncated_bmp.jpg", cut(bmp, bmp.size() / 2), "truncated BMP"},
      {"huge.png", huge_png, "above the limit"},
      {"huge_bmp.jpg", huge_bmp, "above the limit"},
      {"tiff.tif", {'I', 'I', '*', 0, 8, 0, 0, 0}, "TIFF images are not supported"},
  };
  for (const auto& c : cases) {
    const std::string path = dir + "/" + c.name;
    write_bytes(path, c.bytes);
    INFO(c.name);
    check_error([&] { load_image(path); }, path, c.reason);
  }
  check_error([&] { load_image(dir + "/missing.jpg"); }, dir + "/missing.jpg", "No such file");
  check_error([&] { load_image(dir); }, dir, "not a regular file");
  // The pixel limit is an option: a small one refuses an ordinary photo before decoding it.
  DecodeOptions small;
  small.max_pixels = 1000;
  check_error([&] { load_image(data_path("catanddog/train/Cat/0.jpg"), small); }, "Cat/0.jpg", "above the limit");
}

TEST_CASE("decode: randomly damaged files are refused or decoded, never a crash", "[data][decode][bad]") {
  // 600 mutations (random bytes overwritten, sometimes cut short) of a
  // baseline JPEG, a progressive JPEG and a BMP. Every outcome must be an
  // Image of the header's size or an sn::Error naming the file. Run under the
  // asan preset this also checks memory safety (it finds stb_image 2.27's
  // Huffman-table overflow unless image_guard.h's check runs first).
  Rng rng(2024);
  int decoded = 0, refused = 0;
  for (const char* rel : {"catanddog/train/Cat/0.jpg", "catanddog/train/Cat/7563.jpg", "catanddog/train/Cat/23.jpg"}) {
    const auto original = io::read_file(data_path(rel));
    for (int it = 0; it < 200; ++it) {
      auto b = original;
      const int flips = int(rng.randint(1, 20));
      for (int k = 0; k < flips; ++k) b[size_t(rng.randint(0, int64_t(b.size()) - 1))] = uint8_t(rng.randint(0, 255));
      if (rng.uniform() < 0.3) b.resize(size_t(rng.randint(0, int64_t(b.size()))));
      try {
        const Image img = decode_image(b.data(), b.size(), "mutant.jpg");
        CHECK(img.pixels.size() == size_t(img.width) * img.height * 3);
        ++decoded;
      } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind("mutant.jpg: ", 0) == 0);
        ++refused;
      }
    }
  }
  INFO("decoded " << decoded << ", refused " << refused);
  CHECK(decoded + refused == 600);
}
