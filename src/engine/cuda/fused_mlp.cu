// The fused small-MLP kernels (see fused_mlp.h). Training: one cooperative launch of G blocks of
// 256 threads runs `steps` dependent steps. Block g owns hidden units [4g, 4g+4): the rows of W1
// and b1 and the columns of W2 that touch them, their FP32 master values, the compute copies the
// GEMM path would read (storage-type or TF32-rounded) and the optimizer moments, all in shared
// memory. A step: wait for the prefetched batch (cp.async, issued during the previous step) →
// normalise and round it → start the prefetch of the next batch → h = relu(x·W1ᵀ + b1) for the
// block's units → partial logits h·W2ᵀ to global memory → grid barrier → every block sums the
// partials in block order (deterministic), adds b2 and runs the softmax cross-entropy of the whole
// batch → dh, dW2, db2, db1, dW1 for its slice → (fp16: grid barrier to agree on an overflow) →
// Adam/SGD on its slice; b2 is updated identically by every block. At the end the slices go back
// to the parameter slabs and block 0 writes the counters into DeviceState.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "engine/cuda/check.h"
#include "engine/cuda/device_math.cuh"
#include "engine/cuda/fused_mlp.h"

namespace gt::engine::cuda {
namespace {

constexpr int kThreads = kFusedThreads;
constexpr int kUnits = kFusedUnits;
constexpr int kRows = kFusedMaxRows;
constexpr int kWarps = kThreads / 32;
constexpr int kEvalRows = 16;  // rows per block of the evaluation kernel
static_assert(kUnits == 4 && kRows == 4 * kWarps, "the thread mapping assumes 4 units, 32 rows");

// Shared-memory layout of the training kernel, in floats (each region 16-byte aligned).
struct Layout {
  int kp = 0;         // inputs rounded up to a multiple of 4 (zero padded)
  int stage_row = 0;  // bytes of one staged input row (multiple of 16)
  int xs, w1m, w1c, w1mo, w1v, gw1;
  int w2m, w2c, w2mo, w2v, gw2;
  int b1m, b1c, b1mo, b1v, gb1;
  int b2m, b2c, b2mo, b2v, gb2;
  int hs, hc, mask, dls, dlc, dhs, dhc, zs, red, lab, slab, misc, prof, stage;
  size_t bytes = 0;
};

__host__ __device__ inline int take(int& at, int floats) {
  const int here = at;
  at += (floats + 3) & ~3;
  return here;
}

__host__ __device__ inline Layout layout(int inputs, int classes, bool u8_input) {
  Layout l;
  l.kp = (inputs + 3) & ~3;
  l.stage_row = (inputs * (u8_input ? 1 : 4) + 15) & ~15;
  const int u = kUnits, c = classes;
  int at = 0;
  l.xs = take(at, kRows * l.kp);
  l.w1m = take(at, u * l.kp);
  l.w1c = take(at, u * l.kp);
  l.w1mo = take(at, u * l.kp);
  l.w1v = take(at, u * l.kp);
  l.gw1 = take(at, u * l.kp);
  l.w2m = take(at, c * u);
  l.w2c = take(at, c * u);
  l.w2mo = take(at, c * u);
  l.w2v = take(at, c * u);
  l.gw2 = take(at, c * u);
  l.b1m = take(at, u);
  l.b1c = take(at, u);
  l.b1mo = take(at, u);
  l.b1v = take(at, u);
  l.gb1 = take(at, u);
  l.b2m = take(at, c);
  l.b2c = take(at, c);
  l.b2mo = take(at, c);
  l.b2v = take(at, c);
  l.gb2 = take(at, c);
  l.hs = take(at, kRows * u);
  l.hc = take(at, kRows * u);
  l.mask = take(at, kRows * u);
  l.dls = take(at, kRows * c);
  l.dlc = take(at, kRows * c);
  l.dhs = take(at, kRows * u);
  l.dhc = take(at, kRows * u);
  l.zs = take(at, kRows * c);
  l.red = take(at, 4 * kThreads);
  l.lab = take(at, kRows);
  l.slab = take(at, kRows);
  l.misc = take(at, 32);
  l.prof = take(at, 2 * kFusedProfilePhases);
  l.stage = take(at, kRows * l.stage_row / 4);
  l.bytes = size_t(at) * 4;
  return l;
}

size_t eval_smem(int inputs, int hidden, int classes) {
  const int kp = (inputs + 3) & ~3;
  return size_t(kEvalRows) * (kp + hidden + classes + 1) * 4;
}

// What a GEMM of the cuBLASLt path sees of a value: `store` rounds to the storage type (weights
// copy, activations, gradients); `compute` additionally rounds GEMM operands to TF32 under tf32.
template <typename T, bool TF32>
struct Round {
  static __device__ __forceinline__ float store(float x) { return to_f<T>(from_f<T>(x)); }
  static __device__ __forceinline__ float compute(float x) {
    if constexpr (TF32)
      return tf32_round(x);
    else
      return store(x);
  }
  // A gathered input: stored in the storage type, then read by a GEMM (= compute(store(x))).
  static __device__ __forceinline__ float input(float x) { return compute(x); }
};

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(s),
               "l"(__cvta_generic_to_global(gmem))
               : "memory");
}
__device__ __forceinline__ void cp_async4(void* smem, const void* gmem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(s),
               "l"(__cvta_generic_to_global(gmem))
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;" ::: "memory");
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;" ::: "memory");
}

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void add_release(unsigned* p, unsigned v) {
  asm volatile("red.release.gpu.global.add.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

// Sums v[e] over the warp's 32 lanes for 16 values at once by recursive halving (15 shuffles
// instead of 80); afterwards v[0] of lane l holds the total of element (l >> 1).
__device__ __forceinline__ void warp_reduce16(float (&v)[16], int lane) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const bool upper = lane & 16;
    const float send = upper ? v[j] : v[j + 8];
    const float keep = upper ? v[j + 8] : v[j];
    v[j] = keep + __shfl_xor_sync(0xffffffffu, send, 16);
  }
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const bool upper = lane & 8;
    const float send = upper ? v[j] : v[j + 4];
    const float keep = upper ? v[j + 4] : v[j];
    v[j] = keep + __shfl_xor_sync(0xffffffffu, send, 8);
  }
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    const bool upper = lane & 4;
    const float send = upper ? v[j] : v[j + 2];
    const float keep = upper ? v[j + 2] : v[j];
    v[j] = keep + __shfl_xor_sync(0xffffffffu, send, 4);
  }
  {
    const bool upper = lane & 2;
    const float send = upper ? v[0] : v[1];
    const float keep = upper ? v[1] : v[0];
    v[0] = keep + __shfl_xor_sync(0xffffffffu, send, 2);
  }
  v[0] += __shfl_xor_sync(0xffffffffu, v[0], 1);
}

