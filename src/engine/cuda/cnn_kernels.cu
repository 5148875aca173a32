// The CNN path's own kernels (see cnn_kernels.h). Templates over float, __half and
// __nv_bfloat16; every value is computed in FP32 and rounded once when stored. Per-channel sums
// run in two kernels: blocks of 32 channels × 8 position lanes add FP32 partial sums over a
// chunk of positions, then one block per channel adds the chunks in double, in a fixed order
// (results do not depend on scheduling). BatchNorm follows the CPU layer's formulas
// (cpu/batchnorm.cpp) term for term.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "engine/cuda/check.h"
#include "engine/cuda/cnn_kernels.h"
#include "engine/cuda/device_math.cuh"
#include "engine/cuda/launch.cuh"

namespace gt::engine::cuda {
namespace {

constexpr int kThreads = 256;

// ---- image gather ------------------------------------------------------------------------------

template <typename T>
__global__ void image_gather_kernel(ImageSource s, T* __restrict__ x,
                                    int32_t* __restrict__ labels_out) {
  const int r = blockIdx.x;
  const int64_t position =
      s.counter != nullptr ? s.counter->step_in_epoch * s.stride_rows + r : s.fixed_offset + r;
  int64_t row = r;
  if (!s.staged) {
    row = position;
    if (s.counter != nullptr && s.shuffle)
      row = shuffled_index(uint32_t(position), uint32_t(s.rows), s.counter->perm_key,
                           s.counter->perm_half_bits);
    row = min(row, s.rows - 1);
  }
  bool flip = false;
  if (s.flip) {
    const uint32_t key = s.counter != nullptr ? s.counter->perm_key[0] : 0u;
    flip = (mix32(uint32_t(position) ^ mix32(key ^ s.flip_seed)) & 1u) != 0;
  }
  const int W = s.width, C = s.channels, Cp = s.padded_channels;
  const int64_t pixels = int64_t(s.height) * W;
  T* out = x + int64_t(r) * pixels * Cp;
  for (int64_t p = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; p < pixels;
       p += int64_t(gridDim.y) * blockDim.x) {
    int64_t from = p;
    if (flip) {
      const int64_t h = p / W, w = p % W;
      from = h * W + (W - 1 - w);
    }
    const int64_t in = (row * pixels + from) * C;
    for (int c = 0; c < Cp; ++c) {
      float v = 0.0f;
      if (c < C) {
        if (s.u8 != nullptr) {
          v = float(s.u8[in + c]) * s.scale;
          if (s.mean != nullptr) v = (v - s.mean[c]) / s.stddev[c];
        } else {
          v = s.f32[in + c];
        }
      }
      out[p * Cp + c] = from_f<T>(v);
    }
  }
  if (blockIdx.y == 0 && threadIdx.x == 0) labels_out[r] = s.labels[row];
}

// ---- per-channel sums --------------------------------------------------------------------------

constexpr int kSumChannels = 32, kSumLanes = 8;
constexpr int kMaxSumBlocks = 1024;

// The positions [lo, hi) of this block's chunk.
__device__ __forceinline__ void chunk_range(int64_t pixels, int64_t& lo, int64_t& hi) {
  const int64_t per = (pixels + gridDim.y - 1) / gridDim.y;
  lo = int64_t(blockIdx.y) * per;
  hi = min(pixels, lo + per);
}

// Adds the block's lanes and writes partial[(chunk · C + c) · 2 + {0, 1}].
__device__ __forceinline__ void store_partial(float a, float b, int c, int C, float* partial) {
  __shared__ float sa[kSumLanes][kSumChannels], sb[kSumLanes][kSumChannels];
  sa[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int k = 1; k < kSumLanes; ++k) {
      a += sa[k][threadIdx.x];
      b += sb[k][threadIdx.x];
    }
    float* out = partial + (int64_t(blockIdx.y) * C + c) * 2;
    out[0] = a;
    out[1] = b;
  }
}

// Block-wide sums in double of channel c's partials (thread 0 holds the totals).
__device__ __forceinline__ void sum_partials(const float* partial, int chunks, int C, int c,
                                             double& A, double& B) {
  __shared__ double sa[kThreads], sb[kThreads];
  double a = 0, b = 0;
  for (int k = threadIdx.x; k < chunks; k += blockDim.x) {
    a += partial[(int64_t(k) * C + c) * 2];
    b += partial[(int64_t(k) * C + c) * 2 + 1];
  }
  sa[threadIdx.x] = a;
  sb[threadIdx.x] = b;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sa[threadIdx.x] += sa[threadIdx.x + half];
      sb[threadIdx.x] += sb[threadIdx.x + half];
    }
    __syncthreads();
  }
  A = sa[0];
  B = sb[0];
}

