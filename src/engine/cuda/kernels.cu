// The backend's own CUDA kernels (everything that is not a GEMM): the on-GPU gather with its
// Feistel-network shuffle, the fused FP32 softmax cross-entropy, the inf/NaN check and the fused
// optimizer with on-device loss scaling, and the unfused bias/ReLU/dropout kernels that stand in
// for the cuBLASLt epilogues (used when fusion is off or unsupported, and by the invariance
// tests). Templates over float, __half and __nv_bfloat16; launchers dispatch on DType.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>

#include "engine/cuda/check.h"
#include "engine/cuda/device_math.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"
#include "engine/loss_scale_rule.h"

namespace gt::engine::cuda {
namespace {

__device__ uint32_t epoch_shuffled_index(uint32_t position, uint32_t rows, const EpochCounters& c) {
  return shuffled_index(position, rows, c.perm_key, c.perm_half_bits);
}

template <typename T>
__global__ void gather_kernel(GatherSource src, T* __restrict__ x_out,
                              int32_t* __restrict__ labels_out) {
  const int r = blockIdx.x;
  int64_t position;
  if (src.counter != nullptr) {
    position = src.counter->step_in_epoch * src.stride_rows + r;
  } else {
    position = src.fixed_offset + r;
  }
  int64_t row = position;
  if (src.counter != nullptr && src.shuffle)
    row = epoch_shuffled_index(uint32_t(position), uint32_t(src.rows), *src.counter);
  const int f = src.features;
  T* out = x_out + int64_t(r) * f;
  if (src.u8 != nullptr) {
    const uint8_t* in = src.u8 + row * f;
    if ((f & 3) == 0) {
      const uchar4* in4 = reinterpret_cast<const uchar4*>(in);
      for (int j = threadIdx.x; j < f / 4; j += blockDim.x) {
        const uchar4 b = in4[j];
        out[4 * j + 0] = from_f<T>(float(b.x) * src.scale);
        out[4 * j + 1] = from_f<T>(float(b.y) * src.scale);
        out[4 * j + 2] = from_f<T>(float(b.z) * src.scale);
        out[4 * j + 3] = from_f<T>(float(b.w) * src.scale);
      }
    } else {
      for (int j = threadIdx.x; j < f; j += blockDim.x)
        out[j] = from_f<T>(float(in[j]) * src.scale);
    }
  } else {
    const float* in = src.f32 + row * f;
    for (int j = threadIdx.x; j < f; j += blockDim.x) out[j] = from_f<T>(in[j]);
  }
  if (threadIdx.x == 0) labels_out[r] = src.labels[row];
}

constexpr int kSoftmaxThreads = 256;

template <typename T>
__global__ void softmax_ce_kernel(const T* __restrict__ logits, const int32_t* __restrict__ labels,
                                  int rows, int classes, T* __restrict__ dlogits,
                                  const float* __restrict__ scale_ptr, double* loss_sum,
                                  uint64_t* correct) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int warps_per_block = blockDim.x >> 5;
  const float grad_scale = (scale_ptr != nullptr ? *scale_ptr : 1.0f) / float(rows);
  float my_loss = 0.0f;
  unsigned my_correct = 0;
  for (int r = blockIdx.x * warps_per_block + warp; r < rows; r += gridDim.x * warps_per_block) {
    const T* z = logits + int64_t(r) * classes;
    float best = -INFINITY;
    int best_index = classes;  // "none yet"; each lane visits increasing j, so ties keep the first
    for (int j = lane; j < classes; j += 32) {
      const float v = to_f(z[j]);
      if (best_index == classes || v > best) {
        best = v;
        best_index = j;
      }
    }
    warp_argmax(best, best_index);
    float sum = 0.0f;
    for (int j = lane; j < classes; j += 32) sum += __expf(to_f(z[j]) - best);
    sum = warp_sum(sum);
    const int label = labels[r];
    const float log_sum = logf(sum);
    if (lane == 0) {
      my_loss += log_sum + best - to_f(z[label]);
      my_correct += (best_index == label) ? 1u : 0u;
    }
    if (dlogits != nullptr) {
      T* d = dlogits + int64_t(r) * classes;
      const float inv_sum = 1.0f / sum;
      for (int j = lane; j < classes; j += 32) {
        const float p = __expf(to_f(z[j]) - best) * inv_sum;
        d[j] = from_f<T>((p - (j == label ? 1.0f : 0.0f)) * grad_scale);
      }
    }
  }
  __shared__ float block_loss[kSoftmaxThreads / 32];
  __shared__ unsigned block_correct[kSoftmaxThreads / 32];
  if (lane == 0) {
    block_loss[warp] = my_loss;
    block_correct[warp] = my_correct;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0;
    unsigned total_correct = 0;
    for (int w = 0; w < warps_per_block; ++w) {
      total += block_loss[w];
      total_correct += block_correct[w];
    }
    atomicAdd(loss_sum, total);
    atomicAdd(reinterpret_cast<unsigned long long*>(correct), (unsigned long long)total_correct);
  }
}

template <typename T>
__global__ void check_finite_kernel(const T* __restrict__ grads, int64_t n, uint32_t* found_inf) {
  bool bad = false;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float g = to_f(grads[i]);
    bad |= !isfinite(g);
  }
  if (__syncthreads_or(bad) && threadIdx.x == 0) atomicOr(found_inf, 1u);
}

