// The byte storage of a data set's u8 samples: a read-only span of bytes kept alive by a shared
// owner, which is either a vector (the IDX loader's decompressed file, bytes built in memory) or
// a memory-mapped file (the decoded image cache, data/mapped_file.h). Copies share the bytes,
// so copying a Dataset (the CPU backend keeps its own) or slicing one (the validation split)
// costs no memory: a 12 GB mapped cache stays one 12 GB mapping. Reading is through data(),
// size(), empty(), operator[] and begin()/end(), like a vector. Writing (non-const operator[],
// mutable_data(), resize, push_back, assign, clear) is copy-on-write: bytes shared with
// another Bytes or mapped from a file are first copied into a vector of this value's own, so a
// write never shows through another copy and never touches a cache file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace gt::data {

class Bytes {
 public:
  Bytes() = default;
  // Takes the vector's bytes (no copy). Implicit, so `bytes = std::move(vector)` works.
  Bytes(std::vector<uint8_t> bytes);  // NOLINT(google-explicit-constructor)
  // A view of [data, data + size) that `owner` keeps alive (a mapping, a larger buffer).
  Bytes(std::shared_ptr<const void> owner, const uint8_t* data, size_t size);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t* begin() const { return data_; }
  const uint8_t* end() const { return data_ + size_; }
  const uint8_t& operator[](size_t i) const { return data_[i]; }

  // Bytes [offset, offset + count) of this one, sharing its storage.
  Bytes slice(size_t offset, size_t count) const;
  // Whether both views lie in the same storage (a test of sharing, not of equal content).
  bool shares_storage_with(const Bytes& other) const;

  // Copy-on-write access: the first write to shared or mapped bytes copies them.
  uint8_t* mutable_data();
  uint8_t& operator[](size_t i) { return mutable_data()[i]; }
  void resize(size_t size);
  void push_back(uint8_t byte);
  template <class Iterator>
  void assign(Iterator first, Iterator last) {
    *this = Bytes(std::vector<uint8_t>(first, last));
  }
  void clear() { *this = Bytes(); }

 private:
  // This value's own vector holding exactly its bytes, made by copying when they are shared.
  std::vector<uint8_t>& own();

  std::shared_ptr<std::vector<uint8_t>> vector_;  // set when the storage is a vector
  std::shared_ptr<const void> owner_;             // keeps data_ alive (vector_ or a mapping)
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gt::data