// Σ d and Σ d² with d = x − x[first position] (the shift keeps the variance's cancellation small).
template <typename T>
__global__ void bn_stats_kernel(const T* __restrict__ x, int64_t pixels, int C, float* partial) {
  const int c = blockIdx.x * kSumChannels + threadIdx.x;
  int64_t lo, hi;
  chunk_range(pixels, lo, hi);
  float a = 0, b = 0;
  if (c < C) {
    const float shift = to_f(x[c]);
    for (int64_t p = lo + threadIdx.y; p < hi; p += kSumLanes) {
      const float d = to_f(x[p * C + c]) - shift;
      a += d;
      b += d * d;
    }
  }
  store_partial(a, b, c, C, partial);
}

// Σ g and Σ g·x̂, g = dy (through the fused ReLU's mask from y).
template <typename T, bool kRelu>
__global__ void bn_backward_sums_kernel(const T* __restrict__ x, const T* __restrict__ y,
                                        const T* __restrict__ dy, int64_t pixels, int C,
                                        const float* mean, const float* inv_std, float* partial) {
  const int c = blockIdx.x * kSumChannels + threadIdx.x;
  int64_t lo, hi;
  chunk_range(pixels, lo, hi);
  float a = 0, b = 0;
  if (c < C) {
    const float m = mean[c], s = inv_std[c];
    for (int64_t p = lo + threadIdx.y; p < hi; p += kSumLanes) {
      const int64_t i = p * C + c;
      const float g = !kRelu || to_f(y[i]) > 0.0f ? to_f(dy[i]) : 0.0f;
      a += g;
      b += g * ((to_f(x[i]) - m) * s);
    }
  }
  store_partial(a, b, c, C, partial);
}

template <typename T>
__global__ void channel_sum_kernel(const T* __restrict__ dy, int64_t pixels, int C,
                                   float* partial) {
  const int c = blockIdx.x * kSumChannels + threadIdx.x;
  int64_t lo, hi;
  chunk_range(pixels, lo, hi);
  float a = 0;
  if (c < C)
    for (int64_t p = lo + threadIdx.y; p < hi; p += kSumLanes) a += to_f(dy[p * C + c]);
  store_partial(a, 0.0f, c, C, partial);
}

template <typename T>
__global__ void channel_sum_finalize_kernel(const float* partial, int chunks, int C, T* out) {
  double A, B;
  sum_partials(partial, chunks, C, blockIdx.x, A, B);
  if (threadIdx.x == 0) out[blockIdx.x] = from_f<T>(float(A));
}

// Mean, 1/√(σ² + ε), the affine form, and the running statistics (PyTorch's rule, unbiased σ²).
template <typename T>
__global__ void bn_finalize_train_kernel(const T* __restrict__ x, int chunks, BatchNormArgs a,
                                         bool update) {
  const int c = blockIdx.x, C = a.channels;
  double A, B;
  sum_partials(a.partial, chunks, C, c, A, B);
  if (threadIdx.x != 0) return;
  const double M = double(a.pixels);
  const double md = A / M;
  const double var = fmax(B / M - md * md, 0.0);
  const float mean = float(double(to_f(x[c])) + md);
  const float inv_std = float(1.0 / sqrt(var + double(a.eps)));
  a.mean[c] = mean;
  a.inv_std[c] = inv_std;
  a.scale[c] = a.gamma[c] * inv_std;
  a.shift[c] = a.beta[c] - mean * a.scale[c];
  if (update) {
    const float biased = float(var);
    const double unbiased = M > 1 ? double(biased) * M / (M - 1) : double(biased);
    a.running_mean[c] = (1.0f - a.momentum) * a.running_mean[c] + a.momentum * mean;
    a.running_var[c] = (1.0f - a.momentum) * a.running_var[c] + a.momentum * float(unbiased);
  }
}

__global__ void bn_finalize_eval_kernel(BatchNormArgs a) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= a.channels) return;
  a.scale[c] = a.gamma[c] / sqrtf(a.running_var[c] + a.eps);
  a.shift[c] = a.beta[c] - a.running_mean[c] * a.scale[c];
}

template <typename T, bool kRelu>
__global__ void bn_apply_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, int C,
                                const float* __restrict__ scale, const float* __restrict__ shift) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i % C);
    float v = to_f(x[i]) * scale[c] + shift[c];
    if (kRelu) v = v > 0.0f ? v : 0.0f;
    y[i] = from_f<T>(v);
  }
}

