// The fused small-MLP kernels (see fused_mlp.h). Training: one cooperative launch of G blocks of
// 256 threads runs `steps` dependent steps. Block g owns hidden units [4g, 4g+4): the rows of W1
// and b1 and the columns of W2 that touch them, their FP32 master values, the compute copies the
// GEMM path would read (storage-type or TF32-rounded) and the optimizer moments. W1's master values
// and moments live in registers (thread t owns inputs [4t, 4t+4) of the 4 rows: it computes their
// gradient and updates them), everything else in shared memory. A step: wait for the prefetched
// batch (cp.async, issued during the previous step) → normalise and round it → start the prefetch
// of the next batch → h = relu(x·W1ᵀ + b1) for the block's units (each warp an eighth of the
// inputs, lane = row) → partial logits h·W2ᵀ to the exchange → every block waits for and sums all
// partials in block order (deterministic), adds b2 and runs the softmax cross-entropy of the whole
// batch (lane = row) → dh, dW2, db2 → db1 and dW1 → (fp16: a second exchange to agree on an
// overflow) → Adam/SGD on its slice; b2 is updated identically by every block. At the end the
// slices go back to the parameter slabs and block 0 writes the counters into DeviceState.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "engine/cuda/check.h"
#include "engine/cuda/device_math.cuh"
#include "engine/cuda/fused_mlp.h"
#include "engine/loss_scale_rule.h"

