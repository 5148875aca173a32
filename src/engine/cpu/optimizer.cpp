// The slab optimizer (see optimizer.h).
#include "engine/cpu/optimizer.h"

#include <algorithm>
#include <cmath>

#include "engine/cpu/layer.h"
#include "engine/rounding.h"

namespace gt::engine::cpu {

SlabOptimizer::SlabOptimizer(const graph::ParamLayout& layout, const OptimizerSpec& opt,
                             const PrecisionPolicy& policy, int threads)
    : layout_(layout),
      opt_(opt),
      policy_(policy),
      threads_(threads),
      m_(size_t(layout.trainable_elements), 0.0f),
      v_(size_t(layout.trainable_elements), 0.0f),
      scaler_(policy) {}

void SlabOptimizer::restart() {
  std::fill(m_.begin(), m_.end(), 0.0f);
  std::fill(v_.begin(), v_.end(), 0.0f);
  t_ = 0;
  scaler_ = LossScaler(policy_);
}

float SlabOptimizer::round_copy(const graph::TensorSlot& slot, float x) const {
  if (slot.fp32_only) return x;
  if (slot.role == graph::TensorRole::weight && policy_.tf32_gemm) return round_tf32(x);
  return round_storage(x, policy_.storage);
}

void SlabOptimizer::refresh_copy(const float* master, float* copy) const {
  for (const graph::TensorSlot& s : layout_.slots)
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) copy[i] = round_copy(s, master[i]);
}

bool SlabOptimizer::step(float* master, const float* grads, float* copy) {
  const float inv = 1.0f / scaler_.scale;
  if (scaler_.enabled) {
    bool finite = true;
    for (int64_t i = 0; i < layout_.trainable_elements && finite; ++i)
      finite &= std::isfinite(grads[i]);
    if (!scaler_.update(finite)) return false;
  }
  ++t_;
  const float lr = opt_.lr;
  for (const graph::TensorSlot& s : layout_.slots) {
    if (!s.trainable) continue;
    const int64_t n = s.size;
    float* pw = master + s.offset;
    const float* pg = grads + s.offset;
    float* pm = m_.data() + s.offset;
    float* pv = v_.data() + s.offset;
    float* pc = copy + s.offset;
    const StorageType st = s.fp32_only ? StorageType::f32 : policy_.storage;
    const bool tf32 = policy_.tf32_gemm && s.role == graph::TensorRole::weight;
    if (opt_.kind == OptimizerSpec::Kind::adam) {
      const float b1 = opt_.beta1, b2 = opt_.beta2, eps = opt_.eps;
      const float bc1 = 1.0f - std::pow(b1, float(t_));
      const float bc2_sqrt = std::sqrt(1.0f - std::pow(b2, float(t_)));
      const float step = lr / bc1;
#pragma omp parallel for simd num_threads(threads_) if (threads_ > 1 && n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = pg[i] * inv;
        pm[i] = b1 * pm[i] + (1.0f - b1) * gi;
        pv[i] = b2 * pv[i] + (1.0f - b2) * gi * gi;
        pw[i] -= step * pm[i] / (std::sqrt(pv[i]) / bc2_sqrt + eps);
        pc[i] = tf32 ? round_tf32(pw[i]) : round_storage(pw[i], st);
      }
    } else {
      const float mu = opt_.momentum;
      const bool first = t_ == 1;
#pragma omp parallel for simd num_threads(threads_) if (threads_ > 1 && n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = pg[i] * inv;
        pm[i] = first ? gi : mu * pm[i] + gi;
        pw[i] -= lr * pm[i];
        pc[i] = tf32 ? round_tf32(pw[i]) : round_storage(pw[i], st);
      }
    }
  }
  return true;
}

}  // namespace gt::engine::cpu
