// image_guard.h — checks stb_image cannot be trusted with, done before it runs.
//
// Both were found by tools/fuzz/fuzz_image (tests/fixtures/regress/image/).
//
// JPEG Huffman tables.
// Debian 12's stb_image (v2.27) trusts the 16 code-length counts of a DHT
// (define Huffman table) segment: their sum can reach 16 * 255 = 4080 while a
// table holds 256 symbols, so a crafted 1 KB file makes it write up to ~3800
// bytes of the file's own content past the table (a heap buffer overflow,
// found by tools/fuzz/fuzz_image; fixed upstream in stb_image 2.28). This walk
// over the marker segments finds every DHT stb would process and refuses a
// table with more than 256 codes, naming the file, before stb sees any of it.
// The same walk refuses a scan that uses a Huffman table no DHT segment has
// defined before it: stb 2.27 allocates its decoder state without clearing it
// and decodes with whatever the heap held there (uninitialized memory, symbol
// indices out of the table's bounds: UBSan, found by fuzz_image). libjpeg fills
// in the standard tables for such files (Motion-JPEG frames omit them); stb
// cannot, so they are refused with a clear message.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sn::data {

// JPEG scans. stb_image goes over every block of the image once per scan (SOS
// segment), however little entropy-coded data the scan holds, so a 64 KB file
// of thousands of empty scans costs thousands of full decodes. Encoders write
// about 10 scans for a progressive JPEG; the same walk refuses more than
// kMaxJpegScans (libjpeg-turbo's djpeg has such a limit too: -maxscans).
constexpr int kMaxJpegScans = 500;

// Throws sn::Error naming `name` if a Huffman table of the JPEG in d[0, n) is invalid or used undefined,
// or if it has more than kMaxJpegScans scans.
void check_jpeg_huffman_tables(const uint8_t* d, size_t n, const std::string& name);

// PNG chunk lengths. stb_image gathers the IDAT chunks into one buffer that it
// grows to the length a chunk header claims before reading it: an 800-byte
// file claiming a 1.6 GB chunk makes it allocate 1.6 GB. Every chunk must fit
// in what is left of the file (a truncated PNG is refused here, as PIL and stb
// refuse it anyway), checked before stb sees the file.
void check_png_chunks(const uint8_t* d, size_t n, const std::string& name);

// 16-bit PGM/PPM (maxval above 255). stb_image 2.27 converts their channels
// as if they were 8-bit and then reads twice the buffer it allocated (a heap
// over-read). They are refused with a clear message instead, as are header
// numbers above INT_MAX (stb's parser overflows an int on them).
void check_pnm_depth(const uint8_t* d, size_t n, const std::string& name);

}  // namespace sn::data