namespace gt::engine::cuda {
namespace {

constexpr int kThreads = kFusedThreads;
constexpr int kUnits = kFusedUnits;
constexpr int kRows = kFusedMaxRows;
constexpr int kWarps = kThreads / 32;
constexpr int kEvalRows = 16;  // rows per block of the evaluation kernel
static_assert(kUnits == 4 && kRows == 4 * kWarps, "the thread mapping assumes 4 units, 32 rows");

// Shared-memory layout of the training kernel, in floats (each region 16-byte aligned). W1's
// master values are not here: each owning thread keeps them in registers.
struct Layout {
  int kp = 0;         // inputs rounded up to a multiple of 4 (zero padded)
  int xs4 = 0;        // row stride of the converted batch in float4s: odd, so that the lanes of a
                      // warp reading one quad of consecutive rows hit different banks
  int stage_row = 0;  // bytes of one staged input row (multiple of 16)
  int xs, w1c, w1mo, w1v;
  int w2m, w2c, w2mo, w2v, gw2;
  int b1m, b1c, b1mo, b1v, gb1;
  int b2m, b2c, b2mo, b2v, gb2;
  int hs, hc, mask, dls, dlc, dhs, dhc, zs, red, gath, lab, slab, rowidx, misc, prof, stage;
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
  l.xs4 = (l.kp / 4) | 1;
  l.stage_row = (inputs * (u8_input ? 1 : 4) + 15) & ~15;
  const int u = kUnits, c = classes;
  int at = 0;
  l.xs = take(at, kRows * l.xs4 * 4);
  l.w1c = take(at, u * l.kp);
  l.w1mo = take(at, u * l.kp);
  l.w1v = take(at, u * l.kp);
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
  l.red = take(at, kWarps * kRows * u);
  l.gath = take(at, 2 * (kThreads > (kRows * c + 1) / 2 ? kThreads : (kRows * c + 1) / 2));
  l.lab = take(at, kRows);
  l.slab = take(at, kRows);
  l.rowidx = take(at, 2 * kRows);
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

// The exchange between blocks: a word holds a float's bits (low half) and the 1-based step that
// wrote it (high half), stored and loaded as single 64-bit accesses, so a reader that sees the
// step it waits for also sees that step's value: no fence, no separate barrier. Buffers are
// double-buffered by step parity: a block writes a slot again two steps later, only after every
// block has written the step in between, which each does after reading this one.
__device__ __forceinline__ unsigned long long tagged(float value, uint32_t step) {
  return (static_cast<unsigned long long>(step) << 32) | __float_as_uint(value);
}
__device__ __forceinline__ uint32_t tag_of(unsigned long long word) { return uint32_t(word >> 32); }
__device__ __forceinline__ float value_of(unsigned long long word) {
  return __uint_as_float(uint32_t(word));
}
__device__ __forceinline__ void store_word(unsigned long long* p, unsigned long long v) {
  asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}
__device__ __forceinline__ unsigned long long load_word(const unsigned long long* p) {
  unsigned long long v;
  asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ ulonglong2 load_words2(const unsigned long long* p) {
  ulonglong2 v;
  asm volatile("ld.relaxed.gpu.global.v2.u64 {%0, %1}, [%2];"
               : "=l"(v.x), "=l"(v.y)
               : "l"(p)
               : "memory");
  return v;
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
  float step_size, inv_bias2_sqrt, inv_scale;
};

// The optimizer_kernel's formulas (kernels.cu), on one parameter.
__device__ __forceinline__ void update(const FusedMlpArgs& a, const StepScalars& k, float grad,
                                       float& w, float& m, float& v) {
  const float g = grad * k.inv_scale;
  if (a.adam) {
    m = a.beta1 * m + (1.0f - a.beta1) * g;
    v = a.beta2 * v + (1.0f - a.beta2) * g * g;
    w = adam_step(w, m, v, k.step_size, k.inv_bias2_sqrt, a.eps);
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
  const int K = a.inputs, KP4 = L.kp / 4, XS4 = L.xs4, C = a.classes, H = a.hidden;
  const int u0 = g * kUnits;
  constexpr int U = kUnits;
  float4* const xs4 = reinterpret_cast<float4*>(sm + L.xs);
  float4* const w1c4 = reinterpret_cast<float4*>(sm + L.w1c);  // [unit][quad], like the two below
  float4* const w1mo4 = reinterpret_cast<float4*>(sm + L.w1mo);
  float4* const w1v4 = reinterpret_cast<float4*>(sm + L.w1v);
  float *w2m = sm + L.w2m, *w2c = sm + L.w2c, *w2mo = sm + L.w2mo, *w2v = sm + L.w2v,
        *gw2 = sm + L.gw2;
  float *b1m = sm + L.b1m, *b1c = sm + L.b1c, *b1mo = sm + L.b1mo, *b1v = sm + L.b1v,
        *gb1 = sm + L.gb1;
  float *b2m = sm + L.b2m, *b2c = sm + L.b2c, *b2mo = sm + L.b2mo, *b2v = sm + L.b2v,
        *gb2 = sm + L.gb2;
  float *hs = sm + L.hs, *hc = sm + L.hc, *mask = sm + L.mask, *dls = sm + L.dls, *dlc = sm + L.dlc,
        *dhs = sm + L.dhs, *dhc = sm + L.dhc, *zs = sm + L.zs;
  float4* red = reinterpret_cast<float4*>(sm + L.red);  // [warp][row]: the 4 units' partial sums
  float2* gath = reinterpret_cast<float2*>(sm + L.gath);
  int* lab = reinterpret_cast<int*>(sm + L.lab);
  int* slab = reinterpret_cast<int*>(sm + L.slab);
  uint32_t* rowidx = reinterpret_cast<uint32_t*>(sm + L.rowidx);  // [step & 1][row]
  float* misc = sm + L.misc;  // [0] step loss, [8] correct count, [16..17] Adam scalars, [18] skip
  unsigned* correct_s = reinterpret_cast<unsigned*>(misc + 8);
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

  // W1: thread t < KP4 owns inputs [4t, 4t+4) of the block's 4 rows: it computes their gradient
  // and updates them. Their master values stay in its registers for the whole launch; the moments
  // and the compute copy (which the hidden layer reads) in shared memory.
  const bool owner = tid < KP4;
  float w1[U][4];
  // Calls f(u, e, at) for each element [u][4·tid + e] of W1 this thread owns that exists in the
  // model (at: its offset in the parameter slabs).
  auto owned_w1 = [&](auto&& f) {
    if (!owner) return;
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int k = 4 * tid + e;
        if (u0 + u < H && k < K) f(u, e, a.w1 + int64_t(u0 + u) * K + k);
      }
  };
  // Elements past the model's inputs or units stay zero (their gradient is zero too).
  float4 m1[U] = {}, v1[U] = {};
#pragma unroll
  for (int u = 0; u < U; ++u) w1[u][0] = w1[u][1] = w1[u][2] = w1[u][3] = 0.0f;
  owned_w1([&](int u, int e, int64_t at) {
    w1[u][e] = a.master[at];
    (&m1[u].x)[e] = a.m[at];
    (&v1[u].x)[e] = a.v ? a.v[at] : 0.0f;
  });
  if (owner)
#pragma unroll
    for (int u = 0; u < U; ++u) {
      w1c4[u * KP4 + tid] = make_float4(R::compute(w1[u][0]), R::compute(w1[u][1]),
                                        R::compute(w1[u][2]), R::compute(w1[u][3]));
      w1mo4[u * KP4 + tid] = m1[u];
      w1v4[u * KP4 + tid] = v1[u];
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
  // beta^(adam_t + 1), the next update's bias corrections, as running products in double: the
  // long double-precision pow() once a launch instead of once a step.
  double beta1_t = pow(double(a.beta1), double(adam_t + 1));
  double beta2_t = pow(double(a.beta2), double(adam_t + 1));
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
  // The data rows of step s's batch (the epoch's shuffled order, or in order), lane = row, into
  // rowidx slot s & 1: one warp computes them two steps ahead, while it waits in the exchange.
  auto batch_rows = [&](int64_t s) {
    if (s >= a.steps) return;
    const int64_t position =
        (a.fixed ? a.fixed_offset : (first_step + s) * a.batch) + int64_t(lane);
    if (lane < rows_of(s))
      rowidx[(s & 1) * kRows + lane] =
          (!a.fixed && a.shuffle)
              ? shuffled_index(uint32_t(position), uint32_t(a.data_rows), key, half_bits)
              : uint32_t(position);
  };
  // Issues the copies of step s's rows (and labels) into the staging area.
  auto prefetch = [&](int64_t s) {
    const int rows = rows_of(s);
    for (int r = warp; r < rows; r += kWarps) {
      const int64_t row = rowidx[(s & 1) * kRows + r];
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

  const size_t part_stride = size_t(kRows) * C;  // words per block and parity
  const int full_quads = K / 4;                  // quads of a row with no padding
  const float byte_offset = -8388608.0f * a.scale;
  if (warp == kWarps - 1) {
    batch_rows(0);
    batch_rows(1);
  }
  __syncthreads();
  prefetch(0);
  for (int64_t s = 0; s < a.steps; ++s) {
    const int rows = rows_of(s);
    const uint32_t tag = uint32_t(s + 1);
    if (profiling) prof_last = clock64();
    cp_async_wait_all();
    __syncthreads();
    mark(0);
    // The staged batch → FP32 values rounded as the gather + GEMM would (zero padding to KP), a
    // warp per row, a lane per 4 features. A byte b becomes b·scale without a conversion
    // instruction: 0x4B0000bb is the float 2^23 + b, and fma(2^23 + b, scale, -2^23·scale) rounds
    // the exact b·scale once, as float(b) * scale does.
    for (int r = warp; r < rows; r += kWarps) {
      const char* srow = stage + r * L.stage_row;
      float4* xrow = xs4 + r * XS4;
      if (a.u8_input) {
        const uint32_t* words = reinterpret_cast<const uint32_t*>(srow);
#pragma unroll 4
        for (int q = lane; q < full_quads; q += 32) {
          const uint32_t word = words[q];
          float4 out;
          out.x = R::input(
              fmaf(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7440u)), a.scale, byte_offset));
          out.y = R::input(
              fmaf(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7441u)), a.scale, byte_offset));
          out.z = R::input(
              fmaf(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7442u)), a.scale, byte_offset));
          out.w = R::input(
              fmaf(__uint_as_float(__byte_perm(word, 0x4B000000u, 0x7443u)), a.scale, byte_offset));
          xrow[q] = out;
        }
      } else {
        const float4* values = reinterpret_cast<const float4*>(srow);
#pragma unroll 4
        for (int q = lane; q < full_quads; q += 32) {
          const float4 v = values[q];
          xrow[q] = make_float4(R::input(v.x), R::input(v.y), R::input(v.z), R::input(v.w));
        }
      }
      if (lane == 0 && full_quads < KP4) {  // the last, partial quad
        float4 out;
        for (int e = 0; e < 4; ++e) {
          const int k = 4 * full_quads + e;
          const float v =
              a.u8_input
                  ? float(static_cast<const uint8_t*>(static_cast<const void*>(srow))[k]) * a.scale
                  : reinterpret_cast<const float*>(srow)[k];
          (&out.x)[e] = k < K ? R::input(v) : 0.0f;
        }
        xrow[full_quads] = out;
      }
    }
    if (tid < rows) lab[tid] = slab[tid];
    __syncthreads();
    mark(1);
    if (s + 1 < a.steps) prefetch(s + 1);

