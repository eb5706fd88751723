// `scratchnet pixels`: runs transforms and prints the raw pixels, for
// comparisons with PIL (tools/fixtures/compare_transforms_pil.py).
//
// Reads one job per line on stdin:  <source> TAB <op>;<op>;...
//   source:  an image file (decoded with stb_image), or raw:<path>:<w>:<h>
//            for w*h*3 bytes of RGB (e.g. PIL's own decoding of a file)
//   ops:     decode (nothing) | resize=W,H | resize_short=S | center=S |
//            crop=top,left,h,w | resized_crop=top,left,h,w,W,H
// and answers each with a record on stdout, flushed: int32 width, int32
// height, then width*height*3 bytes; or, on error, int32 -1, int32 length
// and the error message.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "engine/check.h"
#include "engine/data/decode.h"
#include "engine/data/transforms.h"
#include "engine/io/atomic_file.h"
#include "tools/scratchnet/commands.h"

using namespace sn::data;

namespace {

std::vector<int> numbers(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoi(item));
  return v;
}

Image load_source(const std::string& src) {
  if (src.rfind("raw:", 0) != 0) return load_image(src);
  const size_t a = src.rfind(':'), b = src.rfind(':', a - 1);
  const std::string path = src.substr(4, b - 4);
  Image img;
  img.width = std::stoi(src.substr(b + 1, a - b - 1));
  img.height = std::stoi(src.substr(a + 1));
  img.pixels = sn::io::read_file(path);
  SN_CHECK(img.pixels.size() == img.bytes() && img.pixels.size() == size_t(img.width) * img.height * 3, path,
           ": expected ", img.width, "x", img.height, "x3 bytes, got ", img.pixels.size());
  return img;
}

Image run_ops(Image img, const std::string& ops) {
  std::stringstream ss(ops);
  std::string op;
  while (std::getline(ss, op, ';')) {
    const size_t eq = op.find('=');
    const std::string name = op.substr(0, eq), args = eq == std::string::npos ? "" : op.substr(eq + 1);
    const std::vector<int> n = numbers(args);
    if (name == "decode") continue;
    if (name == "resize" && n.size() == 2) {
      img = resize(img, n[0], n[1]);
    } else if (name == "resize_short" && n.size() == 1) {
      const auto wh = shorter_side_size(img.width, img.height, n[0]);
      img = resize(img, wh[0], wh[1]);
    } else if (name == "center" && n.size() == 1) {
      const CropBox b = center_crop_box(img.width, img.height, n[0], n[0]);
      img = crop(img, b);
    } else if (name == "crop" && n.size() == 4) {
      img = crop(img, CropBox{n[0], n[1], n[2], n[3]});
    } else if (name == "resized_crop" && n.size() == 6) {
      img = resized_crop(img, CropBox{n[0], n[1], n[2], n[3]}, n[4], n[5]);
    } else {
      SN_USER_FAIL("pixels: unknown op '", op, "'");
    }
  }
  return img;
}

void write_record(int32_t a, int32_t b, const void* data, size_t n) {
  std::fwrite(&a, 4, 1, stdout);
  std::fwrite(&b, 4, 1, stdout);
  std::fwrite(data, 1, n, stdout);
  std::fflush(stdout);
}

int run_pixels() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    try {
      SN_USER_CHECK(tab != std::string::npos, "pixels: expected '<source>\\t<ops>', got '", line, "'");
      const Image img = run_ops(load_source(line.substr(0, tab)), line.substr(tab + 1));
      write_record(img.width, img.height, img.pixels.data(), img.pixels.size());
    } catch (const std::exception& e) {
      const std::string msg = e.what();
      write_record(-1, static_cast<int32_t>(msg.size()), msg.data(), msg.size());
    }
  }
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd =
      app.add_subcommand("pixels", "Apply transforms to images listed on stdin, print raw RGB (for parity checks)");
  cmd->callback([] { sn::cli::run([] { return run_pixels(); }); });
});
