// Precision as data: a PrecisionPolicy value says how each backend stores and computes for a
// run (fp32, tf32, fp16 with dynamic loss scaling, bf16). One binary serves every policy.
#pragma once
#include <string>
#include <string_view>

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

PrecisionPolicy policy_for(Precision p);
Precision parse_precision(std::string_view text);  // throws gt::UsageError on unknown names
std::string to_string(Precision p);

}  // namespace gt::engine
