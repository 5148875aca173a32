// The small block of training state that lives in device memory so that a step never needs the
// host: the dynamic loss scale and its growth counter, Adam's step count, the step's loss being
// summed, the inf/NaN flag, and the counters of the current epoch (read back once per epoch).
// Plain data shared by the kernels (kernels.cu) and the backend (backend_cuda.cpp).
#pragma once
#include <cstdint>

namespace gt::engine::cuda {

// Reset by the host at the start of each epoch; read back at its end.
struct EpochCounters {
  double loss_sum = 0;    // per-sample losses of the non-skipped steps
  int64_t loss_rows = 0;  // samples in loss_sum
  uint64_t correct = 0;   // argmax == label over every step of the epoch
  int64_t rows = 0;       // samples seen
  int64_t steps = 0;
  int64_t skipped_steps = 0;            // fp16 overflow steps
  int64_t step_in_epoch = 0;            // which batch of the shuffled order the next step reads
  uint32_t perm_key[4] = {0, 0, 0, 0};  // Feistel keys of this epoch's shuffle
  uint32_t perm_half_bits = 1;          // the permutation works on [0, 4^half_bits)
  uint32_t pad = 0;
};

struct DeviceState {
  float loss_scale = 1.0f;
  int32_t growth_count = 0;  // clean steps since the scale last changed
  int64_t adam_t = 0;        // applied optimizer steps (skipped ones do not count)
  int64_t global_step = 0;   // every step, for dropout masks
  double step_loss = 0;      // sum of this step's per-sample losses (softmax-CE kernel)
  float last_step_loss = 0;  // mean loss of the last finished step
  uint32_t found_inf = 0;    // set by the finite check, cleared when the step finishes
  uint32_t blocks_done = 0;  // last-block detection in the optimizer kernel
  int64_t total_skipped = 0;
  double eval_loss = 0;  // accumulators of evaluate() / debug_step()
  uint64_t eval_correct = 0;
  EpochCounters epoch;
};

}  // namespace gt::engine::cuda
