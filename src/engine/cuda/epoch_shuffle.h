// The epoch's shuffle of the CUDA backend, shared by its kernels and the host: a 4-round Feistel
// network keyed per (seed, epoch) is a pseudo-random permutation of the training rows computed
// per element (no sort, no buffer). The kernels gather resident rows through it; the host uses
// the same function to stream rows from pinned buffers in the same order, so a run reads the
// same batches wherever its data lives.
#pragma once
#include <cstdint>

#include "engine/cuda/device_state.h"

#if defined(__CUDACC__)
#define GT_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define GT_HOST_DEVICE inline
#endif
#if defined(__CUDA_ARCH__)
#define GT_UNROLL _Pragma("unroll")
#else
#define GT_UNROLL
#endif

namespace gt::engine::cuda {

GT_HOST_DEVICE uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// A 4-round Feistel network is a bijection of [0, 4^h); cycle-walking restricts it to
// [0, rows). That is a pseudo-random permutation computed per element: no sort, no buffer.
GT_HOST_DEVICE uint32_t shuffled_index(uint32_t position, uint32_t rows, const uint32_t key[4],
                                       uint32_t half_bits) {
  const uint32_t h = half_bits;
  const uint32_t mask = (1u << h) - 1u;
  uint32_t x = position;
  do {
    uint32_t left = x >> h, right = x & mask;
    GT_UNROLL
    for (int round = 0; round < 4; ++round) {
      const uint32_t f = mix32(right ^ key[round]) & mask;
      const uint32_t next = left ^ f;
      left = right;
      right = next;
    }
    x = (left << h) | right;
  } while (x >= rows);
  return x;
}

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Fresh counters for epoch `epoch` of a run seeded `seed` over `rows` rows: zero sums and the
// epoch's Feistel keys.
inline EpochCounters epoch_counters(uint64_t seed, int epoch, int64_t rows) {
  EpochCounters fresh;
  uint64_t key_state = seed ^ (0xD1B54A32D192ED03ull * (uint64_t(epoch) + 1));
  for (auto& k : fresh.perm_key) k = uint32_t(splitmix64(key_state));
  uint32_t bits = 2;
  while ((uint64_t(1) << bits) < uint64_t(rows)) bits += 2;
  fresh.perm_half_bits = bits / 2;
  return fresh;
}

}  // namespace gt::engine::cuda
