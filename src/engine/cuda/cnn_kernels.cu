// The CNN path's own kernels (see cnn_kernels.h). Templates over float, __half and
// __nv_bfloat16 and a vector width: a thread moves 16 bytes of consecutive channels at a time
// where the channel count allows it (always for padded fp16/bf16 and tf32 tensors), else single
// elements; every value is computed in FP32 and rounded once when stored. Kernels over NHWC
// tensors run a 2-D grid, channel groups × positions, so no index needs a division per element.
// Per-channel sums run in two kernels: blocks add FP32 partial sums over a chunk of positions,
// then one block per channel adds the chunks in double, in a fixed order (results do not depend
// on scheduling). BatchNorm follows the CPU layer's formulas (cpu/batchnorm.cpp) term for term.
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

// ---- vectors and the [positions][channels] grid ------------------------------------------------

// V consecutive elements loaded and stored as one access (16 bytes when V = 16 / sizeof(T)).
template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};
template <typename T, int V>
__device__ __forceinline__ Vec<T, V> load_vec(const T* p) {
  return *reinterpret_cast<const Vec<T, V>*>(p);
}
template <typename T, int V>
__device__ __forceinline__ void store_vec(T* p, const Vec<T, V>& v) {
  *reinterpret_cast<Vec<T, V>*>(p) = v;
}

// Kernels over a [positions][C] tensor run x over the C / V channel groups (at most 32 per
// block) and y over positions (a power of two per block), so a thread keeps its channels and
// their per-channel factors in registers and no index needs a division.
struct ChannelGrid {
  dim3 grid, block;
};
ChannelGrid channel_grid(int64_t positions, int channels, int v, int64_t max_y_blocks) {
  const int groups = channels / v;
  const int bx = std::min(groups, 32);
  int by = 1;
  while (by * 2 * bx <= kThreads) by *= 2;
  const int gx = (groups + bx - 1) / bx;
  const int64_t gy = std::clamp<int64_t>((positions + by - 1) / by, 1, max_y_blocks);
  return {dim3(unsigned(gx), unsigned(gy)), dim3(unsigned(bx), unsigned(by))};
}
// Element-wise kernels: enough blocks to fill the GPU, each thread then strides over positions.
ChannelGrid elementwise_grid(int64_t positions, int channels, int v) {
  const int groups = channels / v;
  const int gx = (groups + 31) / 32;
  return channel_grid(positions, channels, v, std::max(1, 2048 / gx));
}

__device__ __forceinline__ int channel_group() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t first_position() {
  return int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
}
__device__ __forceinline__ int64_t position_stride() { return int64_t(gridDim.y) * blockDim.y; }

// ---- image gather ------------------------------------------------------------------------------

template <typename T, int V>
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
    for (int c0 = 0; c0 < Cp; c0 += V) {
      Vec<T, V> vec;
      for (int k = 0; k < V; ++k) {
        const int c = c0 + k;
        float v = 0.0f;
        if (c < C) {
          if (s.u8 != nullptr) {
            v = float(s.u8[in + c]) * s.scale;
            if (s.mean != nullptr) v = (v - s.mean[c]) / s.stddev[c];
          } else {
            v = s.f32[in + c];
          }
        }
        vec.v[k] = from_f<T>(v);
      }
      store_vec<T, V>(out + p * Cp + c0, vec);
    }
  }
  if (blockIdx.y == 0 && threadIdx.x == 0) labels_out[r] = s.labels[row];
}

// ---- per-channel sums --------------------------------------------------------------------------

constexpr int kMaxSumBlocks = 1024;
constexpr int kMaxVector = 8;  // 16 bytes of a 2-byte type