struct StepScalars {
  float step_size, bias2_sqrt, inv_scale;
};

// The optimizer_kernel's formulas (kernels.cu), on one parameter.
__device__ __forceinline__ void update(const FusedMlpArgs& a, const StepScalars& k, float grad,
                                       float& w, float& m, float& v) {
  const float g = grad * k.inv_scale;
  if (a.adam) {
    m = a.beta1 * m + (1.0f - a.beta1) * g;
    v = a.beta2 * v + (1.0f - a.beta2) * g * g;
    w = w - k.step_size * m / (sqrtf(v) / k.bias2_sqrt + a.eps);
  } else {
    m = a.momentum * m + g;
    w = w - a.lr * m;
  }
}

// One softmax cross-entropy row on a warp (one lane per class), as softmax_ce_kernel computes it.
// Returns the row's loss on lane 0; `prob` gets softmax(z) on lanes < classes.
struct RowResult {
  float loss;
  bool correct;
  float prob;
};
__device__ __forceinline__ RowResult softmax_row(float z, int lane, int classes, int label) {
  float best = z;
  int best_index = lane < classes ? lane : classes;
  warp_argmax(best, best_index);
  const float sum = warp_sum(lane < classes ? __expf(z - best) : 0.0f);
  const float z_label = __shfl_sync(0xffffffffu, z, label);
  RowResult out;
  out.loss = logf(sum) + best - z_label;
  out.correct = best_index == label;
  out.prob = lane < classes ? __expf(z - best) * (1.0f / sum) : 0.0f;
  return out;
}

