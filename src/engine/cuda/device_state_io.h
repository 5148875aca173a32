// The host's side of the training state both CUDA paths keep on the device (device_state.h):
// setting the parameters (FP32 master weights, their storage-type copy, zero optimizer moments,
// a fresh state with the policy's initial loss scale), starting and finishing an epoch (its
// Feistel keys in, its counters back as EpochStats), the evaluation sums, and blocking
// read-backs. One synchronisation per call that reads anything back; nothing else waits.
#pragma once
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <span>

#include "engine/backend.h"
#include "engine/cuda/device_state.h"
#include "engine/cuda/kernels.h"

namespace gt::engine::cuda {

// The device copies one set of parameters lives in. `copy` is null for FP32 storage, `v` for
// SGD.
struct ParameterBuffers {
  float* master = nullptr;
  void* copy = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  DeviceState* state = nullptr;
};

// Uploads `values` as the master weights (and their copy in `type`), zeroes the moments and
// resets the state; synchronises (the host values may go away).
void load_parameters(std::span<const float> values, const ParameterBuffers& p, DType type,
                     const PrecisionPolicy& policy, cudaStream_t stream);

// Epoch `epoch`'s fresh counters (the Feistel keys of `seed` over `rows` rows), through the
// pinned `host` block, into the state; returns them.
EpochCounters start_epoch(DeviceState* state, EpochCounters* host, uint64_t seed, int epoch,
                          int64_t rows, cudaStream_t stream);
// Waits for the epoch's work and reads its counters back as EpochStats, timed from `start`.
EpochStats finish_epoch(const DeviceState* state, EpochCounters* host,
                        std::chrono::steady_clock::time_point start, cudaStream_t stream);

void reset_eval_sums(DeviceState* state, cudaStream_t stream);
void read_eval_sums(const DeviceState* state, double& loss, uint64_t& correct, cudaStream_t stream);

// A blocking copy from the device.
void download(void* host, const void* device, size_t bytes, cudaStream_t stream);

}  // namespace gt::engine::cuda
