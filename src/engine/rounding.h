// Rounding FP32 values to the formats the mixed-precision policies store or feed to GEMMs, so
// the CPU backend can emulate tf32/fp16/bf16 numerics anywhere (and tests can predict them).
// All round to nearest even; fp16 overflows to ±inf like the hardware conversion (that is what
// dynamic loss scaling detects); NaN stays NaN.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/precision.h"

namespace gt::engine {

inline float round_mantissa(float x, int drop_bits);

#if defined(__FLT16_MAX__)
inline float round_fp16(float x) { return float(static_cast<_Float16>(x)); }
#else
// Compilers without _Float16 on this target (clang 14 on x86-64, used for the sanitizer build):
// the same rounding in software. Normal halves keep 10 of float's 23 mantissa bits; below 2^-14
// the step is the fixed 2^-24 of fp16 subnormals; from 65520 up it overflows to infinity.
inline float round_fp16(float x) {
  if (!(x == x) || x - x != 0) return x;  // NaN, ±inf
  const float ax = x < 0 ? -x : x;
  float r;
  if (ax < 6.103515625e-05f) {  // 2^-14: subnormal fp16
    r = std::nearbyint(ax * 16777216.0f) / 16777216.0f;
  } else {
    r = round_mantissa(ax, 13);
    if (r > 65504.0f) r = __builtin_huge_valf();
  }
  return x < 0 ? -r : r;
}
#endif

inline float round_mantissa(float x, int drop_bits) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;  // inf / NaN unchanged
  const uint32_t half = 1u << (drop_bits - 1);
  const uint32_t lsb = (u >> drop_bits) & 1u;
  u += half - 1 + lsb;
  u &= ~((1u << drop_bits) - 1);
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

inline float round_bf16(float x) {
  return round_mantissa(x, 16);
}  // 8-bit exponent, 7-bit mantissa
inline float round_tf32(float x) {
  return round_mantissa(x, 13);
}  // 8-bit exponent, 10-bit mantissa

inline float round_storage(float x, StorageType t) {
  switch (t) {
    case StorageType::f32:
      return x;
    case StorageType::f16:
      return round_fp16(x);
    case StorageType::bf16:
      return round_bf16(x);
  }
  return x;
}

}  // namespace gt::engine
