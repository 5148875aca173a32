// Launch helpers shared by the CUDA backend's kernel files (kernels.cu, cnn_kernels.cu): the grid
// of a grid-stride element-wise kernel, and the dispatch from a DType to its element type.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "engine/cuda/kernels.h"

namespace gt::engine::cuda {

// Blocks of `threads` for n elements, about `per_thread` each, at most 1056 (8 per SM of an
// H100 SXM).
inline int elementwise_blocks(int64_t n, int threads, int per_thread = 4) {
  const int64_t want = (n + int64_t(threads) * per_thread - 1) / (int64_t(threads) * per_thread);
  return int(std::clamp<int64_t>(want, 1, 1056));
}

// Calls f with a null pointer of the element type that `type` names.
template <typename F>
void dispatch(DType type, F&& f) {
  switch (type) {
    case DType::f32:
      f(static_cast<float*>(nullptr));
      break;
    case DType::f16:
      f(static_cast<__half*>(nullptr));
      break;
    case DType::bf16:
      f(static_cast<__nv_bfloat16*>(nullptr));
      break;
  }
}

}  // namespace gt::engine::cuda
