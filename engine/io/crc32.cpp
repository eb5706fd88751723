#include "engine/io/crc32.h"

#include <zlib.h>
#include <algorithm>

namespace sn::io {

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  // zlib takes a uInt length: feed blocks of at most 1 GiB.
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    const size_t n = std::min<size_t>(size, size_t(1) << 30);
    crc = static_cast<uint32_t>(::crc32(crc, p, static_cast<uInt>(n)));
    p += n;
    size -= n;
  }
  return crc;
}

}  // namespace sn::io
