// mapped_file.h — a whole file mapped read-only into memory (mmap).
//
// Weight files are large (100 MB for ResNet-50). Mapping them lets the loader
// verify checksums and copy each tensor straight into its destination (a model
// tensor, possibly on the GPU) with no intermediate buffer: the bytes are read
// from disk once, by the page cache, and copied once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sn::io {

class MappedFile {
 public:
  // Throws sn::Error naming the path if it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sn::io
