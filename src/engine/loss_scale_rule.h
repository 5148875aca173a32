// Dynamic loss scaling, stated once for every backend: the CPU's LossScaler (precision.h), the
// CUDA optimizer kernel and the fused CUDA kernel each apply this function after a step, on the
// host or on the device. A step whose gradients hold inf or NaN is skipped, halves the scale and
// restarts the count of clean steps; a clean step counts, and the one that completes
// `growth_interval` clean steps in a row doubles the scale (that step is still unscaled by the
// old scale). Only runs with loss scaling (fp16) call it.
#pragma once

#if defined(__CUDACC__)
#define GT_LOSS_SCALE_HD __host__ __device__
#else
#define GT_LOSS_SCALE_HD
#endif

namespace gt::engine {

// Updates `scale` and `clean_steps` after a step; returns whether the step is applied.
GT_LOSS_SCALE_HD constexpr bool loss_scale_step(bool finite, int growth_interval, float& scale,
                                                int& clean_steps) {
  if (!finite) {
    scale *= 0.5f;
    clean_steps = 0;
    return false;
  }
  if (++clean_steps >= growth_interval) {
    clean_steps = 0;
    scale *= 2.0f;
  }
  return true;
}

}  // namespace gt::engine

#undef GT_LOSS_SCALE_HD
