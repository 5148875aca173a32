// Host-side launchers of the backend's own kernels (the GEMMs are cuBLASLt, in gemm.h). Every
// launcher takes the element type of the activations/gradients as a DType (precision.h's storage
// type) so that the backend (plain C++) stays free of half-precision types; each one checks its
// launch.
//   gather      : resident bytes/floats → normalised, cast batch (+ labels), shuffled on the GPU
//   softmax_ce  : fused softmax cross-entropy in FP32: loss and accuracy sums, scaled dlogits
//   check_finite: any inf/NaN in the gradients → DeviceState::found_inf (fp16 loss scaling)
//   optimizer   : fused Adam / SGD-momentum over the whole parameter slab; unscales, skips on
//                 overflow, updates the loss scale and the step counters on the device; reads
//                 some gradients from an FP32 slab when asked (OptimizerArgs::f32_blocks)
//   bias_act / act_backward / bias_grad: the unfused equivalents of the cuBLASLt epilogues
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "engine/cuda/device_state.h"
#include "engine/precision.h"

namespace gt::engine::cuda {

using DType = StorageType;  // the one storage type: its element type on the device
inline int dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }
// Host values of `count` elements of type t read back from the device (debug read-backs).
std::vector<float> to_floats(const std::vector<char>& raw, DType t, size_t count);

// Where a batch's rows come from. With `counter` set, the batch starts at
// counter->step_in_epoch * stride_rows of this epoch's order (shuffled with the Feistel keys in
// `counter` when `shuffle`); otherwise at fixed_offset, in order.
struct GatherSource {
  const uint8_t* u8 = nullptr;  // exactly one of u8 / f32
  const float* f32 = nullptr;
  const int32_t* labels = nullptr;
  int64_t rows = 0;
  int features = 0;
  float scale = 1.0f;
  const EpochCounters* counter = nullptr;
  int64_t stride_rows = 0;
  bool shuffle = false;
  int64_t fixed_offset = 0;
};

void launch_gather(const GatherSource& src, int rows, DType out_type, void* x_out,
                   int32_t* labels_out, cudaStream_t stream);

// logits [rows][classes] → loss/accuracy sums (atomically added to *loss_sum, *correct);
// when dlogits is set, dlogits = (softmax − onehot) · (*scale or 1) / rows.
void launch_softmax_ce(DType type, const void* logits, const int32_t* labels, int rows, int classes,
                       void* dlogits, const float* scale, double* loss_sum, uint64_t* correct,
                       cudaStream_t stream);

void launch_check_finite(DType type, const void* grads, int64_t n, uint32_t* found_inf,
                         cudaStream_t stream);

// The blocks of OptimizerArgs::f32_blocks: 128 elements, a parameter slab's slot alignment.
constexpr int kF32BlockShift = 7;

struct OptimizerArgs {
  float* master = nullptr;      // FP32 master weights
  const void* grads = nullptr;  // gradients in the storage type (scaled when loss scaling)
  float* m = nullptr;           // Adam first moment / SGD momentum buffer
  float* v = nullptr;           // Adam second moment (null for SGD)
  void* copy = nullptr;         // storage-type copy the GEMMs read (null for FP32 storage)
  int64_t n = 0;
  bool adam = true;
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f, momentum = 0.9f;
  bool loss_scaling = false;
  int growth_interval = 2000;
  int step_rows = 0;  // samples in this step (for the epoch's loss mean)
  DeviceState* state = nullptr;
  // Mixed gradients (the CNN path's BatchNorm parameters keep FP32 gradients under fp16/bf16):
  // where f32_blocks[i >> kF32BlockShift] is set, element i's gradient is grads_f32[i].
  const float* grads_f32 = nullptr;
  const uint8_t* f32_blocks = nullptr;
};
void launch_optimizer(DType type, const OptimizerArgs& args, cudaStream_t stream);

// y[r][c] = act(y[r][c] + bias[c]) for rows × cols; relu on hidden layers; inverted dropout with
// probability p (p > 0) from a hash of (seed, state->global_step, salt, index).
void launch_bias_act(DType type, void* y, const void* bias, int rows, int cols, bool relu,
                     float dropout, uint64_t seed, int salt, const DeviceState* state,
                     cudaStream_t stream);
// dh = h > 0 ? dh · keep_scale : 0 (the ReLU, and dropout's, derivative from the output h).
void launch_act_backward(DType type, void* dh, const void* h, int64_t n, float keep_scale,
                         cudaStream_t stream);
// db[c] = Σ_r dy[r][c]
void launch_bias_grad(DType type, const void* dy, int rows, int cols, void* db,
                      cudaStream_t stream);
// dst[i] = (storage type) src[i]
void launch_convert(DType type, const float* src, void* dst, int64_t n, cudaStream_t stream);

}  // namespace gt::engine::cuda
