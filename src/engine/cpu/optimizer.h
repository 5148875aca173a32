// The CPU backend's optimizer over the parameter slab: Adam or SGD with momentum (torch.optim
// semantics, see engine/backend.h) on every trainable slot, the fp16 loss scaler (LossScaler,
// precision.h), and the refresh of the compute copy each layer reads: Dense and Conv2D weights
// rounded to the storage type (TF32 under tf32, they are GEMM operands), biases to the storage
// type, BatchNorm's γ and β kept FP32. Moments are sized once; a step allocates nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend.h"
#include "engine/graph/param_layout.h"

namespace gt::engine::cpu {

class SlabOptimizer {
 public:
  SlabOptimizer(const graph::ParamLayout& layout, const OptimizerSpec& opt,
                const PrecisionPolicy& policy, int threads);

  // Unscales the gradients, checks them (loss scaling), updates the moments and the FP32
  // master weights and refreshes the compute copy; false when an overflow skipped the step.
  bool step(float* master, const float* grads, float* copy);
  // The compute copy of every slot from the master weights (after new values are set).
  void refresh_copy(const float* master, float* copy) const;
  float loss_scale() const { return scaler_.scale; }
  // Training starts afresh: zero moments, no step taken, the initial loss scale.
  void restart();

 private:
  float round_copy(const graph::TensorSlot& slot, float x) const;

  const graph::ParamLayout& layout_;
  OptimizerSpec opt_;
  PrecisionPolicy policy_;
  int threads_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
  LossScaler scaler_;
};

}  // namespace gt::engine::cpu
