// atomic_file.h — write a file so that readers see the old content or the new
// content, never a mix: write to "<path>.tmp.<pid>", fsync, rename over
// <path>, fsync the directory. A crash or a full disk leaves the previous file
// intact and at most a stray temporary file, which the next write replaces.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sn::io {

// Writes `bytes` to `path` atomically; throws sn::Error naming the path and
// the OS error (e.g. "No space left on device") on failure, removing the temp file.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);
inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

// Reads a whole file; throws sn::Error naming the path if it cannot be read.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace sn::io
