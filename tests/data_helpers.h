// data_helpers.h — small utilities shared by the tests/test_data_*.cpp files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image.h"
#include "engine/tensor.h"

namespace sn::test {

// The synthetic image of tools/fixtures/make_data_fixtures.py: pattern(w, h).
data::Image pattern_image(int w, int h);
// Bytes of a fixture entry (0..255 stored as numbers).
std::vector<uint8_t> fixture_bytes(const std::vector<float>& values);
// A fresh empty directory under the build tree for files a test generates;
// names must be unique per TEST_CASE (CTest runs them in parallel).
std::string scratch_dir(const std::string& name);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
// A minimal PNG encoder (stored, uncompressed deflate) for any bit depth and
// color type, so tests can make 16-bit, gray+alpha or palette files.
std::vector<uint8_t> make_png(int w, int h, int bit_depth, int color_type, const std::vector<uint8_t>& raw_rows,
                              const std::vector<uint8_t>& palette = {});
// Largest |a - b| and the number of differing bytes.
struct ByteDiff {
  int max_abs = 0;
  size_t differing = 0;
};
ByteDiff byte_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace sn::test
