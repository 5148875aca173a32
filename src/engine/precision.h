// Precision as data: a PrecisionPolicy value says how each backend stores and computes for a
// run (fp32, tf32, fp16 with dynamic loss scaling, bf16). One binary serves every policy.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "engine/loss_scale_rule.h"

namespace gt::engine {

enum class Precision { fp32, tf32, fp16, bf16 };

enum class StorageType { f32, f16, bf16 };

struct PrecisionPolicy {
  Precision precision = Precision::fp32;
  StorageType storage = StorageType::f32;  // weights copy, activations, gradients
  bool tf32_gemm = false;                  // TF32 tensor-core GEMM inputs (FP32 storage)
  bool loss_scaling = false;               // dynamic loss scaling (fp16)
  float initial_scale = 65536.0f;
  int growth_interval = 2000;  // ×2 after this many clean steps
};

// Dynamic loss scaling, the one rule of every backend (the CUDA kernels follow it on the device):
// the loss is multiplied by `scale` before backward; a step whose gradients hold inf or NaN is
// skipped and halves the scale; after `growth_interval` clean steps in a row the scale doubles
// (the step that completes the interval is still unscaled by the old scale). Disabled, the
// scale stays 1 and no step is skipped.
struct LossScaler {
  bool enabled = false;
  float scale = 1.0f;
  int clean_steps = 0;
  int growth_interval = 2000;

  LossScaler() = default;
  explicit LossScaler(const PrecisionPolicy& p)
      : enabled(p.loss_scaling),
        scale(p.loss_scaling ? p.initial_scale : 1.0f),
        growth_interval(p.growth_interval) {}

  // Call once per step, after reading `scale` to unscale its gradients: false means skip it.
  bool update(bool finite) {
    return !enabled || loss_scale_step(finite, growth_interval, scale, clean_steps);
  }
};

PrecisionPolicy policy_for(Precision p);
// "fp32", "tf32", "fp16", "bf16": every precision name, in this order.
const std::vector<std::string>& precision_names();
Precision parse_precision(std::string_view text);  // throws gt::UsageError on unknown names
std::string to_string(Precision p);

}  // namespace gt::engine
