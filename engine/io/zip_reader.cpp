#include "engine/io/zip_reader.h"

#include <algorithm>
#include <cstring>

#include "engine/check.h"
#include "engine/io/crc32.h"
#include "engine/io/mapped_file.h"

namespace sn::io {

namespace {

// Zip records are little-endian, at any byte offset.
uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return uint32_t(u16(p)) | (uint32_t(u16(p + 2)) << 16); }
uint64_t u64(const uint8_t* p) { return uint64_t(u32(p)) | (uint64_t(u32(p + 4)) << 32); }

constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndLocator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;

}  // namespace

ZipReader::~ZipReader() = default;

ZipReader::ZipReader(const std::string& path) : path_(path) {
  file_ = std::make_unique<MappedFile>(path);
  const uint8_t* base = file_->data();
  const uint64_t size = file_->size();
  auto need = [&](uint64_t off, uint64_t n, const char* what) {
    SN_USER_CHECK(off <= size && n <= size - off, path, ": truncated or corrupt zip archive (", what, " at byte ", off,
                  " runs past the end of the ", size, "-byte file)");
  };

  // 1. The end-of-central-directory record: 22 bytes + a comment of up to 64 KiB, at the very end.
  SN_USER_CHECK(size >= 22, path, ": not a zip archive (", size, " bytes)");
  int64_t eocd = -1;
  const int64_t lowest = std::max<int64_t>(0, static_cast<int64_t>(size) - 22 - 65535);
  for (int64_t p = static_cast<int64_t>(size) - 22; p >= lowest; --p)
    if (u32(base + p) == kEndOfCentralDir) {
      eocd = p;
      break;
    }
  SN_USER_CHECK(eocd >= 0, path, ": not a zip archive (no end-of-central-directory record)");
  uint64_t count = u16(base + eocd + 10);
  uint64_t cd_size = u32(base + eocd + 12);
  uint64_t cd_offset = u32(base + eocd + 16);

  // 2. zip64: the real values are in the zip64 end record, found through its locator just before.
  if (eocd >= 20 && u32(base + eocd - 20) == kZip64EndLocator) {
    const uint64_t z = u64(base + eocd - 20 + 8);
    need(z, 56, "zip64 end record");
    SN_USER_CHECK(u32(base + z) == kZip64End, path, ": corrupt zip64 end record");
    count = u64(base + z + 32);
    cd_size = u64(base + z + 40);
    cd_offset = u64(base + z + 48);
  }
  need(cd_offset, cd_size, "central directory");
  // Each central header is at least 46 bytes: a huge count cannot make us allocate much.
  SN_USER_CHECK(count <= cd_size / 46, path, ": corrupt zip central directory (", count, " entries in ", cd_size,
                " bytes)");

  // 3. The central directory: one header per entry.
  uint64_t p = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    need(p, 46, "central directory header");
    SN_USER_CHECK(u32(base + p) == kCentralHeader, path, ": corrupt zip central directory at byte ", p);
    const uint8_t* h = base + p;
    ZipEntry e;
    const uint16_t flags = u16(h + 8);
    e.method = u16(h + 10);
    e.crc32 = u32(h + 16);
    uint64_t csize = u32(h + 20), usize = u32(h + 24);
    const uint16_t name_len = u16(h + 28), extra_len = u16(h + 30), comment_len = u16(h + 32);
    uint64_t local = u32(h + 42);
    need(p + 46, uint64_t(name_len) + extra_len + comment_len, "central directory entry");
    e.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
    // zip64 extra field (id 1): 8-byte values for the fields saturated at 0xFFFFFFFF, in this order.
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const uint8_t* f = h + 46 + name_len + x;
      const uint16_t id = u16(f), len = u16(f + 2);
      SN_USER_CHECK(x + 4 + len <= extra_len, path, ": corrupt extra field in zip entry '", e.name, "'");
      if (id == 1) {
        uint64_t k = 4;
        auto take = [&](uint64_t& v) {
          if (v != 0xFFFFFFFFu) return;
          SN_USER_CHECK(k + 8 <= 4u + len, path, ": corrupt zip64 field in entry '", e.name, "'");
          v = u64(f + k);
          k += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      x += 4 + len;
    }
    SN_USER_CHECK(!(flags & 1), path, ": zip entry '", e.name, "' is encrypted");
    SN_USER_CHECK(e.method == 0, path, ": zip entry '", e.name, "' is compressed (method ", e.method,
                  "); torch.save stores entries uncompressed, and so must the file");
    SN_USER_CHECK(csize == usize, path, ": zip entry '", e.name, "' is stored but its sizes differ");
    e.size = usize;
    // The data follows the *local* header, whose name and extra field may differ in length.
    need(local, 30, "local header");
    SN_USER_CHECK(u32(base + local) == kLocalHeader, path, ": corrupt local header of zip entry '", e.name, "'");
    e.data_offset = local + 30 + u16(base + local + 26) + u16(base + local + 28);
    need(e.data_offset, e.size, ("data of entry '" + e.name + "'").c_str());
    entries_.push_back(e);
    p += 46 + uint64_t(name_len) + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

ByteSpan ZipReader::read(const ZipEntry& e) const {
  const uint8_t* data = file_->data() + e.data_offset;
  const uint32_t got = crc32(data, e.size);
  SN_USER_CHECK(got == e.crc32, path_, ": zip entry '", e.name, "' is corrupted (CRC-32 mismatch)");
  return {data, e.size};
}

}  // namespace sn::io