// Per-channel sums: each block adds the terms of its chunk of positions (gridDim.y chunks) for
// its channels in FP32 (each thread over a strided subset, then a tree over the block's rows),
// and writes partial[(chunk · C + c) · 2 + {0, 1}]. Terms::begin(c0) loads the per-channel
// values a thread needs; Terms::add(p, c0, a, b) adds position p's terms of channels
// c0 … c0 + V − 1.
template <typename T, int V, typename Terms>
__global__ void channel_sums_kernel(int64_t pixels, int C, float* partial, Terms terms) {
  const int g = channel_group();
  const bool active = g < C / V;
  const int c0 = g * V;
  const int64_t per = (pixels + gridDim.y - 1) / gridDim.y;
  const int64_t lo = int64_t(blockIdx.y) * per, hi = min(pixels, lo + per);
  float a[V], b[V];
  for (int k = 0; k < V; ++k) a[k] = b[k] = 0.0f;
  if (active) {
    terms.begin(c0);
    for (int64_t p = lo + threadIdx.y; p < hi; p += blockDim.y) terms.add(p, c0, a, b);
  }
  __shared__ float sa[kThreads * kMaxVector], sb[kThreads * kMaxVector];
  const int t = threadIdx.y * blockDim.x + threadIdx.x;
  for (int k = 0; k < V; ++k) {
    sa[t * V + k] = a[k];
    sb[t * V + k] = b[k];
  }
  __syncthreads();
  for (int half = blockDim.y / 2; half > 0; half /= 2) {
    if (threadIdx.y < half) {
      const int o = t + half * blockDim.x;
      for (int k = 0; k < V; ++k) {
        sa[t * V + k] += sa[o * V + k];
        sb[t * V + k] += sb[o * V + k];
      }
    }
    __syncthreads();
  }
  if (threadIdx.y == 0 && active)
    for (int k = 0; k < V; ++k) {
      float* out = partial + (int64_t(blockIdx.y) * C + c0 + k) * 2;
      out[0] = sa[t * V + k];
      out[1] = sb[t * V + k];
    }
}

// Σ d and Σ d² with d = x − x[first position] (the shift keeps the variance's cancellation small).
template <typename T, int V>
struct StatsTerms {
  const T* x;
  int C;
  float shift[V];
  __device__ void begin(int c0) {
    for (int k = 0; k < V; ++k) shift[k] = to_f(x[c0 + k]);
  }
  __device__ void add(int64_t p, int c0, float* a, float* b) const {
    const Vec<T, V> in = load_vec<T, V>(x + p * C + c0);
    for (int k = 0; k < V; ++k) {
      const float d = to_f(in.v[k]) - shift[k];
      a[k] += d;
      b[k] += d * d;
    }
  }
};

// Σ g and Σ g·x̂, g = dy (through the fused ReLU's mask from y).
template <typename T, int V, bool kRelu>
struct BackwardTerms {
  const T *x, *y, *dy;
  int C;
  const float *mean, *inv_std;
  float m[V], s[V];
  __device__ void begin(int c0) {
    for (int k = 0; k < V; ++k) {
      m[k] = mean[c0 + k];
      s[k] = inv_std[c0 + k];
    }
  }
  __device__ void add(int64_t p, int c0, float* a, float* b) const {
    const int64_t i = p * C + c0;
    const Vec<T, V> xv = load_vec<T, V>(x + i), dv = load_vec<T, V>(dy + i);
    Vec<T, V> yv;
    if (kRelu) yv = load_vec<T, V>(y + i);
    for (int k = 0; k < V; ++k) {
      const float g = !kRelu || to_f(yv.v[k]) > 0.0f ? to_f(dv.v[k]) : 0.0f;
      a[k] += g;
      b[k] += g * ((to_f(xv.v[k]) - m[k]) * s[k]);
    }
  }
};

template <typename T, int V>
struct SumTerms {
  const T* dy;
  int C;
  __device__ void begin(int) {}
  __device__ void add(int64_t p, int c0, float* a, float*) const {
    const Vec<T, V> in = load_vec<T, V>(dy + p * C + c0);
    for (int k = 0; k < V; ++k) a[k] += to_f(in.v[k]);
  }
};

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

