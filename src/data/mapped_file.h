// A whole file mapped read-only into memory (mmap), unmapped when the last owner lets go. The
// decoded image cache is read this way: its pages come from the page cache on demand and are
// shared by every process reading the same file, so a data set larger than the free memory
// still loads, and Bytes views of it (data/bytes.h) cost nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "data/bytes.h"

namespace gt::data {

class MappedFile {
 public:
  // Maps `path` (a regular, non-empty file); gt::Error naming the file when it cannot.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_;
  size_t size_;
};

// Bytes [offset, offset + size) of a mapping, keeping the mapping alive; gt::Error when the
// range does not lie inside the file.
Bytes mapped_bytes(const std::shared_ptr<const MappedFile>& file, uint64_t offset, uint64_t size);

}  // namespace gt::data
