// Device helpers shared by the backend's kernels (kernels.cu) and the fused small-MLP kernels
// (fused_mlp.cu): conversions between FP32 and the storage types, the rounding a GEMM applies to
// its inputs (storage type, or TF32 for the tf32 policy), warp argmax and sum reductions, and the
// epoch's Feistel-network shuffle (epoch_shuffle.h, which the host shares), so that every path
// reads the same pseudo-random order of the training set.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "engine/cuda/epoch_shuffle.h"

namespace gt::engine::cuda {

template <typename T>
__device__ __forceinline__ float to_f(T x);
template <>
__device__ __forceinline__ float to_f<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ float to_f<__half>(__half x) {
  return __half2float(x);
}
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 x) {
  return __bfloat162float(x);
}

template <typename T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __half from_f<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// x rounded to TF32 (10-bit mantissa, round to nearest, ties away), as the tensor cores see it.
__device__ __forceinline__ float tf32_round(float x) {
  uint32_t bits;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(bits) : "f"(x));
  return __uint_as_float(bits);
}

// Warp-wide argmax by butterfly: every lane ends with the largest value and, among equal
// values, the lowest index.
__device__ __forceinline__ void warp_argmax(float& best, int& best_index) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, best, offset);
    const int other_index = __shfl_xor_sync(0xffffffffu, best_index, offset);
    if (other > best || (other == best && other_index < best_index)) {
      best = other;
      best_index = other_index;
    }
  }
}

// Adam's parameter step, w - step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), given
// 1 / sqrt(1 - beta2^t), with the hardware's approximate square root and division (within 2 ulp of
// the IEEE operations): those are subroutines with a slow-path branch, which keep the compiler
// from interleaving a thread's independent parameters and made the update the longest part of a
// small model's step. Every CUDA optimizer (optimizer_kernel, the fused MLP kernel) uses this one.
__device__ __forceinline__ float adam_step(float w, float m, float v, float step_size,
                                           float inv_bias2_sqrt, float eps) {
  float root;
  asm("sqrt.approx.f32 %0, %1;" : "=f"(root) : "f"(v));
  return w - step_size * __fdividef(m, fmaf(root, inv_bias2_sqrt, eps));
}

// Warp-wide sum by butterfly: every lane ends with the total.
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

}  // namespace gt::engine::cuda