template <typename T, int V, bool kRelu>
__global__ void bn_apply_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t pixels, int C,
                                const float* __restrict__ scale, const float* __restrict__ shift) {
  const int g = channel_group();
  if (g >= C / V) return;
  const int c0 = g * V;
  float sc[V], sh[V];
  for (int k = 0; k < V; ++k) {
    sc[k] = scale[c0 + k];
    sh[k] = shift[c0 + k];
  }
  for (int64_t p = first_position(); p < pixels; p += position_stride()) {
    const Vec<T, V> in = load_vec<T, V>(x + p * C + c0);
    Vec<T, V> out;
    for (int k = 0; k < V; ++k) {
      float v = to_f(in.v[k]) * sc[k] + sh[k];
      if (kRelu) v = v > 0.0f ? v : 0.0f;
      out.v[k] = from_f<T>(v);
    }
    store_vec<T, V>(y + p * C + c0, out);
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

template <typename T, int V, bool kRelu>
__global__ void bn_dx_kernel(const T* __restrict__ x, const T* __restrict__ y,
                             const T* __restrict__ dy, T* __restrict__ dx, int64_t pixels, int C,
                             BatchNormArgs a) {
  const int g = channel_group();
  if (g >= C / V) return;
  const int c0 = g * V;
  float m[V], s[V], k1[V], db[V], dg[V];
  for (int k = 0; k < V; ++k) {
    m[k] = a.mean[c0 + k];
    s[k] = a.inv_std[c0 + k];
    k1[k] = a.dx_scale[c0 + k];
    db[k] = a.dbeta_m[c0 + k];
    dg[k] = a.dgamma_m[c0 + k];
  }
  for (int64_t p = first_position(); p < pixels; p += position_stride()) {
    const int64_t i = p * C + c0;
    const Vec<T, V> xv = load_vec<T, V>(x + i), dv = load_vec<T, V>(dy + i);
    Vec<T, V> yv, out;
    if (kRelu) yv = load_vec<T, V>(y + i);
    for (int k = 0; k < V; ++k) {
      const float g = !kRelu || to_f(yv.v[k]) > 0.0f ? to_f(dv.v[k]) : 0.0f;
      const float xhat = (to_f(xv.v[k]) - m[k]) * s[k];
      out.v[k] = from_f<T>(k1[k] * (g - db[k] - xhat * dg[k]));
    }
    store_vec<T, V>(dx + i, out);
  }
}

// ---- pooling -----------------------------------------------------------------------------------

// Window (p, q) of image n over channels c0 … c0 + V − 1: each channel's maximum and the
// window-local index (i · pool + j) of its first occurrence in row-major order.
template <typename T, int V>
__device__ __forceinline__ void window_max(const T* x, const PoolShape& s, int64_t n, int p, int q,
                                           int c0, float* best, int* at) {
  for (int i = 0; i < s.pool; ++i)
    for (int j = 0; j < s.pool; ++j) {
      const Vec<T, V> in = load_vec<T, V>(
          x + ((n * s.height + p * s.stride + i) * s.width + q * s.stride + j) * s.channels + c0);
      for (int k = 0; k < V; ++k) {
        const float v = to_f(in.v[k]);
        if ((i == 0 && j == 0) || v > best[k]) {
          best[k] = v;
          at[k] = i * s.pool + j;
        }
      }
    }
}

template <typename T, int V>
__global__ void max_pool_forward_kernel(PoolShape s, const T* __restrict__ x, T* __restrict__ y) {
  const int g = channel_group();
  if (g >= s.channels / V) return;
  const int c0 = g * V;
  const int64_t outputs = int64_t(s.batch) * s.out_height * s.out_width;
  for (int64_t o = first_position(); o < outputs; o += position_stride()) {
    const int q = int(o % s.out_width);
    const int64_t rest = o / s.out_width;
    const int p = int(rest % s.out_height);
    const int64_t n = rest / s.out_height;
    float best[V];
    int at[V];
    window_max<T, V>(x, s, n, p, q, c0, best, at);
    Vec<T, V> out;
    for (int k = 0; k < V; ++k) out.v[k] = from_f<T>(best[k]);
    store_vec<T, V>(y + o * s.channels + c0, out);
  }
}

// Gather form: each input position adds the gradients of the windows whose first maximum it is.
template <typename T, int V>
__global__ void max_pool_backward_kernel(PoolShape s, const T* __restrict__ x,
                                         const T* __restrict__ dy, T* __restrict__ dx) {
  const int g = channel_group();
  if (g >= s.channels / V) return;
  const int c0 = g * V;
  const int64_t inputs = int64_t(s.batch) * s.height * s.width;
  for (int64_t i = first_position(); i < inputs; i += position_stride()) {
    const int w = int(i % s.width);
    const int64_t rest = i / s.width;
    const int h = int(rest % s.height);
    const int64_t n = rest / s.height;
    // Windows p with p·stride ≤ h < p·stride + pool.
    const int p_lo = max(0, (h - s.pool + s.stride) / s.stride);
    const int p_hi = min(s.out_height - 1, h / s.stride);
    const int q_lo = max(0, (w - s.pool + s.stride) / s.stride);
    const int q_hi = min(s.out_width - 1, w / s.stride);
    float sum[V];
    for (int k = 0; k < V; ++k) sum[k] = 0.0f;
    for (int p = p_lo; p <= p_hi; ++p)
      for (int q = q_lo; q <= q_hi; ++q) {
        float best[V];
        int at[V];
        window_max<T, V>(x, s, n, p, q, c0, best, at);
        const int mine = (h - p * s.stride) * s.pool + (w - q * s.stride);
        const Vec<T, V> d =
            load_vec<T, V>(dy + ((n * s.out_height + p) * s.out_width + q) * s.channels + c0);
        for (int k = 0; k < V; ++k)
          if (at[k] == mine) sum[k] += to_f(d.v[k]);
      }
    Vec<T, V> out;
    for (int k = 0; k < V; ++k) out.v[k] = from_f<T>(sum[k]);
    store_vec<T, V>(dx + i * s.channels + c0, out);
  }
}

// y over images, x over channel groups: the mean of each channel over the positions (in double).
template <typename T, int V>
__global__ void gap_forward_kernel(int batch, int64_t positions, int C, const T* __restrict__ x,
                                   T* __restrict__ y) {
  const int g = channel_group();
  if (g >= C / V) return;
  const int c0 = g * V;
  for (int64_t n = first_position(); n < batch; n += position_stride()) {
    double sum[V];
    for (int k = 0; k < V; ++k) sum[k] = 0;
    for (int64_t p = 0; p < positions; ++p) {
      const Vec<T, V> in = load_vec<T, V>(x + (n * positions + p) * C + c0);
      for (int k = 0; k < V; ++k) sum[k] += to_f(in.v[k]);
    }
    Vec<T, V> out;
    for (int k = 0; k < V; ++k) out.v[k] = from_f<T>(float(sum[k] / double(positions)));
    store_vec<T, V>(y + n * C + c0, out);
  }
}

template <typename T, int V>
__global__ void gap_backward_kernel(int64_t positions, int64_t pixels, int C,
                                    const T* __restrict__ dy, T* __restrict__ dx) {
  const int g = channel_group();
  if (g >= C / V) return;
  const int c0 = g * V;
  const float inv = 1.0f / float(positions);
  for (int64_t p = first_position(); p < pixels; p += position_stride()) {
    const Vec<T, V> d = load_vec<T, V>(dy + (p / positions) * C + c0);
    Vec<T, V> out;
    for (int k = 0; k < V; ++k) out.v[k] = from_f<T>(to_f(d.v[k]) * inv);
    store_vec<T, V>(dx + p * C + c0, out);
  }
}

// ---- element-wise ------------------------------------------------------------------------------

template <typename T, int V>
__global__ void relu_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t vectors) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors;
       i += int64_t(gridDim.x) * blockDim.x) {
    const Vec<T, V> in = load_vec<T, V>(x + i * V);
    Vec<T, V> out;
    for (int k = 0; k < V; ++k) {
      const float v = to_f(in.v[k]);
      out.v[k] = from_f<T>(v > 0.0f ? v : 0.0f);
    }
    store_vec<T, V>(y + i * V, out);
  }
}

