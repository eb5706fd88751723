#include "engine/data/image_guard.h"

#include <cctype>
#include <climits>

#include "engine/check.h"

namespace sn::data {

void check_jpeg_huffman_tables(const uint8_t* d, size_t n, const std::string& name) {
  bool defined[2][4] = {};   // [class: 0 DC, 1 AC][table id 0-3], by the DHT segments read so far
  bool progressive = false;  // the frame header read last was SOF2
  int scans = 0;
  size_t pos = 2;  // after SOI (FF D8)
  while (pos + 1 < n) {
    if (d[pos] != 0xFF) {  // entropy-coded data after a scan: skip to the next marker
      ++pos;
      continue;
    }
    const uint8_t m = d[pos + 1];
    // Fill bytes (FF FF), stuffed zeros (FF 00), restart markers and markers without a length.
    if (m == 0xFF) {
      ++pos;
      continue;
    }
    if (m == 0x00 || (m >= 0xD0 && m <= 0xD8) || m == 0x01) {
      pos += 2;
      continue;
    }
    if (m == 0xD9 || pos + 4 > n) return;  // end of image, or a truncated segment that stb will refuse
    const size_t len = size_t(d[pos + 2]) << 8 | d[pos + 3];  // includes its own 2 bytes
    if (len < 2) return;                                      // stb refuses this segment
    if (m == 0xC4) {
      // One or more tables: class/id byte, 16 counts, then sum(counts) symbols. Like stb,
      // keep reading tables while the segment has bytes left, even if the counts run past
      // it, and read bytes past the end of the file as 0 (stb's stbi__get8 does).
      const size_t start = pos + 4, end = pos + 2 + len;
      for (size_t q = start; q < end && q < n;) {
        size_t codes = 0;
        for (size_t i = q + 1; i <= q + 16 && i < n; ++i) codes += d[i];
        SN_USER_CHECK(codes <= 256, name, ": corrupt JPEG: a Huffman table (DHT segment at byte ", pos, ") lists ",
                      codes, " codes, more than the 256 a table can hold");
        if ((d[q] >> 4) <= 1 && (d[q] & 15) <= 3) defined[d[q] >> 4][d[q] & 15] = true;  // else stb refuses it
        q += 17 + codes;
      }
    }
    if (m >= 0xC0 && m <= 0xC2) progressive = m == 0xC2;
    if (m == 0xDA) {
      // stb decodes every block of the image once per scan, however little data the scan holds.
      SN_USER_CHECK(++scans <= kMaxJpegScans, name, ": corrupt or hostile JPEG: more than ", kMaxJpegScans,
                    " scans (a progressive JPEG has about 10); each would make the decoder go over the whole image");
    }
    if (m == 0xDA && pos + 5 < n) {
      // A scan: component count, then (component id, DC table << 4 | AC table) per component, then
      // spectral start and end. A baseline scan decodes with both tables of each component; a
      // progressive one with the DC table when it starts at coefficient 0, the AC table otherwise.
      const size_t count = d[pos + 4], after = pos + 5 + 2 * count;
      if (after + 1 < n) {
        const bool dc = !progressive || d[after] == 0, ac = !progressive || d[after] > 0;
        for (size_t c = 0; c < count; ++c) {
          const uint8_t t = d[pos + 6 + 2 * c];
          if ((t >> 4) > 3 || (t & 15) > 3) continue;  // stb refuses the scan
          const bool missing_dc = dc && !defined[0][t >> 4], missing_ac = ac && !defined[1][t & 15];
          SN_USER_CHECK(!missing_dc && !missing_ac, name, ": corrupt or truncated JPEG: the scan at byte ", pos,
                        " decodes with Huffman table ", missing_dc ? "DC " : "AC ", missing_dc ? t >> 4 : t & 15,
                        ", which no DHT segment before it defines");
        }
      }
    }
    pos += 2 + len;
  }
}

void check_png_chunks(const uint8_t* d, size_t n, const std::string& name) {
  auto be32 = [&](size_t p) {
    return uint32_t(d[p]) << 24 | uint32_t(d[p + 1]) << 16 | uint32_t(d[p + 2]) << 8 | d[p + 3];
  };
  // Each chunk: 4-byte length, 4-byte type, data, 4-byte CRC.
  for (size_t pos = 8; pos + 8 <= n;) {
    const uint64_t len = be32(pos);
    const std::string type(reinterpret_cast<const char*>(d + pos + 4), 4);
    SN_USER_CHECK(len + 12 <= n - pos, name, ": corrupt or truncated PNG: chunk '", type, "' at byte ", pos, " claims ",
                  len, " bytes but only ", n - pos, " remain in the file");
    if (type == "IEND") return;
    pos += 12 + len;
  }
}

void check_pnm_depth(const uint8_t* d, size_t n, const std::string& name) {
  // "P5" or "P6", then width, height and maxval as decimal numbers separated by
  // whitespace, with '#' comments to the end of a line (as stb parses them).
  size_t p = 2;
  uint64_t v[3] = {0, 0, 0};
  for (auto& x : v) {
    while (p < n && (std::isspace(d[p]) || d[p] == '#')) {
      if (d[p] == '#')
        while (p < n && d[p] != '\n' && d[p] != '\r') ++p;
      else
        ++p;
    }
    if (p >= n || !std::isdigit(d[p])) return;  // a malformed header: stb refuses it
    while (p < n && std::isdigit(d[p])) {
      x = x * 10 + (d[p++] - '0');
      // stb parses the number into an int without an overflow check: refuse it first.
      SN_USER_CHECK(x <= INT_MAX, name, ": corrupt PGM/PPM header: a number with more than 10 digits or above ",
                    INT_MAX);
    }
  }
  SN_USER_CHECK(v[2] <= 255, name, ": 16-bit PGM/PPM (maxval ", v[2], ") is not supported; only 8-bit (maxval <= 255)");
}

}  // namespace sn::data
