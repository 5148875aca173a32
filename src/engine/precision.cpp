// Precision names and the policy each one stands for.
#include "engine/precision.h"

#include "common/error.h"

namespace gt::engine {

PrecisionPolicy policy_for(Precision p) {
  PrecisionPolicy policy;
  policy.precision = p;
  switch (p) {
    case Precision::fp32:
      break;
    case Precision::tf32:
      policy.tf32_gemm = true;
      break;
    case Precision::fp16:
      policy.storage = StorageType::f16;
      policy.loss_scaling = true;
      break;
    case Precision::bf16:
      policy.storage = StorageType::bf16;
      break;
  }
  return policy;
}

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names{"fp32", "tf32", "fp16", "bf16"};
  return names;
}

Precision parse_precision(std::string_view text) {
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::fp16, Precision::bf16})
    if (text == to_string(p)) return p;
  throw gt::UsageError("unknown precision '" + std::string(text) +
                       "' (expected fp32, tf32, fp16 or bf16)");
}

std::string to_string(Precision p) {
  switch (p) {
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
    case Precision::fp16:
      return "fp16";
    case Precision::bf16:
      return "bf16";
  }
  return "?";
}

}  // namespace gt::engine
