// The CPU backend's layers: one object per layer of a network (graph/network.h), run in order
// by the executor (backend_cpu.cpp). Activations are FP32 arrays in NHWC order, one sample after
// another; a layer reads its input x, writes its output y, and in backward reads dy (the
// gradient of the loss with respect to y) and writes dx and its parameters' gradients.
//
// Mixed precision is emulated by rounding what is stored, never the arithmetic: every tensor a
// layer writes goes through a Store (the policy's storage type, and TF32 where a GEMM reads it
// under the tf32 policy); accumulation is FP32 or wider; parameter gradients are rounded to the
// storage type except BatchNorm's, which are FP32 like its parameters and statistics.
//
// Parameters live in the backend's slabs (graph/param_layout.h): a layer gets pointers into
// the FP32 master slab (BatchNorm's running statistics are updated there), the compute copy
// (weights rounded to what the GEMMs read) and the gradient slab. Every buffer a layer needs is
// sized by reserve(rows) before the first step; forward and backward allocate nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <random>

#include "engine/graph/network.h"
#include "engine/graph/param_layout.h"
#include "engine/precision.h"
#include "engine/rounding.h"

namespace dnnl {
struct engine;
struct stream;
}  // namespace dnnl

namespace gt::engine::cpu {

// How a layer stores a tensor it writes.
struct Store {
  StorageType storage = StorageType::f32;
  bool tf32 = false;  // a GEMM reads it under the tf32 policy

  float operator()(float x) const {
    x = round_storage(x, storage);
    return tf32 ? round_tf32(x) : x;
  }
  bool rounds() const { return tf32 || storage != StorageType::f32; }
  // Rounds n values in place (nothing when the store keeps FP32).
  void apply(float* values, int64_t n, int threads) const;
};

// What one pass does: training passes normalise with batch statistics; `dropout` drops units;
// `update_statistics` moves BatchNorm's running statistics (training steps only).
struct PassMode {
  bool training = false;
  bool dropout = false;
  bool update_statistics = false;
};

// What every layer of one run shares.
struct Context {
  PrecisionPolicy policy;
  bool naive = false;  // plain loops accumulated in double, the reference the tests check first
  int threads = 1;
  std::mt19937_64* dropout_rng = nullptr;
  dnnl::engine* dnnl_engine = nullptr;  // oneDNN (the fast convolution path)
  dnnl::stream* dnnl_stream = nullptr;
};

// Where a layer's tensors are, and how it writes its output.
struct Binding {
  const graph::ParamLayout* layout = nullptr;
  float* master = nullptr;      // FP32 master slab (running statistics are written here)
  const float* copy = nullptr;  // the compute copy of the weights
  float* grads = nullptr;       // gradients of the (scaled) loss
  Store out;                    // how this layer stores y
  Store grad_in;                // how it stores dx
  // BatchNorm only: the ReLU after it runs inside it (y = max(0, BN(x)); backward takes the
  // gradient of that), and the ReLU layer itself is a pass-through (make_pass_through).
  bool fused_relu = false;
};

class CpuLayer {
 public:
  virtual ~CpuLayer() = default;
  // Sizes workspaces (and builds library primitives) for passes of up to `rows` samples.
  virtual void reserve(int64_t rows) = 0;
  virtual void forward(int64_t rows, const float* x, float* y, const PassMode& pass) = 0;
  // dx may be null (nothing before this layer needs it). Parameter gradients are overwritten.
  virtual void backward(int64_t rows, const float* x, const float* y, const float* dy,
                        float* dx) = 0;
  // y is x itself (Flatten, a fused ReLU): the executor passes the input's buffer as the output,
  // and dy as dx.
  virtual bool aliases_input() const { return false; }
};

// BatchNorm's tensors in the slabs (γ, β and the running statistics in the FP32 master slab,
// the gradients of γ and β), shared by its two implementations, and the one rule that moves
// its running statistics after a training pass (graph/layer_spec.h): running = (1 − momentum)·
// running + momentum·batch, with the unbiased variance of the `count` values per channel.
struct BatchNormTensors {
  float *gamma, *beta, *running_mean, *running_var, *grad_gamma, *grad_beta;
  int channels;