__global__ void bn_backward_finalize_kernel(int chunks, BatchNormArgs a) {
  const int c = blockIdx.x, C = a.channels;
  double A, B;
  sum_partials(a.partial, chunks, C, c, A, B);
  if (threadIdx.x != 0) return;
  const float inv_m = 1.0f / float(a.pixels);
  a.grad_beta[c] = float(A);
  a.grad_gamma[c] = float(B);
  a.dx_scale[c] = a.gamma[c] * a.inv_std[c];
  a.dbeta_m[c] = float(A) * inv_m;
  a.dgamma_m[c] = float(B * double(inv_m));
}

template <typename T, bool kRelu>
__global__ void bn_dx_kernel(const T* __restrict__ x, const T* __restrict__ y,
                             const T* __restrict__ dy, T* __restrict__ dx, int64_t n, int C,
                             BatchNormArgs a) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i % C);
    const float g = !kRelu || to_f(y[i]) > 0.0f ? to_f(dy[i]) : 0.0f;
    const float xhat = (to_f(x[i]) - a.mean[c]) * a.inv_std[c];
    dx[i] = from_f<T>(a.dx_scale[c] * (g - a.dbeta_m[c] - xhat * a.dgamma_m[c]));
  }
}

// ---- pooling -----------------------------------------------------------------------------------

// The first maximum of window (p, q) of image n, channel c: its position in the input.
template <typename T>
__device__ __forceinline__ int64_t window_argmax(const T* x, const PoolShape& s, int64_t n, int p,
                                                 int q, int c, float& best) {
  int64_t at = -1;
  for (int i = 0; i < s.pool; ++i)
    for (int j = 0; j < s.pool; ++j) {
      const int64_t k =
          ((n * s.height + p * s.stride + i) * s.width + q * s.stride + j) * int64_t(s.channels) +
          c;
      const float v = to_f(x[k]);
      if (at < 0 || v > best) {
        best = v;
        at = k;
      }
    }
  return at;
}

template <typename T>
__global__ void max_pool_forward_kernel(PoolShape s, const T* __restrict__ x, T* __restrict__ y) {
  const int64_t n_out = int64_t(s.batch) * s.out_height * s.out_width * s.channels;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_out;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i % s.channels);
    int64_t rest = i / s.channels;
    const int q = int(rest % s.out_width);
    rest /= s.out_width;
    const int p = int(rest % s.out_height);
    const int64_t n = rest / s.out_height;
    float best = 0;
    window_argmax(x, s, n, p, q, c, best);
    y[i] = from_f<T>(best);
  }
}

// Gather form: each input position adds the gradients of the windows whose first maximum it is.
template <typename T>
__global__ void max_pool_backward_kernel(PoolShape s, const T* __restrict__ x,
                                         const T* __restrict__ dy, T* __restrict__ dx) {
  const int64_t n_in = int64_t(s.batch) * s.height * s.width * s.channels;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_in;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i % s.channels);
    int64_t rest = i / s.channels;
    const int w = int(rest % s.width);
    rest /= s.width;
    const int h = int(rest % s.height);
    const int64_t n = rest / s.height;
    // Windows p with p·stride ≤ h < p·stride + pool.
    const int p_lo = max(0, (h - s.pool + s.stride) / s.stride);
    const int p_hi = min(s.out_height - 1, h / s.stride);
    const int q_lo = max(0, (w - s.pool + s.stride) / s.stride);
    const int q_hi = min(s.out_width - 1, w / s.stride);
    float g = 0.0f;
    for (int p = p_lo; p <= p_hi; ++p)
      for (int q = q_lo; q <= q_hi; ++q) {
        float best = 0;
        if (window_argmax(x, s, n, p, q, c, best) == i)
          g += to_f(dy[((n * s.out_height + p) * s.out_width + q) * s.channels + c]);
      }
    dx[i] = from_f<T>(g);
  }
}

template <typename T>
__global__ void gap_forward_kernel(int batch, int64_t positions, int C, const T* __restrict__ x,
                                   T* __restrict__ y) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= int64_t(batch) * C) return;
  const int64_t n = i / C, c = i % C;
  double s = 0;
  for (int64_t p = 0; p < positions; ++p) s += to_f(x[(n * positions + p) * C + c]);
  y[i] = from_f<T>(float(s / double(positions)));
}

template <typename T>
__global__ void gap_backward_kernel(int batch, int64_t positions, int C, const T* __restrict__ dy,
                                    T* __restrict__ dx) {
  const float inv = 1.0f / float(positions);
  const int64_t n_in = int64_t(batch) * positions * C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_in;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % C, n = i / (positions * C);
    dx[i] = from_f<T>(to_f(dy[n * C + c]) * inv);
  }
}