template <typename T, bool TF32>
__global__ void __launch_bounds__(kThreads, 1) fused_train_kernel(const FusedMlpArgs a) {
  using R = Round<T, TF32>;
  extern __shared__ float4 smem4[];
  float* const sm = reinterpret_cast<float*>(smem4);
  const Layout L = layout(a.inputs, a.classes, a.u8_input);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = blockIdx.x, G = gridDim.x;
  const int K = a.inputs, KP = L.kp, KP4 = KP / 4, C = a.classes, H = a.hidden;
  const int u0 = g * kUnits;
  constexpr int U = kUnits;
  float *xs = sm + L.xs, *w1m = sm + L.w1m, *w1c = sm + L.w1c, *w1mo = sm + L.w1mo,
        *w1v = sm + L.w1v, *gw1 = sm + L.gw1;
  float *w2m = sm + L.w2m, *w2c = sm + L.w2c, *w2mo = sm + L.w2mo, *w2v = sm + L.w2v,
        *gw2 = sm + L.gw2;
  float *b1m = sm + L.b1m, *b1c = sm + L.b1c, *b1mo = sm + L.b1mo, *b1v = sm + L.b1v,
        *gb1 = sm + L.gb1;
  float *b2m = sm + L.b2m, *b2c = sm + L.b2c, *b2mo = sm + L.b2mo, *b2v = sm + L.b2v,
        *gb2 = sm + L.gb2;
  float *hs = sm + L.hs, *hc = sm + L.hc, *mask = sm + L.mask, *dls = sm + L.dls, *dlc = sm + L.dlc,
        *dhs = sm + L.dhs, *dhc = sm + L.dhc, *zs = sm + L.zs;
  float4* red = reinterpret_cast<float4*>(sm + L.red);
  int* lab = reinterpret_cast<int*>(sm + L.lab);
  int* slab = reinterpret_cast<int*>(sm + L.slab);
  float* misc = sm + L.misc;  // [0..7] warp losses, [8..15] warp correct counts, [16..18] scalars
  unsigned* wcorrect_s = reinterpret_cast<unsigned*>(misc + 8);
  char* stage = reinterpret_cast<char*>(sm + L.stage);
  // Optional phase profile: block 0's thread 0 adds the clock cycles of each phase of each step.
  long long* prof = reinterpret_cast<long long*>(sm + L.prof);
  const bool profiling = a.profile != nullptr && g == 0 && tid == 0;
  long long prof_last = 0;
  if (profiling)
    for (int k = 0; k < kFusedProfilePhases; ++k) prof[k] = 0;
  auto mark = [&](int phase) {
    if (profiling) {
      const long long now = clock64();
      prof[phase] += now - prof_last;
      prof_last = now;
    }
  };
  const float4* x4 = reinterpret_cast<const float4*>(xs);

  // This block's slice of the parameters and moments → shared memory.
  for (int i = tid; i < U * KP; i += kThreads) {
    const int u = i / KP, k = i - u * KP;
    const bool ok = u0 + u < H && k < K;
    const int64_t at = a.w1 + int64_t(u0 + u) * K + k;
    const float w = ok ? a.master[at] : 0.0f;
    w1m[i] = w;
    w1c[i] = R::compute(w);
    w1mo[i] = ok ? a.m[at] : 0.0f;
    w1v[i] = ok && a.v ? a.v[at] : 0.0f;
  }
  for (int i = tid; i < C * U; i += kThreads) {
    const int c = i / U, u = i - c * U;
    const bool ok = u0 + u < H;
    const int64_t at = a.w2 + int64_t(c) * H + u0 + u;
    const float w = ok ? a.master[at] : 0.0f;
    w2m[i] = w;
    w2c[i] = R::compute(w);
    w2mo[i] = ok ? a.m[at] : 0.0f;
    w2v[i] = ok && a.v ? a.v[at] : 0.0f;
  }
  if (tid < U) {
    const bool ok = u0 + tid < H;
    const int64_t at = a.b1 + u0 + tid;
    const float w = ok ? a.master[at] : 0.0f;
    b1m[tid] = w;
    b1c[tid] = R::store(w);
    b1mo[tid] = ok ? a.m[at] : 0.0f;
    b1v[tid] = ok && a.v ? a.v[at] : 0.0f;
  }
  for (int c = tid; c < C; c += kThreads) {
    const int64_t at = a.b2 + c;
    b2m[c] = a.master[at];
    b2c[c] = R::store(a.master[at]);
    b2mo[c] = a.m[at];
    b2v[c] = a.v ? a.v[at] : 0.0f;
  }

  DeviceState* st = a.state;
  float scale = st->loss_scale;
  int growth = st->growth_count;
  int64_t adam_t = st->adam_t;
  const int64_t first_step = st->epoch.step_in_epoch;
  uint32_t key[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) key[i] = st->epoch.perm_key[i];
  const uint32_t half_bits = st->epoch.perm_half_bits;
  // Block 0, thread 0: the epoch's counters.
  double loss_sum = 0;
  int64_t loss_rows = 0, rows_seen = 0, skipped = 0;
  uint64_t correct = 0;
  float last_loss = 0;

  const int row_bytes = K * (a.u8_input ? 1 : 4);
  auto rows_of = [&](int64_t s) -> int {
    if (a.fixed) return a.batch;
    const int64_t left = a.data_rows - (first_step + s) * a.batch;
    return int(left < a.batch ? left : a.batch);
  };
  // Issues the copies of step s's rows (and labels) into the staging area.
  auto prefetch = [&](int64_t s) {
    const int rows = rows_of(s);
    const int64_t base = a.fixed ? a.fixed_offset : (first_step + s) * a.batch;
    for (int r = warp; r < rows; r += kWarps) {
      const int64_t position = base + r;
      const int64_t row =
          (!a.fixed && a.shuffle)
              ? shuffled_index(uint32_t(position), uint32_t(a.data_rows), key, half_bits)
              : position;
      const char* src = static_cast<const char*>(a.input) + row * row_bytes;
      char* dst = stage + r * L.stage_row;
      if ((row_bytes & 15) == 0) {
        for (int j = lane * 16; j < row_bytes; j += 32 * 16) cp_async16(dst + j, src + j);
      } else if ((row_bytes & 3) == 0) {
        for (int j = lane * 4; j < row_bytes; j += 32 * 4) cp_async4(dst + j, src + j);
      } else {
        for (int j = lane; j < row_bytes; j += 32) dst[j] = src[j];
      }
      if (lane == 0) cp_async4(slab + r, a.labels + row);
    }
    cp_async_commit();
  };

  unsigned barrier_target = 0;
  // Thread 0 only, between two __syncthreads: the release publishes what the block wrote before
  // the first, the acquire makes every block's writes visible to the block after the second.
  auto arrive_and_wait = [&]() {
    add_release(a.barrier, 1u);
    while (load_acquire(a.barrier) < barrier_target) {
    }
  };

  prefetch(0);
  for (int64_t s = 0; s < a.steps; ++s) {
    const int rows = rows_of(s);
    if (profiling) prof_last = clock64();
    cp_async_wait_all();
    __syncthreads();
    mark(0);
    // The staged batch → FP32 values rounded as the gather + GEMM would (zero padding to KP).
    // (A warp per row, a lane per 4 features: no index division.)
    for (int r = warp; r < rows; r += kWarps)
      for (int q = lane; q < KP4; q += 32) {
        const int k = 4 * q;
        float v[4];
        if (a.u8_input) {
          const uchar4 b = *reinterpret_cast<const uchar4*>(stage + r * L.stage_row + k);
          v[0] = float(b.x) * a.scale;
          v[1] = float(b.y) * a.scale;
          v[2] = float(b.z) * a.scale;
          v[3] = float(b.w) * a.scale;
        } else {
          const float4 f = *reinterpret_cast<const float4*>(stage + r * L.stage_row + 4 * k);
          v[0] = f.x;
          v[1] = f.y;
          v[2] = f.z;
          v[3] = f.w;
        }
        float4 out;
        out.x = k + 0 < K ? R::input(v[0]) : 0.0f;
        out.y = k + 1 < K ? R::input(v[1]) : 0.0f;
        out.z = k + 2 < K ? R::input(v[2]) : 0.0f;
        out.w = k + 3 < K ? R::input(v[3]) : 0.0f;
        reinterpret_cast<float4*>(xs)[r * KP4 + q] = out;
      }
    if (tid < rows) lab[tid] = slab[tid];
    __syncthreads();
    mark(1);
    if (s + 1 < a.steps) prefetch(s + 1);

    // Hidden layer: warp w computes rows 4w..4w+3 × the block's 4 units.
    const int r0 = warp * 4;
    if (r0 < rows) {
      float acc[16];
#pragma unroll
      for (int e = 0; e < 16; ++e) acc[e] = 0.0f;
      const float4* w4 = reinterpret_cast<const float4*>(w1c);
      for (int q = lane; q < KP4; q += 32) {
        float4 w[U];
#pragma unroll
        for (int u = 0; u < U; ++u) w[u] = w4[u * KP4 + q];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float4 x = x4[(r0 + i) * KP4 + q];
#pragma unroll
          for (int u = 0; u < U; ++u) {
            float& t = acc[i * U + u];
            t = fmaf(x.x, w[u].x, t);
            t = fmaf(x.y, w[u].y, t);
            t = fmaf(x.z, w[u].z, t);
            t = fmaf(x.w, w[u].w, t);
          }
        }
      }
      warp_reduce16(acc, lane);
      if ((lane & 1) == 0) {
        const int e = lane >> 1, r = r0 + e / U, u = e % U;
        if (r < rows) {
          const float pre = acc[0] + b1c[u];
          const float h = R::store(fmaxf(pre, 0.0f));
          hs[r * U + u] = h;
          hc[r * U + u] = R::compute(h);
          mask[r * U + u] = pre > 0.0f ? 1.0f : 0.0f;
        }
      }
    }
    __syncthreads();
    mark(2);
    // Partial logits of this block's units → global memory (double-buffered by step parity).
    const size_t part_stride = size_t(kRows) * C;
    float* part = a.partial + (size_t(s & 1) * G + g) * part_stride;
    for (int i = tid; i < rows * C; i += kThreads) {
      const int r = i / C, c = i - r * C;
      float p = 0.0f;
#pragma unroll
      for (int u = 0; u < U; ++u) p = fmaf(hc[r * U + u], w2c[c * U + u], p);
      __stcg(part + i, p);
    }
    __syncthreads();
    mark(3);
    barrier_target += G;
    if (tid == 0) {
      arrive_and_wait();
    } else if (tid == 32 && a.adam) {  // this step's Adam scalars while the barrier completes
      const double t = double(adam_t + 1);
      const float bias1 = 1.0f - float(pow(double(a.beta1), t));
      misc[16] = a.lr / bias1;
      misc[17] = sqrtf(1.0f - float(pow(double(a.beta2), t)));
    }
    __syncthreads();
    mark(4);
    // Logits of the whole batch: the G partials of each (row, class) summed in a fixed order,
    // + b2, in the storage type. Thread t loads quad q = t % nq of blocks j, j + groups, … with
    // all its loads in flight (one L2 round trip), then the groups' sums are added in order.
    const float* parts = a.partial + size_t(s & 1) * G * part_stride;
    {
      const int nq = (rows * C + 3) / 4;
      const int groups = max(1, min(kThreads / nq, G));
      if (tid < groups * nq) {
        const int q = tid % nq, j = tid / nq;
        const float4* p4 = reinterpret_cast<const float4*>(parts) + q;
        const size_t stride4 = part_stride / 4;
        float4 sum = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        for (int b0 = j; b0 < G; b0 += 12 * groups) {
          float4 v[12];
#pragma unroll
          for (int k = 0; k < 12; ++k) {
            const int b = b0 + k * groups;
            v[k] = b < G ? __ldcg(p4 + b * stride4) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
          }
#pragma unroll
          for (int k = 0; k < 12; ++k) {
            sum.x += v[k].x;
            sum.y += v[k].y;
            sum.z += v[k].z;
            sum.w += v[k].w;
          }
        }
        red[j * nq + q] = sum;
      }
      __syncthreads();
      const float* redf = reinterpret_cast<const float*>(red);
      for (int i = tid; i < rows * C; i += kThreads) {
        float z = 0.0f;
        for (int j = 0; j < groups; ++j) z += redf[j * nq * 4 + i];
        zs[i] = R::store(z + b2c[i % C]);
      }
    }
    __syncthreads();
    mark(5);
    // Softmax cross-entropy, a warp per row: loss, accuracy, dlogits (scaled for fp16).
    const float grad_scale = (a.loss_scaling ? scale : 1.0f) / float(rows);
    float wloss = 0.0f;
    unsigned wcorrect = 0;
    for (int r = warp; r < rows; r += kWarps) {
      const float z = lane < C ? zs[r * C + lane] : -INFINITY;
      const int label = lab[r];
      const RowResult res = softmax_row(z, lane, C, label);
      if (lane == 0) {
        wloss += res.loss;
        wcorrect += res.correct ? 1u : 0u;
      }
      if (lane < C) {
        const float d = R::store((res.prob - (lane == label ? 1.0f : 0.0f)) * grad_scale);
        dls[r * C + lane] = d;
        dlc[r * C + lane] = R::compute(d);
        if (a.debug && g == 0) static_cast<T*>(a.debug_logits)[r * C + lane] = from_f<T>(z);
      }
    }
    if (lane == 0) {
      misc[warp] = wloss;
      wcorrect_s[warp] = wcorrect;
    }
    __syncthreads();
    mark(6);
    // dh (through the ReLU), dW2 and db2.
    bool bad = false;
    for (int i = tid; i < rows * U; i += kThreads) {
      const int r = i / U, u = i - r * U;
      float t = 0.0f;
      for (int c = 0; c < C; ++c) t = fmaf(dlc[r * C + c], w2c[c * U + u], t);
      const float d = mask[i] != 0.0f ? R::store(t) : 0.0f;
      dhs[i] = d;
      dhc[i] = R::compute(d);
    }
    for (int i = tid; i < C * U; i += kThreads) {
      const int c = i / U, u = i - c * U;
      float t = 0.0f;
#pragma unroll 4
      for (int r = 0; r < rows; ++r) t = fmaf(dlc[r * C + c], hc[r * U + u], t);
      gw2[i] = R::store(t);
      bad |= !isfinite(gw2[i]);
    }
    for (int c = tid; c < C; c += kThreads) {
      float t = 0.0f;
#pragma unroll 4
      for (int r = 0; r < rows; ++r) t += dls[r * C + c];
      gb2[c] = R::store(t);
      bad |= !isfinite(gb2[c]);
    }
    __syncthreads();
    mark(7);
    // db1 and dW1 = dhᵀ·x for the block's rows of W1.
    if (tid < U) {
      float t = 0.0f;
#pragma unroll 4
      for (int r = 0; r < rows; ++r) t += dhs[r * U + tid];
      gb1[tid] = R::store(t);
      bad |= !isfinite(gb1[tid]);
    }
    const float4* dh4 = reinterpret_cast<const float4*>(dhc);
    for (int q = tid; q < KP4; q += kThreads) {
      float acc[U][4];
#pragma unroll
      for (int u = 0; u < U; ++u) acc[u][0] = acc[u][1] = acc[u][2] = acc[u][3] = 0.0f;
#pragma unroll 4
      for (int r = 0; r < rows; ++r) {
        const float4 x = x4[r * KP4 + q];
        const float4 d = dh4[r];
        const float dv[4] = {d.x, d.y, d.z, d.w};
#pragma unroll
        for (int u = 0; u < U; ++u) {
          acc[u][0] = fmaf(dv[u], x.x, acc[u][0]);
          acc[u][1] = fmaf(dv[u], x.y, acc[u][1]);
          acc[u][2] = fmaf(dv[u], x.z, acc[u][2]);
          acc[u][3] = fmaf(dv[u], x.w, acc[u][3]);
        }
      }
#pragma unroll
      for (int u = 0; u < U; ++u) {
        float4 out;
        out.x = R::store(acc[u][0]);
        out.y = R::store(acc[u][1]);
        out.z = R::store(acc[u][2]);
        out.w = R::store(acc[u][3]);
        bad |= !(isfinite(out.x) && isfinite(out.y) && isfinite(out.z) && isfinite(out.w));
        reinterpret_cast<float4*>(gw1 + u * KP)[q] = out;
      }
    }
    // fp16: every block must agree whether any gradient overflowed before anyone updates.
    bool skip = false;
    if (a.loss_scaling) {
      const int any = __syncthreads_or(bad);
      unsigned* flags = a.flags + size_t(s & 1) * G;
      if (tid == 0) __stcg(flags + g, unsigned(any));
      __syncthreads();
      barrier_target += G;
      if (tid == 0) arrive_and_wait();
      __syncthreads();
      if (warp == 0) {
        unsigned f = 0;
        for (int b = lane; b < G; b += 32) f |= __ldcg(flags + b);
        f = __any_sync(0xffffffffu, f != 0) ? 1u : 0u;
        if (lane == 0) misc[18] = f ? 1.0f : 0.0f;
      }
      __syncthreads();
      skip = misc[18] != 0.0f;
    } else {
      __syncthreads();
    }
    mark(8);

    if (a.debug) {  // gradients of the (scaled) loss and the loss itself; no update
      T* grads = static_cast<T*>(a.grads);
      for (int i = tid; i < U * KP; i += kThreads) {
        const int u = i / KP, k = i - u * KP;
        if (u0 + u < H && k < K) grads[a.w1 + int64_t(u0 + u) * K + k] = from_f<T>(gw1[i]);
      }
      for (int i = tid; i < C * U; i += kThreads) {
        const int c = i / U, u = i - c * U;
        if (u0 + u < H) grads[a.w2 + int64_t(c) * H + u0 + u] = from_f<T>(gw2[i]);
      }
      if (tid < U && u0 + tid < H) grads[a.b1 + u0 + tid] = from_f<T>(gb1[tid]);
      if (g == 0) {
        for (int c = tid; c < C; c += kThreads) grads[a.b2 + c] = from_f<T>(gb2[c]);
        if (tid == 0) {
          double l = 0;
          unsigned n = 0;
          for (int w = 0; w < kWarps; ++w) {
            l += misc[w];
            n += wcorrect_s[w];
          }
          atomicAdd(&st->eval_loss, l);
          atomicAdd(reinterpret_cast<unsigned long long*>(&st->eval_correct),
                    (unsigned long long)n);
        }
      }
      return;
    }

    if (!skip) {
      const StepScalars k{misc[16], misc[17], a.loss_scaling ? 1.0f / scale : 1.0f};
      for (int i = tid; i < U * KP; i += kThreads) {
        float w = w1m[i], m = w1mo[i], v = w1v[i];
        update(a, k, gw1[i], w, m, v);
        w1m[i] = w;
        w1mo[i] = m;
        w1v[i] = v;
        w1c[i] = R::compute(w);
      }
      for (int i = tid; i < C * U; i += kThreads) {
        float w = w2m[i], m = w2mo[i], v = w2v[i];
        update(a, k, gw2[i], w, m, v);
        w2m[i] = w;
        w2mo[i] = m;
        w2v[i] = v;
        w2c[i] = R::compute(w);
      }
      if (tid < U) {
        float w = b1m[tid], m = b1mo[tid], v = b1v[tid];
        update(a, k, gb1[tid], w, m, v);
        b1m[tid] = w;
        b1mo[tid] = m;
        b1v[tid] = v;
        b1c[tid] = R::store(w);
      }
      for (int c = tid; c < C; c += kThreads) {
        float w = b2m[c], m = b2mo[c], v = b2v[c];
        update(a, k, gb2[c], w, m, v);
        b2m[c] = w;
        b2mo[c] = m;
        b2v[c] = v;
        b2c[c] = R::store(w);
      }
    }
    // The loss-scaling rules and counters of optimizer_kernel.
    if (skip) {
      scale *= 0.5f;
      growth = 0;
    } else {
      ++adam_t;
      if (a.loss_scaling && ++growth >= a.growth_interval) {
        scale *= 2.0f;
        growth = 0;
      }
    }
    if (g == 0 && tid == 0) {
      double step_loss = 0;
      unsigned n = 0;
      for (int w = 0; w < kWarps; ++w) {
        step_loss += misc[w];
        n += wcorrect_s[w];
      }
      if (skip) {
        ++skipped;
      } else {
        loss_sum += step_loss;
        loss_rows += rows;
      }
      correct += n;
      rows_seen += rows;
      last_loss = float(step_loss / double(rows));
      if (a.step_losses) a.step_losses[s] = last_loss;
    }
    mark(9);
  }
  if (profiling)
    for (int k = 0; k < kFusedProfilePhases; ++k) a.profile[k] += prof[k];

  // The slices back to the slabs; block 0 closes the launch's counters.
  T* copy = static_cast<T*>(a.copy);
  for (int i = tid; i < U * KP; i += kThreads) {
    const int u = i / KP, k = i - u * KP;
    if (u0 + u >= H || k >= K) continue;
    const int64_t at = a.w1 + int64_t(u0 + u) * K + k;
    a.master[at] = w1m[i];
    a.m[at] = w1mo[i];
    if (a.v) a.v[at] = w1v[i];
    if (copy) copy[at] = from_f<T>(w1m[i]);
  }
  for (int i = tid; i < C * U; i += kThreads) {
    const int c = i / U, u = i - c * U;
    if (u0 + u >= H) continue;
    const int64_t at = a.w2 + int64_t(c) * H + u0 + u;
    a.master[at] = w2m[i];
    a.m[at] = w2mo[i];
    if (a.v) a.v[at] = w2v[i];
    if (copy) copy[at] = from_f<T>(w2m[i]);
  }
  if (tid < U && u0 + tid < H) {
    const int64_t at = a.b1 + u0 + tid;
    a.master[at] = b1m[tid];
    a.m[at] = b1mo[tid];
    if (a.v) a.v[at] = b1v[tid];
    if (copy) copy[at] = from_f<T>(b1m[tid]);
  }
  if (g == 0) {
    for (int c = tid; c < C; c += kThreads) {
      const int64_t at = a.b2 + c;
      a.master[at] = b2m[c];
      a.m[at] = b2mo[c];
      if (a.v) a.v[at] = b2v[c];
      if (copy) copy[at] = from_f<T>(b2m[c]);
    }
    if (tid == 0) {
      st->loss_scale = scale;
      st->growth_count = growth;
      st->adam_t = adam_t;
      st->global_step += a.steps;
      st->total_skipped += skipped;
      st->last_step_loss = last_loss;
      EpochCounters& e = st->epoch;
      e.loss_sum += loss_sum;
      e.loss_rows += loss_rows;
      e.correct += correct;
      e.rows += rows_seen;
      e.steps += a.steps;
      e.skipped_steps += skipped;
      e.step_in_epoch += a.steps;
    }
  }
}