    // Hidden layer, first half: warp w sums its eighth of the inputs for every row (lane = row)
    // and the block's 4 units.
    {
      const int per_warp = (KP4 + kWarps - 1) / kWarps;
      const int qa = warp * per_warp, qb = min(KP4, qa + per_warp);
      // Two sets of accumulators (even and odd quads) halve the FMA dependency chains.
      float acc[2][U] = {};
      const float4* xr = xs4 + lane * XS4;
      auto quad = [&](float(&t)[U], int q) {
        const float4 x = xr[q];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const float4 w = w1c4[u * KP4 + q];
          t[u] = fmaf(x.x, w.x, t[u]);
          t[u] = fmaf(x.y, w.y, t[u]);
          t[u] = fmaf(x.z, w.z, t[u]);
          t[u] = fmaf(x.w, w.w, t[u]);
        }
      };
      int q = qa;
#pragma unroll 2
      for (; q + 1 < qb; q += 2) {
        quad(acc[0], q);
        quad(acc[1], q + 1);
      }
      if (q < qb) quad(acc[0], q);
      red[warp * kRows + lane] = make_float4(acc[0][0] + acc[1][0], acc[0][1] + acc[1][1],
                                             acc[0][2] + acc[1][2], acc[0][3] + acc[1][3]);
    }
    __syncthreads();
    mark(2);
    // Second half (lane = row, every warp): the warps' sums in order, + b1, ReLU (warp 0 keeps h
    // and the mask for the backward pass); then warp w sends this block's partial logits h·W2ᵀ of
    // classes w, w + 8, … to the exchange.
    if (lane < rows) {
      const int r = lane;
      float pre[U] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (int w = 0; w < kWarps; ++w) {
        const float4 p = red[w * kRows + r];
        pre[0] += p.x;
        pre[1] += p.y;
        pre[2] += p.z;
        pre[3] += p.w;
      }
      float h_compute[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const float z = pre[u] + b1c[u];
        const float h = R::store(fmaxf(z, 0.0f));
        h_compute[u] = R::compute(h);
        if (warp == 0) {
          hs[r * U + u] = h;
          hc[r * U + u] = h_compute[u];
          mask[r * U + u] = z > 0.0f ? 1.0f : 0.0f;
        }
      }
      unsigned long long* out = a.exchange + (size_t(s & 1) * G + g) * part_stride + r * C;
      for (int c = warp; c < C; c += kWarps) {
        float p = 0.0f;
#pragma unroll
        for (int u = 0; u < U; ++u) p = fmaf(h_compute[u], w2c[c * U + u], p);
        store_word(out + c, tagged(p, tag));
      }
    }
    mark(3);
    if (tid == kThreads - 1 && a.adam) {  // this step's Adam scalars
      misc[16] = a.lr / (1.0f - float(beta1_t));
      misc[17] = 1.0f / sqrtf(1.0f - float(beta2_t));
    }
    if (warp == kWarps - 1) batch_rows(s + 2);
    // Logits of the whole batch: thread t waits for and sums values (2p, 2p+1) of blocks j,
    // j + groups, … in block order, with up to 8 loads in flight; then the groups are added in
    // order, + b2, in the storage type.
    {
      const int n = rows * C, npair = (n + 1) / 2;
      const int groups = max(1, min(kThreads / npair, G));
      const unsigned long long* parts = a.exchange + size_t(s & 1) * G * part_stride;
      for (int item = tid; item < groups * npair; item += kThreads) {
        const int p = item % npair, j = item / npair;
        const bool two = 2 * p + 1 < n;
        float2 sum = make_float2(0.0f, 0.0f);
        constexpr int kChunk = 8;
        for (int b0 = j; b0 < G; b0 += kChunk * groups) {
          ulonglong2 v[kChunk];
#pragma unroll
          for (int k = 0; k < kChunk; ++k) {
            const int b = b0 + k * groups;
            if (b < G) v[k] = load_words2(parts + size_t(b) * part_stride + 2 * p);
          }
          bool ready;
          do {
            ready = true;
#pragma unroll
            for (int k = 0; k < kChunk; ++k) {
              const int b = b0 + k * groups;
              if (b < G && (tag_of(v[k].x) != tag || (two && tag_of(v[k].y) != tag))) {
                ready = false;
                v[k] = load_words2(parts + size_t(b) * part_stride + 2 * p);
              }
            }
          } while (!ready);
#pragma unroll
          for (int k = 0; k < kChunk; ++k) {
            if (b0 + k * groups < G) {
              sum.x += value_of(v[k].x);
              sum.y += value_of(v[k].y);
            }
          }
        }
        gath[j * npair + p] = sum;
      }
      mark(4);
      __syncthreads();
      const float* gf = reinterpret_cast<const float*>(gath);
      for (int i = tid; i < n; i += kThreads) {
        float z = 0.0f;
        for (int j = 0; j < groups; ++j) z += gf[2 * j * npair + i];
        zs[i] = R::store(z + b2c[i % C]);
      }
    }
    __syncthreads();
    mark(5);
    // Softmax cross-entropy (warp 0, lane = row), as softmax_ce_kernel computes it: loss,
    // accuracy, dlogits (scaled for fp16).
    const float grad_scale = (a.loss_scaling ? scale : 1.0f) / float(rows);
    if (warp == 0) {
      float row_loss = 0.0f;
      bool row_correct = false;
      if (lane < rows) {
        const int r = lane, label = lab[r];
        const float* z = zs + r * C;
        float best = z[0];
        int best_index = 0;
#pragma unroll 4
        for (int c = 1; c < C; ++c)
          if (z[c] > best) {
            best = z[c];
            best_index = c;
          }
        float sum = 0.0f;
#pragma unroll 4
        for (int c = 0; c < C; ++c) sum += __expf(z[c] - best);
        row_loss = logf(sum) + best - z[label];
        row_correct = best_index == label;
        const float inv_sum = 1.0f / sum;
#pragma unroll 4
        for (int c = 0; c < C; ++c) {
          const float prob = __expf(z[c] - best) * inv_sum;
          const float d = R::store((prob - (c == label ? 1.0f : 0.0f)) * grad_scale);
          dls[r * C + c] = d;
          dlc[r * C + c] = R::compute(d);
          if (a.debug && g == 0) static_cast<T*>(a.debug_logits)[r * C + c] = from_f<T>(z[c]);
        }
      }
      const float loss = warp_sum(row_loss);
      const unsigned n_correct = __popc(__ballot_sync(0xffffffffu, row_correct));
      if (lane == 0) {
        misc[0] = loss;
        correct_s[0] = n_correct;
      }
    }
    __syncthreads();
    mark(6);
    // dh (through the ReLU) on threads [0, 128); dW2 and db2 on threads [128, 256).
    bool bad = false;
    constexpr int kHalf = kThreads / 2;
    static_assert(kRows * kUnits <= kHalf, "dh takes one thread per (row, unit)");
    if (tid < kHalf) {
      if (tid < rows * U) {
        const int r = tid / U, u = tid - r * U;
        float t = 0.0f;
        for (int c = 0; c < C; ++c) t = fmaf(dlc[r * C + c], w2c[c * U + u], t);
        const float d = mask[tid] != 0.0f ? R::store(t) : 0.0f;
        dhs[tid] = d;
        dhc[tid] = R::compute(d);
      }
    } else {
      for (int i = tid - kHalf; i < C * U + C; i += kHalf) {
        if (i < C * U) {
          const int c = i / U, u = i - c * U;
          float t = 0.0f;
#pragma unroll 4
          for (int r = 0; r < rows; ++r) t = fmaf(dlc[r * C + c], hc[r * U + u], t);
          gw2[i] = R::store(t);
          bad |= !isfinite(gw2[i]);
        } else {
          const int c = i - C * U;
          float t = 0.0f;
#pragma unroll 4
          for (int r = 0; r < rows; ++r) t += dls[r * C + c];
          gb2[c] = R::store(t);
          bad |= !isfinite(gb2[c]);
        }
      }
    }
    __syncthreads();
    mark(7);
    // db1 (the last threads), and dW1 = dhᵀ·x for the inputs each owner holds, in registers.
    if (tid >= kThreads - U) {
      const int u = kThreads - 1 - tid;
      float t = 0.0f;
#pragma unroll 4
      for (int r = 0; r < rows; ++r) t += dhs[r * U + u];
      gb1[u] = R::store(t);
      bad |= !isfinite(gb1[u]);
    }
    float gw1[U][4];
    if (owner) {
      float acc[U][4];
#pragma unroll
      for (int u = 0; u < U; ++u) acc[u][0] = acc[u][1] = acc[u][2] = acc[u][3] = 0.0f;
      const float4* dh4 = reinterpret_cast<const float4*>(dhc);
#pragma unroll 4
      for (int r = 0; r < rows; ++r) {
        const float4 x = xs4[r * XS4 + tid];
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
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          gw1[u][e] = R::store(acc[u][e]);
          bad |= !isfinite(gw1[u][e]);
        }
    }
    // fp16: every block must agree whether any gradient overflowed before anyone updates.
    bool skip = false;
    if (a.loss_scaling) {
      const int any = __syncthreads_or(bad);
      unsigned long long* flags = a.exchange + size_t(2) * G * part_stride + size_t(s & 1) * G;
      if (tid == 0) store_word(flags + g, tagged(any ? 1.0f : 0.0f, tag));
      if (warp == 0) {
        bool f = false;
        for (int b = lane; b < G; b += 32) {
          unsigned long long w;
          do {
            w = load_word(flags + b);
          } while (tag_of(w) != tag);
          f |= value_of(w) != 0.0f;
        }
        f = __any_sync(0xffffffffu, f);
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
      owned_w1([&](int u, int e, int64_t at) { grads[at] = from_f<T>(gw1[u][e]); });
      for (int i = tid; i < C * U; i += kThreads) {
        const int c = i / U, u = i - c * U;
        if (u0 + u < H) grads[a.w2 + int64_t(c) * H + u0 + u] = from_f<T>(gw2[i]);
      }
      if (tid < U && u0 + tid < H) grads[a.b1 + u0 + tid] = from_f<T>(gb1[tid]);
      if (g == 0) {
        for (int c = tid; c < C; c += kThreads) grads[a.b2 + c] = from_f<T>(gb2[c]);
        if (tid == 0) {
          atomicAdd(&st->eval_loss, double(misc[0]));
          atomicAdd(reinterpret_cast<unsigned long long*>(&st->eval_correct),
                    (unsigned long long)correct_s[0]);
        }
      }
      return;
    }

    if (!skip) {
      const StepScalars k{misc[16], misc[17], a.loss_scaling ? 1.0f / scale : 1.0f};
      if (owner) {
#pragma unroll
        for (int u = 0; u < U; ++u) {
          float4 c, m = w1mo4[u * KP4 + tid], v = w1v4[u * KP4 + tid];
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            update(a, k, gw1[u][e], w1[u][e], (&m.x)[e], (&v.x)[e]);
            (&c.x)[e] = R::compute(w1[u][e]);
          }
          w1c4[u * KP4 + tid] = c;
          w1mo4[u * KP4 + tid] = m;
          w1v4[u * KP4 + tid] = v;
        }
      }
      // W2's columns, b1 and b2 on the last threads (owners of W1 are the first): parameter i of
      // a shared-memory slice, its copy rounded as a GEMM operand (W2) or as stored (biases).
      auto update_slice = [&](float* w, float* m, float* v, float* copy, const float* grad, int i,
                              bool gemm_operand) {
        float wi = w[i], mi = m[i], vi = v[i];
        update(a, k, grad[i], wi, mi, vi);
        w[i] = wi;
        m[i] = mi;
        v[i] = vi;
        copy[i] = gemm_operand ? R::compute(wi) : R::store(wi);
      };
      for (int i = kThreads - 1 - tid; i < C * U + U + C; i += kThreads) {
        if (i < C * U)
          update_slice(w2m, w2mo, w2v, w2c, gw2, i, true);
        else if (i < C * U + U)
          update_slice(b1m, b1mo, b1v, b1c, gb1, i - C * U, false);
        else
          update_slice(b2m, b2mo, b2v, b2c, gb2, i - C * U - U, false);
      }
    }
    // The loss-scaling rule (loss_scale_rule.h) and the counters of optimizer_kernel.
    if (a.loss_scaling) loss_scale_step(!skip, a.growth_interval, scale, growth);
    if (!skip) {
      ++adam_t;
      beta1_t *= a.beta1;
      beta2_t *= a.beta2;
    }
    if (g == 0 && tid == 0) {
      const double step_loss = misc[0];
      if (skip) {
        ++skipped;
      } else {
        loss_sum += step_loss;
        loss_rows += rows;
      }
      correct += correct_s[0];
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
  owned_w1([&](int u, int e, int64_t at) {
    a.master[at] = w1[u][e];
    a.m[at] = (&w1mo4[u * KP4 + tid].x)[e];
    if (a.v) a.v[at] = (&w1v4[u * KP4 + tid].x)[e];
    if (copy) copy[at] = from_f<T>(w1[u][e]);
  });
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

size_t fused_exchange_words(int hidden, int classes) {
  const size_t blocks = size_t(fused_blocks(hidden));
  return 2 * blocks * kRows * size_t(classes) + 2 * blocks;
}

bool fused_mlp_supported(DType type, bool tf32, const FusedShape& s, int rows, int device) {
  if (s.inputs < 1 || s.inputs > kFusedMaxInputs || s.hidden < 1 || s.hidden > kFusedMaxHidden ||
      s.classes < 2 || s.classes > kFusedMaxClasses || rows < 1 || rows > kFusedMaxRows)
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
  CUDA_CHECK(cudaMemsetAsync(a.exchange, 0, fused_exchange_words(a.hidden, a.classes) * 8, stream));
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
