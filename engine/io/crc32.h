// crc32.h — the checksum of weight files and zip archives.
//
// CRC-32 as in zip, PNG and gzip (polynomial 0xEDB88320 reflected, initial and
// final xor 0xFFFFFFFF; crc32("123456789") = 0xCBF43926), computed by zlib.
// Python gives the same value with zlib.crc32(data).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sn::io {

// `crc` continues a previous call (start with 0), so a long stream can be fed in pieces.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace sn::io
