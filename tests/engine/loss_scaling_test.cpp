// fp16 dynamic loss scaling on the CPU backend (the fp16 precision policy): an overflowing step is
// skipped (parameters untouched), counted, and halves the scale; after `growth_interval` clean
// steps the scale doubles; other precisions never scale. The rule itself (loss_scale_rule.h) is
// checked against the CPU's LossScaler; the CUDA suites check the kernels' scale the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/backend.h"
#include "engine/loss_scale_rule.h"
#include "engine/model.h"
#include "engine/precision.h"

namespace gt::engine {
namespace {

Dataset make_data(int64_t rows, int features, float magnitude, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Dataset d;
  d.rows = rows;
  d.features = features;
  d.classes = 2;
  d.scale = 1.0f;
  for (int64_t i = 0; i < rows * features; ++i) d.f32.push_back(magnitude * u(rng));
  for (int64_t i = 0; i < rows; ++i) d.labels.push_back(int(rng() % 2));
  return d;
}

TEST(LossScaling, OverflowSkipsTheStepAndHalvesTheScale) {
  const ModelSpec spec{4, {4}, 2, 0.0f};
  // Inputs of ~1e4: the first layer's weight gradient (dZ·scale × x) exceeds fp16's 65504.
  const Dataset batch = make_data(4, spec.inputs, 1e4f, 5);
  auto be = make_cpu_backend(false);
  be->setup(spec, OptimizerSpec{}, Precision::fp16, 4, batch, 1);
  const Parameters p0 = glorot_uniform(spec, 9);
  be->set_parameters(p0);
  ASSERT_EQ(be->loss_scale(), 65536.0f);
  be->debug_steps(batch, 1);
  EXPECT_EQ(be->loss_scale(), 32768.0f);
  const Parameters p1 = be->parameters();
  EXPECT_EQ(p1.weights, p0.weights) << "a skipped step must not touch the parameters";
  EXPECT_EQ(p1.biases, p0.biases);
}

TEST(LossScaling, TrainEpochCountsSkippedStepsAndScaleSettles) {
  const ModelSpec spec{4, {4}, 2, 0.0f};
  const Dataset data = make_data(64, spec.inputs, 1e4f, 6);
  auto be = make_cpu_backend(false);
  be->setup(spec, OptimizerSpec{}, Precision::fp16, 4, data, 1);
  be->set_parameters(glorot_uniform(spec, 9));
  const EpochStats st = be->train_epoch(0);
  EXPECT_EQ(st.steps, 16);
  EXPECT_GE(st.skipped_steps, 1);
  EXPECT_LT(st.skipped_steps, st.steps);
  // Each skip halved the scale; no growth in 16 steps.
  EXPECT_EQ(be->loss_scale(), std::ldexp(65536.0f, -int(st.skipped_steps)));
  EXPECT_TRUE(std::isfinite(st.loss));
}

TEST(LossScaling, ScaleDoublesAfterTheGrowthInterval) {
  const ModelSpec spec{4, {4}, 2, 0.0f};
  const int interval = policy_for(Precision::fp16).growth_interval;
  ASSERT_EQ(interval, 2000);
  // Batches of 4 keep dL/dlogits·scale ≤ 2^16/4 (finite in fp16) at 65536 and at 131072.
  const Dataset data = make_data(int64_t(4) * (interval - 1), spec.inputs, 1.0f, 7);
  auto be = make_cpu_backend(false);
  be->setup(spec, OptimizerSpec{}, Precision::fp16, 4, data, 1);
  be->set_parameters(glorot_uniform(spec, 9));
  EpochStats st = be->train_epoch(0);  // interval − 1 clean steps
  EXPECT_EQ(st.skipped_steps, 0);
  EXPECT_EQ(be->loss_scale(), 65536.0f);
  const std::vector<float> one = be->debug_steps(data.slice(0, 4), 1);  // the 2000th
  EXPECT_EQ(be->loss_scale(), 131072.0f);
}

TEST(LossScaling, OtherPrecisionsNeverScale) {
  const ModelSpec spec{4, {4}, 2, 0.0f};
  const Dataset data = make_data(16, spec.inputs, 1e4f, 8);
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::bf16}) {
    auto be = make_cpu_backend(false);
    be->setup(spec, OptimizerSpec{}, p, 4, data, 1);
    be->set_parameters(glorot_uniform(spec, 9));
    const EpochStats st = be->train_epoch(0);
    EXPECT_EQ(st.skipped_steps, 0) << to_string(p);
    EXPECT_EQ(be->loss_scale(), 1.0f) << to_string(p);
  }
}

// The rule as loss_scale_rule.h states it, checked at compile time on a short history: two
// clean steps with an interval of 3, an overflow, then three clean steps.
constexpr float scale_after_history() {
  float scale = 8.0f;
  int clean = 0;
  for (bool finite : {true, true, false, true, true, true})
    loss_scale_step(finite, 3, scale, clean);
  return scale;
}
static_assert(scale_after_history() == 8.0f, "halved by the overflow, doubled 3 clean steps later");

// The CPU backend's LossScaler follows the rule step by step over a random history of clean
// and overflowing steps: what it reports as skipped, and its scale and count after each step.
TEST(LossScaleRule, CpuLossScalerFollowsTheRule) {
  PrecisionPolicy policy = policy_for(Precision::fp16);
  policy.growth_interval = 5;
  LossScaler scaler(policy);
  float scale = policy.initial_scale;
  int clean = 0;
  std::mt19937_64 rng(3);
  for (int step = 0; step < 500; ++step) {
    const bool finite = rng() % 4 != 0;
    const bool applied = loss_scale_step(finite, policy.growth_interval, scale, clean);
    EXPECT_EQ(scaler.update(finite), applied) << "step " << step;
    EXPECT_EQ(scaler.scale, scale) << "step " << step;
    EXPECT_EQ(scaler.clean_steps, clean) << "step " << step;
  }
  // Without loss scaling nothing is skipped and the scale stays 1.
  LossScaler off(policy_for(Precision::fp32));
  EXPECT_TRUE(off.update(false));
  EXPECT_EQ(off.scale, 1.0f);
}

}  // namespace
}  // namespace gt::engine
