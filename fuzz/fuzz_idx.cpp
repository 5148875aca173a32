// Fuzz target: IDX decoding (MNIST / Fashion-MNIST files) from arbitrary bytes. A malformed file
// must be a gt::Error, never a crash, an overflow or a huge allocation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const auto a = gt::data::parse_idx(bytes, "fuzz.idx");
    uint64_t total = 1;
    for (auto d : a.dims) total *= static_cast<uint64_t>(d);
    if (total != a.bytes.size()) __builtin_trap();
  } catch (const gt::Error&) {
  }
  return 0;
}
