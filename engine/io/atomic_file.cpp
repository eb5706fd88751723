#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "engine/check.h"

namespace sn::io {

static std::string os_error() { return std::strerror(errno); }

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SN_USER_CHECK(fd >= 0, "cannot create ", tmp, ": ", os_error());
  const char* p = static_cast<const char*>(bytes);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? os_error() : "short write";
      ::close(fd);
      ::unlink(tmp.c_str());
      SN_USER_FAIL("cannot write ", path, ": ", why, " (the previous file, if any, is unchanged)");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = os_error();
    ::unlink(tmp.c_str());
    SN_USER_FAIL("cannot write ", path, ": ", why, " (the previous file, if any, is unchanged)");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = os_error();
    ::unlink(tmp.c_str());
    SN_USER_FAIL("cannot rename ", tmp, " to ", path, ": ", why);
  }
  // Make the rename itself durable.
  std::string dir = path;
  int dfd = ::open(::dirname(dir.data()), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<uint8_t> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SN_USER_CHECK(fd >= 0, "cannot open ", path, ": ", os_error());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    SN_USER_FAIL("cannot read ", path, ": not a regular file");
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  SN_USER_CHECK(got == data.size(), "cannot read ", path, ": short read (", got, " of ", data.size(), " bytes)");
  return data;
}

}  // namespace sn::io