  BatchNormTensors(const Binding& b, int index, int channels);
  void move_statistics(const float* mean, const float* biased_var, double count,
                       float momentum) const;
};

// Whether layer `index` runs inside the layer before it: a ReLU right after a BatchNorm (the
// BatchNorm then gets Binding::fused_relu, the ReLU is a pass-through).
bool fused_into_previous(const graph::Network& net, int index);

// The layer `index` of `net`, bound to the slabs.
std::unique_ptr<CpuLayer> make_cpu_layer(const graph::Network& net, int index,
                                         const Binding& binding, const Context& context);

// Per-kind factories (one file each).
std::unique_ptr<CpuLayer> make_dense(const graph::Layer& layer, int index, const Binding& b,
                                     const Context& c);
std::unique_ptr<CpuLayer> make_conv2d(const graph::Layer& layer, int index, const Binding& b,
                                      const Context& c);
std::unique_ptr<CpuLayer> make_max_pool(const graph::Layer& layer, const Binding& b,
                                        const Context& c);
std::unique_ptr<CpuLayer> make_global_avg_pool(const graph::Layer& layer, const Binding& b,
                                               const Context& c);
std::unique_ptr<CpuLayer> make_batch_norm(const graph::Layer& layer, int index, const Binding& b,
                                          const Context& c);
// The oneDNN paths (the Context's engine and stream), chosen when the context is not naive.
std::unique_ptr<CpuLayer> make_onednn_batch_norm(const graph::Layer& layer, int index,
                                                 const Binding& b, const Context& c);
std::unique_ptr<CpuLayer> make_onednn_max_pool(const graph::Layer& layer, const Binding& b,
                                               const Context& c);
std::unique_ptr<CpuLayer> make_relu(const graph::Layer& layer, const Binding& b, const Context& c);
std::unique_ptr<CpuLayer> make_dropout(const graph::Layer& layer, const Binding& b,
                                       const Context& c);
// A layer whose output is its input (Flatten; a ReLU fused into the BatchNorm before it).
std::unique_ptr<CpuLayer> make_pass_through();

// Element-wise loops below this many values stay on one thread.
constexpr int64_t kParallelMin = 1 << 14;

// out[i] = store(f(i)) for i < n, on up to `threads` threads; the loop has no rounding in it
// when the store keeps FP32, so the compiler vectorises it.
template <class F>
void store_each(int64_t n, float* out, const Store& store, int threads, F f) {
  const bool parallel = threads > 1 && n > kParallelMin;
  if (!store.rounds()) {
#pragma omp parallel for simd num_threads(threads) if (parallel)
    for (int64_t i = 0; i < n; ++i) out[i] = f(i);
  } else {
#pragma omp parallel for simd num_threads(threads) if (parallel)
    for (int64_t i = 0; i < n; ++i) out[i] = store(f(i));
  }
}

// The same over `pixels` × `channels` NHWC values: out[i] = store(f(i, c)), i = p·channels + c.
template <class F>
void store_each_channel(int64_t pixels, int channels, float* out, const Store& store, int threads,
                        F f) {
  const bool parallel = threads > 1 && pixels * channels > kParallelMin;
  const bool rounds = store.rounds();
#pragma omp parallel for num_threads(threads) if (parallel)
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t base = p * channels;
    if (!rounds) {
#pragma omp simd
      for (int c = 0; c < channels; ++c) out[base + c] = f(base + c, c);
    } else {
      for (int c = 0; c < channels; ++c) out[base + c] = store(f(base + c, c));
    }
  }
}

}  // namespace gt::engine::cpu