// ---- element-wise ------------------------------------------------------------------------------

template <typename T>
__global__ void relu_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = to_f(x[i]);
    y[i] = from_f<T>(v > 0.0f ? v : 0.0f);
  }
}

template <typename T>
__global__ void dropout_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, float rate,
                               uint32_t seed_lo, uint32_t seed_hi, int salt,
                               const DeviceState* state) {
  const float keep_scale = 1.0f / (1.0f - rate);
  const uint32_t step = uint32_t(state->global_step);
  const uint32_t base = mix32(mix32(seed_lo ^ mix32(seed_hi + uint32_t(salt))) ^ step);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float u = float(mix32(base ^ uint32_t(i)) >> 8) * (1.0f / 16777216.0f);
    y[i] = from_f<T>(u < rate ? 0.0f : to_f(x[i]) * keep_scale);
  }
}

// Element i of the unpadded tensor and its index in the padded one.
__device__ __forceinline__ int64_t padded_index(const PadShape& s, int64_t i) {
  const int64_t c = i % s.channels;
  int64_t rest = i / s.channels;
  const int64_t w = rest % s.width;
  rest /= s.width;
  const int64_t h = rest % s.height, n = rest / s.height;
  const int64_t ph = s.height + s.top + s.bottom, pw = s.width + s.left + s.right;
  return ((n * ph + h + s.top) * pw + w + s.left) * s.channels + c;
}

template <typename T, bool kPad>
__global__ void pad_kernel(PadShape s, const T* __restrict__ from, T* __restrict__ to) {
  const int64_t n = int64_t(s.batch) * s.height * s.width * s.channels;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (kPad)
      to[padded_index(s, i)] = from[i];
    else
      to[i] = from[padded_index(s, i)];
  }
}

dim3 sum_grid(int64_t pixels, int channels) {
  return dim3(unsigned((channels + kSumChannels - 1) / kSumChannels),
              unsigned(reduction_chunks(pixels, channels)));
}

}  // namespace

int reduction_chunks(int64_t pixels, int channels) {
  const int64_t tiles = (channels + kSumChannels - 1) / kSumChannels;
  const int64_t want = (pixels + 255) / 256;
  return int(std::clamp<int64_t>(want, 1, std::max<int64_t>(1, kMaxSumBlocks / tiles)));
}

int64_t reduction_floats(int64_t pixels, int channels) {
  return int64_t(reduction_chunks(pixels, channels)) * channels * 2;
}

