// The fused path for small one-hidden-layer MLPs (Dense(H, ReLU) → Dense(C), H ≤ 256, at most 32
// rows a step): a whole epoch of training steps is ONE persistent cooperative kernel. The hidden
// units are split across G = ⌈H/4⌉ thread blocks; each block keeps its slice of the weights, their
// FP32 master copy and the optimizer moments on chip for the whole launch (W1's in registers, the
// rest in shared memory), prefetches the next shuffled batch with cp.async while it computes, and
// needs the other blocks only once a step (twice with fp16 loss scaling): to sum the partial logits
// (and to agree on an overflow). That exchange is its own barrier: every value goes to global
// memory with its step number in the same 64-bit word, and a reader waits for the number. The
// numerics are those of the cuBLASLt path: operands rounded to the storage type (or TF32) where
// that path stores or feeds them to a GEMM, FP32 accumulation, the same softmax cross-entropy,
// Adam/SGD formulas, loss-scaling rules and step counters in DeviceState. A forward-only kernel
// evaluates a data set with the same weights. The cuBLASLt path remains the fallback for every
// other shape and the reference the invariance tests compare against.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "engine/cuda/device_state.h"
#include "engine/cuda/kernels.h"

namespace gt::engine::cuda {

constexpr int kFusedThreads = 256;
constexpr int kFusedUnits = 4;        // hidden units per block
constexpr int kFusedMaxRows = 32;     // rows per step
constexpr int kFusedMaxClasses = 32;  // one lane per class in the softmax
constexpr int kFusedMaxHidden = 256;
constexpr int kFusedMaxInputs = 4 * kFusedThreads;  // a thread owns 4 inputs of each W1 row
// Phases of a step in the optional profile: wait for the batch, convert it, hidden layer, partial
// logits, exchange (waiting for every block's partials), logits, softmax, dh/dW2/db2, dW1/db1
// (+ overflow exchange), update.
constexpr int kFusedProfilePhases = 10;

// Entries of the exchange buffers (64-bit words): the partial logits [2][G][kFusedMaxRows·C] and
// the overflow flags [2][G]. Both are zeroed before each launch (launch_fused_mlp_train does it).
size_t fused_exchange_words(int hidden, int classes);

struct FusedShape {
  int inputs = 0, hidden = 0, classes = 0;
  bool u8_input = true;  // resident bytes (images) or FP32 features
};

// Shared memory of the training kernel for `shape` (bytes), and how many blocks it launches.
size_t fused_train_smem(const FusedShape& shape);
inline int fused_blocks(int hidden) { return (hidden + kFusedUnits - 1) / kFusedUnits; }

// True when the fused kernels can train `shape` with `rows` rows a step on `device` at this
// precision: sizes within the limits above, its shared memory available, and all its blocks
// resident at once (a cooperative launch). Also raises the kernel's shared-memory limit.
bool fused_mlp_supported(DType type, bool tf32, const FusedShape& shape, int rows, int device);

struct FusedMlpArgs {
  int inputs = 0, hidden = 0, classes = 0;
  int batch = 0;  // rows of a full step (≤ kFusedMaxRows)
  // The data: resident bytes or floats, labels, rows; a step reads rows [s·batch, …) of the
  // epoch's order (shuffled with DeviceState::epoch's keys when `shuffle`), or with `fixed`
  // the same `batch` rows from fixed_offset every step (debug steps).
  const void* input = nullptr;
  bool u8_input = true;
  const int32_t* labels = nullptr;
  int64_t data_rows = 0;
  float scale = 1.0f;
  bool shuffle = true;
  bool fixed = false;
  int64_t fixed_offset = 0;
  int64_t steps = 0;
  // Parameter slabs (element offsets of W1 [H][in], b1 [H], W2 [C][H], b2 [C]).
  float* master = nullptr;
  float* m = nullptr;
  float* v = nullptr;     // null for SGD
  void* copy = nullptr;   // storage-type weight copy (null for FP32 storage)
  void* grads = nullptr;  // storage-type gradients (written in debug mode only)
  int64_t w1 = 0, b1 = 0, w2 = 0, b2 = 0;
  bool adam = true;
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f, momentum = 0.9f;
  bool loss_scaling = false;
  int growth_interval = 2000;
  DeviceState* state = nullptr;
  // Scratch of fused_exchange_words() words: each word is a float's bits and the 1-based step
  // that wrote it (high half).
  unsigned long long* exchange = nullptr;
  float* step_losses = nullptr;  // optional: each step's mean loss
  // Debug mode (steps must be 1): write the logits and the (scaled) gradients, no update.
  bool debug = false;
  void* debug_logits = nullptr;
  // Optional: block 0's clock cycles per phase, added over the launch's steps.
  unsigned long long* profile = nullptr;
};

// Zeroes the exchange buffer, then launches the epoch's (or debug step's) kernel.
void launch_fused_mlp_train(DType type, bool tf32, const FusedMlpArgs& args, cudaStream_t stream);

// Forward pass over `rows` rows from fixed_offset of args' data (shuffle/steps ignored): adds the
// summed loss and the correct count to state->eval_loss / eval_correct.
void launch_fused_mlp_eval(DType type, bool tf32, const FusedMlpArgs& args, int64_t rows,
                           cudaStream_t stream);

}  // namespace gt::engine::cuda