// Element i's gradient: the storage-type slab's, or with kMixed the FP32 slab's where its block
// says so (the MLP path instantiates kMixed = false: the same code as one slab).
template <typename T, bool kMixed>
__device__ __forceinline__ float gradient_at(const OptimizerArgs& a, const T* grads, int64_t i) {
  if constexpr (kMixed) {
    if (a.f32_blocks[i >> kF32BlockShift]) return a.grads_f32[i];
  }
  return to_f(grads[i]);
}

template <typename T, bool kMixed>
__global__ void optimizer_kernel(OptimizerArgs a) {
  DeviceState* s = a.state;
  const bool skip = a.loss_scaling && s->found_inf != 0;
  if (!skip) {
    const float inv_scale = a.loss_scaling ? 1.0f / s->loss_scale : 1.0f;
    const T* grads = static_cast<const T*>(a.grads);
    T* copy = static_cast<T*>(a.copy);
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    if (a.adam) {
      const double t = double(s->adam_t + 1);
      const float bias1 = 1.0f - float(pow(double(a.beta1), t));
      const float inv_bias2_sqrt = 1.0f / sqrtf(1.0f - float(pow(double(a.beta2), t)));
      const float step_size = a.lr / bias1;
      for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < a.n; i += stride) {
        const float g = gradient_at<T, kMixed>(a, grads, i) * inv_scale;
        const float m = a.beta1 * a.m[i] + (1.0f - a.beta1) * g;
        const float v = a.beta2 * a.v[i] + (1.0f - a.beta2) * g * g;
        a.m[i] = m;
        a.v[i] = v;
        const float w = adam_step(a.master[i], m, v, step_size, inv_bias2_sqrt, a.eps);
        a.master[i] = w;
        if (copy != nullptr) copy[i] = from_f<T>(w);
      }
    } else {
      for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < a.n; i += stride) {
        const float g = gradient_at<T, kMixed>(a, grads, i) * inv_scale;
        const float buf = a.momentum * a.m[i] + g;
        a.m[i] = buf;
        const float w = a.master[i] - a.lr * buf;
        a.master[i] = w;
        if (copy != nullptr) copy[i] = from_f<T>(w);
      }
    }
  }
  // The last block to finish closes the step: every other block has read the scale by now.
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    const unsigned done = atomicAdd(&s->blocks_done, 1u);
    if (done == gridDim.x - 1) {
      __threadfence();
      EpochCounters& e = s->epoch;
      const double step_loss = *(volatile double*)&s->step_loss;
      if (a.loss_scaling) loss_scale_step(!skip, a.growth_interval, s->loss_scale, s->growth_count);
      if (skip) {
        e.skipped_steps += 1;
        s->total_skipped += 1;
      } else {
        e.loss_sum += step_loss;
        e.loss_rows += a.step_rows;
        s->adam_t += 1;
      }
      e.rows += a.step_rows;
      e.steps += 1;
      e.step_in_epoch += 1;
      s->global_step += 1;
      s->last_step_loss = float(step_loss / double(a.step_rows));
      s->step_loss = 0;
      s->found_inf = 0;
      s->blocks_done = 0;
      __threadfence();
    }
  }
}

template <typename T>
__global__ void bias_act_kernel(T* __restrict__ y, const T* __restrict__ bias, int rows, int cols,
                                bool relu, float dropout, uint32_t seed_lo, uint32_t seed_hi,
                                int salt, const DeviceState* state) {
  const int64_t n = int64_t(rows) * cols;
  const float keep_scale = dropout > 0 ? 1.0f / (1.0f - dropout) : 1.0f;
  const uint32_t step = dropout > 0 ? uint32_t(state->global_step) : 0u;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float v = to_f(y[i]) + to_f(bias[i % cols]);
    if (relu) v = fmaxf(v, 0.0f);
    if (dropout > 0) {
      const uint32_t h =
          mix32(mix32(mix32(seed_lo ^ mix32(seed_hi + uint32_t(salt))) ^ step) ^ uint32_t(i));
      const float u = float(h >> 8) * (1.0f / 16777216.0f);
      v = (u < dropout) ? 0.0f : v * keep_scale;
    }
    y[i] = from_f<T>(v);
  }
}