void launch_image_gather(const ImageSource& src, int rows, DType type, void* x, int32_t* labels_out,
                         cudaStream_t stream) {
  const int64_t pixels = int64_t(src.height) * src.width;
  const dim3 grid(unsigned(rows), unsigned(std::clamp<int64_t>(pixels / (kThreads * 8), 1, 64)));
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    image_gather_kernel<T><<<grid, kThreads, 0, stream>>>(src, static_cast<T*>(x), labels_out);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_batchnorm_forward_train(DType type, const BatchNormArgs& a, const void* x, void* y,
                                    bool update_statistics, cudaStream_t stream) {
  const int64_t n = a.pixels * a.channels;
  const int chunks = reduction_chunks(a.pixels, a.channels);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xt = static_cast<const T*>(x);
    bn_stats_kernel<T>
        <<<sum_grid(a.pixels, a.channels), dim3(kSumChannels, kSumLanes), 0, stream>>>(
            xt, a.pixels, a.channels, a.partial);
    bn_finalize_train_kernel<T>
        <<<a.channels, kThreads, 0, stream>>>(xt, chunks, a, update_statistics);
    if (a.relu)
      bn_apply_kernel<T, true><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
          xt, static_cast<T*>(y), n, a.channels, a.scale, a.shift);
    else
      bn_apply_kernel<T, false><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
          xt, static_cast<T*>(y), n, a.channels, a.scale, a.shift);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_batchnorm_forward_eval(DType type, const BatchNormArgs& a, const void* x, void* y,
                                   cudaStream_t stream) {
  const int64_t n = a.pixels * a.channels;
  bn_finalize_eval_kernel<<<(a.channels + 127) / 128, 128, 0, stream>>>(a);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xt = static_cast<const T*>(x);
    if (a.relu)
      bn_apply_kernel<T, true><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
          xt, static_cast<T*>(y), n, a.channels, a.scale, a.shift);
    else
      bn_apply_kernel<T, false><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
          xt, static_cast<T*>(y), n, a.channels, a.scale, a.shift);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_batchnorm_backward(DType type, const BatchNormArgs& a, const void* x, const void* y,
                               const void* dy, void* dx, cudaStream_t stream) {
  const int64_t n = a.pixels * a.channels;
  const int chunks = reduction_chunks(a.pixels, a.channels);
  const dim3 grid = sum_grid(a.pixels, a.channels), block(kSumChannels, kSumLanes);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T *xt = static_cast<const T*>(x), *yt = static_cast<const T*>(y),
            *dyt = static_cast<const T*>(dy);
    if (a.relu)
      bn_backward_sums_kernel<T, true><<<grid, block, 0, stream>>>(
          xt, yt, dyt, a.pixels, a.channels, a.mean, a.inv_std, a.partial);
    else
      bn_backward_sums_kernel<T, false><<<grid, block, 0, stream>>>(
          xt, yt, dyt, a.pixels, a.channels, a.mean, a.inv_std, a.partial);
    bn_backward_finalize_kernel<<<a.channels, kThreads, 0, stream>>>(chunks, a);
    if (dx == nullptr) return;
    const int blocks = elementwise_blocks(n, kThreads);
    if (a.relu)
      bn_dx_kernel<T, true>
          <<<blocks, kThreads, 0, stream>>>(xt, yt, dyt, static_cast<T*>(dx), n, a.channels, a);
    else
      bn_dx_kernel<T, false>
          <<<blocks, kThreads, 0, stream>>>(xt, yt, dyt, static_cast<T*>(dx), n, a.channels, a);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_channel_sum(DType type, const void* dy, int64_t pixels, int channels, float* partial,
                        void* out, cudaStream_t stream) {
  const int chunks = reduction_chunks(pixels, channels);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    channel_sum_kernel<T><<<sum_grid(pixels, channels), dim3(kSumChannels, kSumLanes), 0, stream>>>(
        static_cast<const T*>(dy), pixels, channels, partial);
    channel_sum_finalize_kernel<T>
        <<<channels, kThreads, 0, stream>>>(partial, chunks, channels, static_cast<T*>(out));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_max_pool_forward(DType type, const PoolShape& s, const void* x, void* y,
                             cudaStream_t stream) {
  const int64_t n = int64_t(s.batch) * s.out_height * s.out_width * s.channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    max_pool_forward_kernel<T><<<elementwise_blocks(n, kThreads, 2), kThreads, 0, stream>>>(
        s, static_cast<const T*>(x), static_cast<T*>(y));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_max_pool_backward(DType type, const PoolShape& s, const void* x, const void* dy,
                              void* dx, cudaStream_t stream) {
  const int64_t n = int64_t(s.batch) * s.height * s.width * s.channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    max_pool_backward_kernel<T><<<elementwise_blocks(n, kThreads, 2), kThreads, 0, stream>>>(
        s, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dx));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_global_avg_pool_forward(DType type, int batch, int64_t positions, int channels,
                                    const void* x, void* y, cudaStream_t stream) {
  const int64_t n = int64_t(batch) * channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gap_forward_kernel<T><<<unsigned((n + 127) / 128), 128, 0, stream>>>(
        batch, positions, channels, static_cast<const T*>(x), static_cast<T*>(y));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_global_avg_pool_backward(DType type, int batch, int64_t positions, int channels,
                                     const void* dy, void* dx, cudaStream_t stream) {
  const int64_t n = int64_t(batch) * positions * channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gap_backward_kernel<T><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
        batch, positions, channels, static_cast<const T*>(dy), static_cast<T*>(dx));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_relu(DType type, const void* x, void* y, int64_t n, cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    relu_kernel<T><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), n);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_dropout(DType type, const void* x, void* y, int64_t n, float rate, uint64_t seed,
                    int salt, const DeviceState* state, cudaStream_t stream) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    dropout_kernel<T><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), n, rate, uint32_t(seed), uint32_t(seed >> 32),
        salt, state);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_pad(DType type, const PadShape& s, const void* x, void* padded, cudaStream_t stream) {
  const int64_t n = int64_t(s.batch) * s.height * s.width * s.channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    pad_kernel<T, true><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
        s, static_cast<const T*>(x), static_cast<T*>(padded));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_crop(DType type, const PadShape& s, const void* padded, void* x, cudaStream_t stream) {
  const int64_t n = int64_t(s.batch) * s.height * s.width * s.channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    pad_kernel<T, false><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
        s, static_cast<const T*>(padded), static_cast<T*>(x));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace gt::engine::cuda