// dy = y > 0 ? dy : 0, in place (the ReLU's gradient from its output).
template <typename T, int V>
__global__ void relu_backward_kernel(T* __restrict__ dy, const T* __restrict__ y, int64_t vectors) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors;
       i += int64_t(gridDim.x) * blockDim.x) {
    const Vec<T, V> yv = load_vec<T, V>(y + i * V);
    Vec<T, V> d = load_vec<T, V>(dy + i * V);
    for (int k = 0; k < V; ++k)
      if (!(to_f(yv.v[k]) > 0.0f)) d.v[k] = from_f<T>(0.0f);
    store_vec<T, V>(dy + i * V, d);
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

// Calls f(tag, V) with a null pointer of the element type and the vector width for tensors of
// `channels` channels: 16 bytes when the channels allow it, else single elements.
template <typename F>
void dispatch_vector(DType type, int64_t channels, F&& f) {
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    constexpr int kWide = 16 / int(sizeof(T));
    if (channels % kWide == 0)
      f(tag, std::integral_constant<int, kWide>{});
    else
      f(tag, std::integral_constant<int, 1>{});
  });
}

// kPad: `from` is the unpadded tensor, `to` the padded one's interior; else the other way.
template <bool kPad>
void launch_padding(DType type, const PadShape& s, const void* from, void* to,
                    cudaStream_t stream) {
  const int64_t n = int64_t(s.batch) * s.height * s.width * s.channels;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    pad_kernel<T, kPad><<<elementwise_blocks(n, kThreads), kThreads, 0, stream>>>(
        s, static_cast<const T*>(from), static_cast<T*>(to));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace

int reduction_chunks(int64_t pixels, int channels) {
  const int64_t tiles = (channels + 31) / 32;  // blocks across the channels at one element each
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
  dispatch_vector(type, src.padded_channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    image_gather_kernel<T, v><<<grid, kThreads, 0, stream>>>(src, static_cast<T*>(x), labels_out);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_batchnorm_forward_train(DType type, const BatchNormArgs& a, const void* x, void* y,
                                    bool update_statistics, cudaStream_t stream) {
  const int chunks = reduction_chunks(a.pixels, a.channels);
  dispatch_vector(type, a.channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xt = static_cast<const T*>(x);
    const ChannelGrid sums = channel_grid(a.pixels, a.channels, v, chunks);
    channel_sums_kernel<T, v><<<sums.grid, sums.block, 0, stream>>>(
        a.pixels, a.channels, a.partial, StatsTerms<T, v>{xt, a.channels, {}});
    bn_finalize_train_kernel<T>
        <<<a.channels, kThreads, 0, stream>>>(xt, chunks, a, update_statistics);
    const ChannelGrid e = elementwise_grid(a.pixels, a.channels, v);
    if (a.relu)
      bn_apply_kernel<T, v, true><<<e.grid, e.block, 0, stream>>>(xt, static_cast<T*>(y), a.pixels,
                                                                  a.channels, a.scale, a.shift);
    else
      bn_apply_kernel<T, v, false><<<e.grid, e.block, 0, stream>>>(xt, static_cast<T*>(y), a.pixels,
                                                                   a.channels, a.scale, a.shift);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_batchnorm_forward_eval(DType type, const BatchNormArgs& a, const void* x, void* y,
                                   cudaStream_t stream) {
  bn_finalize_eval_kernel<<<(a.channels + 127) / 128, 128, 0, stream>>>(a);
  dispatch_vector(type, a.channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xt = static_cast<const T*>(x);
    const ChannelGrid e = elementwise_grid(a.pixels, a.channels, v);
    if (a.relu)
      bn_apply_kernel<T, v, true><<<e.grid, e.block, 0, stream>>>(xt, static_cast<T*>(y), a.pixels,
                                                                  a.channels, a.scale, a.shift);
    else
      bn_apply_kernel<T, v, false><<<e.grid, e.block, 0, stream>>>(xt, static_cast<T*>(y), a.pixels,
                                                                   a.channels, a.scale, a.shift);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_batchnorm_backward(DType type, const BatchNormArgs& a, const void* x, const void* y,
                               const void* dy, void* dx, cudaStream_t stream) {
  const int chunks = reduction_chunks(a.pixels, a.channels);
  dispatch_vector(type, a.channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T *xt = static_cast<const T*>(x), *yt = static_cast<const T*>(y),
            *dyt = static_cast<const T*>(dy);
    const ChannelGrid sums = channel_grid(a.pixels, a.channels, v, chunks);
    if (a.relu)
      channel_sums_kernel<T, v><<<sums.grid, sums.block, 0, stream>>>(
          a.pixels, a.channels, a.partial,
          BackwardTerms<T, v, true>{xt, yt, dyt, a.channels, a.mean, a.inv_std, {}, {}});
    else
      channel_sums_kernel<T, v><<<sums.grid, sums.block, 0, stream>>>(
          a.pixels, a.channels, a.partial,
          BackwardTerms<T, v, false>{xt, yt, dyt, a.channels, a.mean, a.inv_std, {}, {}});
    bn_backward_finalize_kernel<<<a.channels, kThreads, 0, stream>>>(chunks, a);
    if (dx == nullptr) return;
    const ChannelGrid e = elementwise_grid(a.pixels, a.channels, v);
    if (a.relu)
      bn_dx_kernel<T, v, true><<<e.grid, e.block, 0, stream>>>(xt, yt, dyt, static_cast<T*>(dx),
                                                               a.pixels, a.channels, a);
    else
      bn_dx_kernel<T, v, false><<<e.grid, e.block, 0, stream>>>(xt, yt, dyt, static_cast<T*>(dx),
                                                                a.pixels, a.channels, a);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_channel_sum(DType type, const void* dy, int64_t pixels, int channels, float* partial,
                        void* out, cudaStream_t stream) {
  const int chunks = reduction_chunks(pixels, channels);
  dispatch_vector(type, channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const ChannelGrid sums = channel_grid(pixels, channels, v, chunks);
    channel_sums_kernel<T, v><<<sums.grid, sums.block, 0, stream>>>(
        pixels, channels, partial, SumTerms<T, v>{static_cast<const T*>(dy), channels});
    channel_sum_finalize_kernel<T>
        <<<channels, kThreads, 0, stream>>>(partial, chunks, channels, static_cast<T*>(out));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_max_pool_forward(DType type, const PoolShape& s, const void* x, void* y,
                             cudaStream_t stream) {
  const int64_t outputs = int64_t(s.batch) * s.out_height * s.out_width;
  dispatch_vector(type, s.channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const ChannelGrid e = elementwise_grid(outputs, s.channels, v);
    max_pool_forward_kernel<T, v>
        <<<e.grid, e.block, 0, stream>>>(s, static_cast<const T*>(x), static_cast<T*>(y));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_max_pool_backward(DType type, const PoolShape& s, const void* x, const void* dy,
                              void* dx, cudaStream_t stream) {
  const int64_t inputs = int64_t(s.batch) * s.height * s.width;
  dispatch_vector(type, s.channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const ChannelGrid e = elementwise_grid(inputs, s.channels, v);
    max_pool_backward_kernel<T, v><<<e.grid, e.block, 0, stream>>>(
        s, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dx));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_global_avg_pool_forward(DType type, int batch, int64_t positions, int channels,
                                    const void* x, void* y, cudaStream_t stream) {
  dispatch_vector(type, channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const ChannelGrid e = channel_grid(batch, channels, v, 65535);
    gap_forward_kernel<T, v><<<e.grid, e.block, 0, stream>>>(
        batch, positions, channels, static_cast<const T*>(x), static_cast<T*>(y));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_global_avg_pool_backward(DType type, int batch, int64_t positions, int channels,
                                     const void* dy, void* dx, cudaStream_t stream) {
  const int64_t pixels = int64_t(batch) * positions;
  dispatch_vector(type, channels, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const ChannelGrid e = elementwise_grid(pixels, channels, v);
    gap_backward_kernel<T, v><<<e.grid, e.block, 0, stream>>>(
        positions, pixels, channels, static_cast<const T*>(dy), static_cast<T*>(dx));
  });
  CUDA_CHECK_LAUNCH();
}

void launch_relu(DType type, const void* x, void* y, int64_t n, cudaStream_t stream) {
  dispatch_vector(type, n, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const int64_t vectors = n / v;
    relu_kernel<T, v><<<elementwise_blocks(vectors, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), vectors);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_relu_backward(DType type, void* dy, const void* y, int64_t n, cudaStream_t stream) {
  dispatch_vector(type, n, [&](auto* tag, auto v) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const int64_t vectors = n / v;
    relu_backward_kernel<T, v><<<elementwise_blocks(vectors, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(dy), static_cast<const T*>(y), vectors);
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
  launch_padding<true>(type, s, x, padded, stream);
}

void launch_crop(DType type, const PadShape& s, const void* padded, void* x, cudaStream_t stream) {
  launch_padding<false>(type, s, padded, x, stream);
}

}  // namespace gt::engine::cuda