// Forward pass of kEvalRows rows per block with the master weights (rounded as the GEMM path
// reads them); adds the loss and correct count of its rows to DeviceState's eval sums.
template <typename T, bool TF32>
__global__ void __launch_bounds__(kThreads)
    fused_eval_kernel(const FusedMlpArgs a, int64_t total_rows) {
  using R = Round<T, TF32>;
  extern __shared__ float4 smem4[];
  const int K = a.inputs, KP = (K + 3) & ~3, H = a.hidden, C = a.classes;
  float* xs = reinterpret_cast<float*>(smem4);  // [kEvalRows][KP]
  float* hs = xs + kEvalRows * KP;              // [kEvalRows][H]
  float* wl = hs + kEvalRows * H;               // warp losses
  int* lab = reinterpret_cast<int*>(wl + kEvalRows);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t first_local = int64_t(blockIdx.x) * kEvalRows;
  const int rows = int(total_rows - first_local < kEvalRows ? total_rows - first_local : kEvalRows);
  const int64_t first = a.fixed_offset + first_local;
  for (int i = tid; i < kEvalRows * KP; i += kThreads) {
    const int r = i / KP, k = i - r * KP;
    float v = 0.0f;
    if (r < rows && k < K) {
      const int64_t at = (first + r) * K + k;
      v = a.u8_input ? float(static_cast<const uint8_t*>(a.input)[at]) * a.scale
                     : static_cast<const float*>(a.input)[at];
      v = R::input(v);
    }
    xs[i] = v;
  }
  if (tid < rows) lab[tid] = a.labels[first + tid];
  __syncthreads();
  static_assert(kEvalRows == 16, "warp_reduce16 reduces 16 rows");
  for (int u = warp; u < H; u += kWarps) {
    float acc[16];
#pragma unroll
    for (int r = 0; r < 16; ++r) acc[r] = 0.0f;
    const float* wrow = a.master + a.w1 + int64_t(u) * K;
    for (int k = lane; k < K; k += 32) {
      const float w = R::compute(wrow[k]);
#pragma unroll
      for (int r = 0; r < 16; ++r) acc[r] = fmaf(w, xs[r * KP + k], acc[r]);
    }
    warp_reduce16(acc, lane);
    const int r = lane >> 1;
    if ((lane & 1) == 0 && r < rows) {
      const float pre = acc[0] + R::store(a.master[a.b1 + u]);
      hs[r * H + u] = R::store(fmaxf(pre, 0.0f));
    }
  }
  __syncthreads();
  float wloss = 0.0f;
  unsigned wcorrect = 0;
  for (int r = warp; r < rows; r += kWarps) {
    float z = -INFINITY;
    if (lane < C) {
      float t = 0.0f;
      const float* w2row = a.master + a.w2 + int64_t(lane) * H;
      for (int u = 0; u < H; ++u) t = fmaf(R::compute(hs[r * H + u]), R::compute(w2row[u]), t);
      z = R::store(t + R::store(a.master[a.b2 + lane]));
    }
    const RowResult res = softmax_row(z, lane, C, lab[r]);
    if (lane == 0) {
      wloss += res.loss;
      wcorrect += res.correct ? 1u : 0u;
    }
  }
  __shared__ unsigned wc[kWarps];
  if (lane == 0) {
    wl[warp] = wloss;
    wc[warp] = wcorrect;
  }
  __syncthreads();
  if (tid == 0) {
    double l = 0;
    unsigned n = 0;
    for (int w = 0; w < kWarps; ++w) {
      l += wl[w];
      n += wc[w];
    }
    atomicAdd(&a.state->eval_loss, l);
    atomicAdd(reinterpret_cast<unsigned long long*>(&a.state->eval_correct), (unsigned long long)n);
  }
}