template <typename T>
__global__ void act_backward_kernel(T* __restrict__ dh, const T* __restrict__ h, int64_t n,
                                    float keep_scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    dh[i] = to_f(h[i]) > 0.0f ? from_f<T>(to_f(dh[i]) * keep_scale) : from_f<T>(0.0f);
  }
}

template <typename T>
__global__ void bias_grad_kernel(const T* __restrict__ dy, int rows, int cols, T* __restrict__ db) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float sum = 0.0f;
  for (int r = 0; r < rows; ++r) sum += to_f(dy[int64_t(r) * cols + c]);
  db[c] = from_f<T>(sum);
}

template <typename T>
__global__ void convert_kernel(const float* __restrict__ src, T* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = from_f<T>(src[i]);
}

}  // namespace

void launch_gather(const GatherSource& src, int rows, DType out_type, void* x_out,
                   int32_t* labels_out, cudaStream_t stream) {
  dispatch(out_type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gather_kernel<T><<<rows, 256, 0, stream>>>(src, static_cast<T*>(x_out), labels_out);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_softmax_ce(DType type, const void* logits, const int32_t* labels, int rows, int classes,
                       void* dlogits, const float* scale, double* loss_sum, uint64_t* correct,
                       cudaStream_t stream) {
  const int warps = kSoftmaxThreads / 32;
  const int blocks = std::clamp((rows + warps - 1) / warps, 1, 264);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    softmax_ce_kernel<T><<<blocks, kSoftmaxThreads, 0, stream>>>(
        static_cast<const T*>(logits), labels, rows, classes, static_cast<T*>(dlogits), scale,
        loss_sum, correct);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_check_finite(DType type, const void* grads, int64_t n, uint32_t* found_inf,
                         cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    check_finite_kernel<T><<<elementwise_blocks(n, 256), 256, 0, stream>>>(
        static_cast<const T*>(grads), n, found_inf);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_optimizer(DType type, const OptimizerArgs& args, cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    if (args.f32_blocks != nullptr)
      optimizer_kernel<T, true><<<elementwise_blocks(args.n, 256), 256, 0, stream>>>(args);
    else
      optimizer_kernel<T, false><<<elementwise_blocks(args.n, 256), 256, 0, stream>>>(args);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_bias_act(DType type, void* y, const void* bias, int rows, int cols, bool relu,
                     float dropout, uint64_t seed, int salt, const DeviceState* state,
                     cudaStream_t stream) {
  const int64_t n = int64_t(rows) * cols;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    bias_act_kernel<T><<<elementwise_blocks(n, 256, 1), 256, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(bias), rows, cols, relu, dropout, uint32_t(seed),
        uint32_t(seed >> 32), salt, state);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_act_backward(DType type, void* dh, const void* h, int64_t n, float keep_scale,
                         cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    act_backward_kernel<T><<<elementwise_blocks(n, 256, 1), 256, 0, stream>>>(
        static_cast<T*>(dh), static_cast<const T*>(h), n, keep_scale);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_bias_grad(DType type, const void* dy, int rows, int cols, void* db,
                      cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    bias_grad_kernel<T><<<(cols + 127) / 128, 128, 0, stream>>>(static_cast<const T*>(dy), rows,
                                                                cols, static_cast<T*>(db));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_convert(DType type, const float* src, void* dst, int64_t n, cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    convert_kernel<T><<<elementwise_blocks(n, 256), 256, 0, stream>>>(src, static_cast<T*>(dst), n);
  });
  CUDA_CHECK_LAUNCH();
}

std::vector<float> to_floats(const std::vector<char>& raw, DType t, size_t count) {
  std::vector<float> out(count);
  if (t == DType::f32) {
    std::memcpy(out.data(), raw.data(), count * 4);
  } else if (t == DType::f16) {
    const auto* h = reinterpret_cast<const __half*>(raw.data());
    for (size_t i = 0; i < count; ++i) out[i] = __half2float(h[i]);
  } else {
    const auto* h = reinterpret_cast<const __nv_bfloat16*>(raw.data());
    for (size_t i = 0; i < count; ++i) out[i] = __bfloat162float(h[i]);
  }
  return out;
}

}  // namespace gt::engine::cuda
