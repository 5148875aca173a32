// The host's side of the CUDA paths' training state (see device_state_io.h).
#include "engine/cuda/device_state_io.h"

#include <cmath>

#include "engine/cuda/check.h"
#include "engine/cuda/epoch_shuffle.h"

namespace gt::engine::cuda {

void load_parameters(std::span<const float> values, const ParameterBuffers& p, DType type,
                     const PrecisionPolicy& policy, cudaStream_t stream) {
  const size_t n = values.size();
  CUDA_CHECK(cudaMemcpyAsync(p.master, values.data(), n * 4, cudaMemcpyHostToDevice, stream));
  if (type != DType::f32) launch_convert(type, p.master, p.copy, int64_t(n), stream);
  CUDA_CHECK(cudaMemsetAsync(p.m, 0, n * 4, stream));
  if (p.v) CUDA_CHECK(cudaMemsetAsync(p.v, 0, n * 4, stream));
  DeviceState fresh;
  fresh.loss_scale = policy.loss_scaling ? policy.initial_scale : 1.0f;
  CUDA_CHECK(cudaMemcpyAsync(p.state, &fresh, sizeof fresh, cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

EpochCounters start_epoch(DeviceState* state, EpochCounters* host, uint64_t seed, int epoch,
                          int64_t rows, cudaStream_t stream) {
  *host = epoch_counters(seed, epoch, rows);
  CUDA_CHECK(
      cudaMemcpyAsync(&state->epoch, host, sizeof(EpochCounters), cudaMemcpyHostToDevice, stream));
  return *host;
}

EpochStats finish_epoch(const DeviceState* state, EpochCounters* host,
                        std::chrono::steady_clock::time_point start, cudaStream_t stream) {
  download(host, &state->epoch, sizeof(EpochCounters), stream);
  const EpochCounters& c = *host;
  EpochStats stats;
  stats.loss = c.loss_rows > 0 ? c.loss_sum / double(c.loss_rows) : std::nan("");
  stats.accuracy = c.rows > 0 ? double(c.correct) / double(c.rows) : 0.0;
  stats.steps = c.steps;
  stats.skipped_steps = c.skipped_steps;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

void reset_eval_sums(DeviceState* state, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(&state->eval_loss, 0, sizeof(double), stream));
  CUDA_CHECK(cudaMemsetAsync(&state->eval_correct, 0, sizeof(uint64_t), stream));
}

void read_eval_sums(const DeviceState* state, double& loss, uint64_t& correct,
                    cudaStream_t stream) {
  CUDA_CHECK(
      cudaMemcpyAsync(&loss, &state->eval_loss, sizeof loss, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaMemcpyAsync(&correct, &state->eval_correct, sizeof correct, cudaMemcpyDeviceToHost,
                             stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

void download(void* host, const void* device, size_t bytes, cudaStream_t stream) {
  CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace gt::engine::cuda