template <typename T, bool TF32>
struct Kernels {
  static const void* train() { return reinterpret_cast<const void*>(&fused_train_kernel<T, TF32>); }
  static const void* eval() { return reinterpret_cast<const void*>(&fused_eval_kernel<T, TF32>); }
};

// Calls f(Kernels<T, TF32>{}) for the element type and TF32 mode of a policy.
template <typename F>
void dispatch(DType type, bool tf32, F&& f) {
  switch (type) {
    case DType::f32:
      if (tf32)
        f(Kernels<float, true>{});
      else
        f(Kernels<float, false>{});
      break;
    case DType::f16:
      f(Kernels<__half, false>{});
      break;
    case DType::bf16:
      f(Kernels<__nv_bfloat16, false>{});
      break;
  }
}

}  // namespace

size_t fused_train_smem(const FusedShape& s) {
  return layout(s.inputs, s.classes, s.u8_input).bytes;
}

bool fused_mlp_supported(DType type, bool tf32, const FusedShape& s, int rows, int device) {
  if (s.inputs < 1 || s.hidden < 1 || s.hidden > kFusedMaxHidden || s.classes < 2 ||
      s.classes > kFusedMaxClasses || rows < 1 || rows > kFusedMaxRows)
    return false;
  int max_smem = 0, sms = 0, cooperative = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  const size_t train = fused_train_smem(s);
  const size_t eval = eval_smem(s.inputs, s.hidden, s.classes);
  if (!cooperative || train > size_t(max_smem) || eval > size_t(max_smem)) return false;
  int per_sm = 0;
  dispatch(type, tf32, [&](auto kernels) {
    using Ks = decltype(kernels);
    CUDA_CHECK(
        cudaFuncSetAttribute(Ks::train(), cudaFuncAttributeMaxDynamicSharedMemorySize, int(train)));
    CUDA_CHECK(
        cudaFuncSetAttribute(Ks::eval(), cudaFuncAttributeMaxDynamicSharedMemorySize, int(eval)));
    CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, Ks::train(), kThreads, train));
  });
  return int64_t(per_sm) * sms >= fused_blocks(s.hidden);
}

