// The one tolerance table of the engine's numerical tests, one row per precision, used by every
// test that compares the engine with PyTorch or one backend with another. A row gives both
// forms a test may need: elementwise |a − b| ≤ atol + rtol·|ref| (logits, losses, parameters;
// gradients looser), and the relative norm error ‖a − b‖ / ‖ref‖ of a whole tensor.
//
// Where the numbers come from: tf32 and fp16 round GEMM inputs to a 10-bit mantissa (unit
// roundoff 2^-11 ≈ 4.9e-4), bf16 to 7 bits (2^-8 ≈ 3.9e-3). On the H200 and H100 the worst
// relative norm errors measured against float64 PyTorch were 9e-3 for tf32/fp16 (weight
// gradients summed over 70 rows with heavy cancellation) and 1e-2 (fp16) / 3.5e-2 (bf16) for
// cuBLASLt's fused bias-gradient epilogues; the norm tolerances leave about a factor two over
// those. fp32 differs from PyTorch only by summation order.
#pragma once
#include "engine/precision.h"

namespace gt::engine::testing {

struct Tolerance {
  double atol, rtol;
};

struct PrecisionTolerance {
  Tolerance values;     // logits, loss, step losses, parameters: elementwise
  Tolerance gradients;  // gradients: elementwise (sums over the batch lose more)
  double norm;          // relative norm error of a whole tensor
};

inline PrecisionTolerance tolerance(Precision p) {
  switch (p) {
    case Precision::fp32:
      return {{1e-5, 1e-5}, {1e-6, 1e-4}, 2e-5};
    case Precision::tf32:
      return {{2e-3, 3e-3}, {2e-4, 5e-3}, 2e-2};
    case Precision::fp16:
      return {{2e-3, 3e-3}, {2e-4, 5e-3}, 2e-2};
    case Precision::bf16:
      return {{2e-2, 2e-2}, {2e-3, 4e-2}, 6e-2};
  }
  return {{0, 0}, {0, 0}, 0};
}

}  // namespace gt::engine::testing
