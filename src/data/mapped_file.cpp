// Read-only file mappings (see mapped_file.h).
#include "data/mapped_file.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace gt::data {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw gt::Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    throw gt::Error(fmt::format("{}: not a regular, non-empty file", path));
  }
  void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file open
  if (p == MAP_FAILED) throw gt::Error(fmt::format("{}: cannot map: {}", path, std::strerror(err)));
  return std::shared_ptr<const MappedFile>(
      new MappedFile(static_cast<const uint8_t*>(p), size_t(st.st_size)));
}

MappedFile::~MappedFile() { munmap(const_cast<uint8_t*>(data_), size_); }

Bytes mapped_bytes(const std::shared_ptr<const MappedFile>& file, uint64_t offset, uint64_t size) {
  if (offset > file->size() || size > file->size() - offset)
    throw gt::Error("internal: mapped range outside the file");
  return Bytes(file, file->data() + offset, size_t(size));
}

}  // namespace gt::data
