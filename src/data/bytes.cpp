// Shared, copy-on-write byte storage (see bytes.h).
#include "data/bytes.h"

#include "common/error.h"

namespace gt::data {

Bytes::Bytes(std::vector<uint8_t> bytes)
    : vector_(std::make_shared<std::vector<uint8_t>>(std::move(bytes))), owner_(vector_) {
  data_ = vector_->data();
  size_ = vector_->size();
}

Bytes::Bytes(std::shared_ptr<const void> owner, const uint8_t* data, size_t size)
    : owner_(std::move(owner)), data_(data), size_(size) {}

Bytes Bytes::slice(size_t offset, size_t count) const {
  if (offset > size_ || count > size_ - offset)
    throw gt::Error("internal: byte slice out of range");
  Bytes out = *this;
  out.data_ = data_ + offset;
  out.size_ = count;
  return out;
}

bool Bytes::shares_storage_with(const Bytes& other) const {
  return owner_ != nullptr && owner_ == other.owner_;
}

std::vector<uint8_t>& Bytes::own() {
  // vector_ and owner_ share one control block: a value alone with its vector counts 2.
  const bool sole_whole_vector =
      vector_ && vector_.use_count() == 2 && data_ == vector_->data() && size_ == vector_->size();
  if (!sole_whole_vector) *this = Bytes(std::vector<uint8_t>(begin(), end()));
  return *vector_;
}

uint8_t* Bytes::mutable_data() {
  std::vector<uint8_t>& v = own();
  return v.data();
}

void Bytes::resize(size_t size) {
  std::vector<uint8_t>& v = own();
  v.resize(size);
  data_ = v.data();
  size_ = v.size();
}

void Bytes::push_back(uint8_t byte) {
  std::vector<uint8_t>& v = own();
  v.push_back(byte);
  data_ = v.data();
  size_ = v.size();
}

}  // namespace gt::data
