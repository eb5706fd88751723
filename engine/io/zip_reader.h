// zip_reader.h — read the entries of a zip archive, as torch.save writes them.
//
// PyTorch's .pth files (since 1.6) are zip archives whose entries are *stored*
// (not compressed) and 64-byte aligned. This reader parses the central
// directory itself (including the zip64 records PyTorch always writes), maps
// the file, and hands out pointers to the stored bytes after checking each
// entry's CRC-32. Compressed or encrypted entries are rejected with a clear error.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sn::io {

class MappedFile;

struct ZipEntry {
  std::string name;
  uint64_t size = 0;         // uncompressed = stored size
  uint64_t data_offset = 0;  // where the bytes start in the file
  uint32_t crc32 = 0;
  uint16_t method = 0;  // 0 = stored
};

struct ByteSpan {
  const uint8_t* data;
  uint64_t size;
};

class ZipReader {
 public:
  explicit ZipReader(const std::string& path);  // throws sn::Error naming the file if it is not a valid zip
  ~ZipReader();

  const std::string& path() const { return path_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // null if absent
  // The entry's bytes inside the mapping, after checking its CRC-32; an error names the entry.
  ByteSpan read(const ZipEntry& e) const;

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  std::vector<ZipEntry> entries_;
};

}  // namespace sn::io
