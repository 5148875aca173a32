// CUDA ↔ CPU backend parity, per precision: from the same initial parameters and the same fixed
// batch, debug_step (logits, loss, every gradient) and debug_steps (10 Adam or SGD steps: their
// losses and the final weights) must agree within the precision's relative-norm tolerance
// (tolerances.h). The CPU backend emulates tf32/fp16/bf16 by rounding, the GPU does them in
// hardware, so the two are independent implementations of the same numerics. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "tolerances.h"

namespace gt::engine {
namespace {

// Relative-norm tolerances per precision: the shared table (tolerances.h).
double tolerance(Precision p) { return testing::tolerance(p).norm; }

double rel_error(const std::vector<float>& got, const std::vector<float>& ref) {
  EXPECT_EQ(got.size(), ref.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    if (!std::isfinite(got[i]) || !std::isfinite(ref[i])) return INFINITY;
    num += double(got[i] - ref[i]) * (got[i] - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

std::vector<float> flatten(const Parameters& p) {
  std::vector<float> out;
  for (size_t l = 0; l < p.weights.size(); ++l) {
    out.insert(out.end(), p.weights[l].begin(), p.weights[l].end());
    out.insert(out.end(), p.biases[l].begin(), p.biases[l].end());
  }
  return out;
}

struct Case {
  const char* name;
  int inputs;
  std::vector<int> hidden;
  int classes;
  int rows;
  OptimizerSpec::Kind optimizer;
};

class CudaCpuParity : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaCpuParity, DebugStepAndStepsAgree) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  const Precision precision = GetParam();
  const double tol = tolerance(precision);
  const std::vector<Case> cases{
      {"mlp784-128 rows32 adam", 784, {128}, 10, 32, OptimizerSpec::Kind::adam},
      {"mlp100-48-24 rows40 sgd", 100, {48, 24}, 10, 40, OptimizerSpec::Kind::sgd},
  };
  double worst = 0;
  for (const Case& c : cases) {
    ModelSpec model;
    model.inputs = c.inputs;
    model.hidden = c.hidden;
    model.classes = c.classes;
    Dataset batch;
    batch.rows = c.rows;
    batch.features = c.inputs;
    batch.classes = c.classes;
    std::mt19937_64 rng(17);
    for (int i = 0; i < c.rows * c.inputs; ++i) batch.u8.push_back(uint8_t(rng() % 256));
    for (int r = 0; r < c.rows; ++r) batch.labels.push_back(int32_t(rng() % c.classes));
    OptimizerSpec opt;
    opt.kind = c.optimizer;
    opt.lr = c.optimizer == OptimizerSpec::Kind::adam ? 1e-3f : 1e-2f;
    auto cpu = make_cpu_backend(false);
    auto gpu = make_cuda_backend(0);
    cpu->setup(model, opt, precision, c.rows, batch, 3);
    gpu->setup(model, opt, precision, c.rows, batch, 3);
    Parameters start;
    std::vector<int> dims{c.inputs};
    dims.insert(dims.end(), c.hidden.begin(), c.hidden.end());
    dims.push_back(c.classes);
    for (size_t l = 0; l + 1 < dims.size(); ++l) {
      std::uniform_real_distribution<float> u(-std::sqrt(6.0f / float(dims[l] + dims[l + 1])),
                                              std::sqrt(6.0f / float(dims[l] + dims[l + 1])));
      std::vector<float> w(size_t(dims[l]) * dims[l + 1]), bias(size_t(dims[l + 1]));
      for (float& x : w) x = u(rng);
      for (float& x : bias) x = 0.1f * u(rng);
      start.weights.push_back(w);
      start.biases.push_back(bias);
    }
    cpu->set_parameters(start);
    gpu->set_parameters(start);
    const StepDebug a = cpu->debug_step(batch);
    const StepDebug b = gpu->debug_step(batch);
    const double e_logits = rel_error(b.logits, a.logits);
    const double e_loss = std::abs(double(b.loss) - a.loss) / std::abs(double(a.loss));
    const double e_grads = rel_error(flatten(b.grads), flatten(a.grads));
    const std::vector<float> la = cpu->debug_steps(batch, 10);
    const std::vector<float> lb = gpu->debug_steps(batch, 10);
    const double e_losses = rel_error(lb, la);
    const double e_final = rel_error(flatten(gpu->parameters()), flatten(cpu->parameters()));
    EXPECT_LE(e_logits, tol) << c.name;
    EXPECT_LE(e_loss, tol) << c.name;
    EXPECT_LE(e_grads, tol) << c.name;
    EXPECT_LE(e_losses, tol) << c.name;
    EXPECT_LE(e_final, 5 * tol) << c.name;
    worst = std::max({worst, e_logits, e_loss, e_grads, e_losses, e_final / 5});
    std::printf("  %-26s %s: logits %.2e loss %.2e grads %.2e steps %.2e final %.2e\n", c.name,
                to_string(precision).c_str(), e_logits, e_loss, e_grads, e_losses, e_final);
  }
  std::printf("OK cuda == cpu (%s): worst relative error %.3g (tolerance %.1g)\n",
              to_string(precision).c_str(), worst, tol);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaCpuParity,
                         ::testing::Values(Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace gt::engine