void launch_fused_mlp_train(DType type, bool tf32, const FusedMlpArgs& args, cudaStream_t stream) {
  FusedMlpArgs a = args;
  void* params[] = {&a};
  const size_t smem = fused_train_smem(FusedShape{a.inputs, a.hidden, a.classes, a.u8_input});
  dispatch(type, tf32, [&](auto kernels) {
    using Ks = decltype(kernels);
    CUDA_CHECK(cudaLaunchCooperativeKernel(Ks::train(), dim3(fused_blocks(a.hidden)),
                                           dim3(kThreads), params, smem, stream));
  });
}

void launch_fused_mlp_eval(DType type, bool tf32, const FusedMlpArgs& args, int64_t rows,
                           cudaStream_t stream) {
  if (rows <= 0) return;
  FusedMlpArgs a = args;
  int64_t total = rows;
  void* params[] = {&a, &total};
  const size_t smem = eval_smem(a.inputs, a.hidden, a.classes);
  const unsigned blocks = unsigned((rows + kEvalRows - 1) / kEvalRows);
  dispatch(type, tf32, [&](auto kernels) {
    using Ks = decltype(kernels);
    CUDA_CHECK(cudaLaunchKernel(Ks::eval(), dim3(blocks), dim3(kThreads), params, smem, stream));
  });
}

}  // namespace gt::engine::cuda
