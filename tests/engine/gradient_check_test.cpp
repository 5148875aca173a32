// Finite-difference gradient check of the naive CPU path: every weight and bias of every Dense
// layer (which covers ReLU and the softmax cross-entropy, since the last layer's bias gradient
// is the loss gradient summed over the batch) against central differences of the loss.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/backend.h"
#include "engine/model.h"

namespace gt::engine {
namespace {

Dataset random_batch(int rows, int features, int classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Dataset d;
  d.rows = rows;
  d.features = features;
  d.classes = classes;
  d.scale = 1.0f;
  for (int i = 0; i < rows * features; ++i) d.f32.push_back(n(rng));
  for (int i = 0; i < rows; ++i) d.labels.push_back(int(rng() % classes));
  return d;
}

TEST(GradientCheck, EveryLayerMatchesCentralDifferences) {
  ModelSpec spec{6, {7, 5}, 4, 0.0f};
  const Dataset batch = random_batch(5, spec.inputs, spec.classes, 3);
  Parameters p0 = glorot_uniform(spec, 11);
  for (auto& b : p0.biases)
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.05f * float(i % 3) - 0.04f;

  auto be = make_cpu_backend(true);
  be->setup(spec, OptimizerSpec{}, Precision::fp32, int(batch.rows), batch, 1);
  be->set_parameters(p0);
  const StepDebug d = be->debug_step(batch);

  const float h = 1e-3f;
  auto loss_at = [&](const Parameters& p) {
    be->set_parameters(p);
    return double(be->debug_step(batch).loss);
  };
  double worst = 0;
  int checked = 0;
  for (size_t l = 0; l < p0.weights.size(); ++l) {
    for (int which = 0; which < 2; ++which) {
      const size_t n = which == 0 ? p0.weights[l].size() : p0.biases[l].size();
      for (size_t i = 0; i < n; ++i) {
        Parameters plus = p0, minus = p0;
        auto& a = which == 0 ? plus.weights[l][i] : plus.biases[l][i];
        auto& b = which == 0 ? minus.weights[l][i] : minus.biases[l][i];
        a += h;
        b -= h;
        const double fd = (loss_at(plus) - loss_at(minus)) / (2.0 * h);
        const double an = which == 0 ? d.grads.weights[l][i] : d.grads.biases[l][i];
        const double err = std::abs(fd - an);
        worst = std::max(worst, err);
        EXPECT_LE(err, 2e-4 + 2e-2 * std::abs(fd))
            << (which == 0 ? "W" : "b") << l << "[" << i << "] analytic " << an << " fd " << fd;
        ++checked;
      }
    }
  }
  std::printf("%d gradients checked, worst |analytic - fd| %.3g\nOK\n", checked, worst);
}

}  // namespace
}  // namespace gt::engine
