// Each CPU layer alone against central finite differences: for a random input x and a fixed
// random upstream gradient g, the loss L = Σ y·g has dL/dx and dL/dθ equal to what backward
// writes for dy = g. Every layer kind, each shape family (flat and image inputs, odd sizes,
// stride 2 with Keras' asymmetric "same" padding, 1×1 and 3×3 kernels, overlapping pools),
// on the naive loops (double accumulation); the fast paths (oneDNN convolution) must then
// agree with the naive loops on outputs and gradients. Also: BatchNorm's evaluation pass uses
// its running statistics, and inverted dropout scales kept units and routes gradients through
// the same mask.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/layer.h"
#include "engine/graph/init.h"

namespace gt::engine::cpu {
namespace {

using graph::LayerSpec;
using graph::Shape;

// One layer bound to its own slabs, FP32, one thread.
struct Harness {
  graph::Network net;
  graph::ParamLayout layout;
  std::vector<float> master, copy, grads;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mt19937_64 dropout_rng{5};
  std::unique_ptr<CpuLayer> layer;
  int64_t rows;

  Harness(const LayerSpec& spec, const Shape& in, int64_t rows_, bool naive, uint64_t seed = 3)
      : rows(rows_) {
    graph::Layer l;
    l.name = "x1";
    l.spec = spec;
    l.in = in;
    l.out = graph::infer_shape(spec, in, l.name);
    net.input = in;
    net.layers = {l};
    layout = graph::layout_of(net);
    master = graph::initial_values(layout, seed);
    // Non-trivial biases, γ and β, so their paths matter.
    std::mt19937_64 rng(seed + 1);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (const auto& s : layout.slots)
      if (s.trainable && s.role != graph::TensorRole::weight)
        for (int64_t i = 0; i < s.size; ++i) master[size_t(s.offset + i)] += u(rng);
    copy = master;
    grads.assign(master.size(), 0.0f);
    Context c;
    c.naive = naive;
    c.threads = 1;
    c.dropout_rng = &dropout_rng;
    c.dnnl_engine = &engine;
    c.dnnl_stream = &stream;
    Binding b;
    b.layout = &layout;
    b.master = master.data();
    b.copy = copy.data();
    b.grads = grads.data();
    layer = make_cpu_layer(net, 0, b, c);
    layer->reserve(rows);
  }
  const graph::Layer& info() const { return net.layers[0]; }
  int64_t in_size() const { return rows * info().in.size(); }
  int64_t out_size() const { return rows * info().out.size(); }

  std::vector<float> forward(const std::vector<float>& x, const PassMode& pass = {true}) {
    std::vector<float> y(static_cast<size_t>(out_size()));
    layer->forward(rows, x.data(), y.data(), pass);
    return y;
  }
  double loss(const std::vector<float>& x, const std::vector<float>& g) {
    const std::vector<float> y = forward(x);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * g[i];
    return s;
  }
};

std::vector<float> random_values(int64_t n, uint64_t seed, float lo = -1, float hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

// Values at least `gap` from each other and from zero (ReLU's and max pooling's kinks stay
// farther than the finite-difference step).
std::vector<float> separated_values(int64_t n, uint64_t seed, float gap) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = gap * float(i + 1) * (i % 2 ? 1.0f : -1.0f);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  return v;
}

struct Case {
  std::string name;
  LayerSpec spec;
  Shape in;
  int64_t rows;
  bool separated = false;  // inputs kept away from kinks
};

class LayerGradient : public ::testing::TestWithParam<Case> {};

TEST_P(LayerGradient, MatchesCentralDifferences) {
  const Case& c = GetParam();
  Harness h(c.spec, c.in, c.rows, true);
  std::vector<float> x =
      c.separated ? separated_values(h.in_size(), 11, 0.05f) : random_values(h.in_size(), 11);
  const std::vector<float> g = random_values(h.out_size(), 12);
  h.forward(x);
  std::vector<float> dx(static_cast<size_t>(h.in_size()));
  const std::vector<float> y = h.forward(x);
  h.layer->backward(h.rows, x.data(), y.data(), g.data(), dx.data());
  const std::vector<float> analytic_grads = h.grads;

  const float step = 1e-2f;
  double worst = 0;
  int checked = 0;
  auto check = [&](const std::string& what, double fd, double an) {
    const double err = std::abs(fd - an);
    worst = std::max(worst, err / (1e-3 + 1e-2 * std::abs(fd)));
    EXPECT_LE(err, 1e-3 + 1e-2 * std::abs(fd))
        << c.name << " " << what << ": analytic " << an << ", finite difference " << fd;
    ++checked;
  };
  for (int64_t i = 0; i < h.in_size(); ++i) {
    const float keep = x[size_t(i)];
    x[size_t(i)] = keep + step;
    const double up = h.loss(x, g);
    x[size_t(i)] = keep - step;
    const double down = h.loss(x, g);
    x[size_t(i)] = keep;
    check("dx[" + std::to_string(i) + "]", (up - down) / (2.0 * step), dx[size_t(i)]);
  }
  for (const auto& s : h.layout.slots) {
    if (!s.trainable) continue;
    for (int64_t i = 0; i < s.size; ++i) {
      const size_t k = size_t(s.offset + i);
      const float keep = h.master[k];
      h.master[k] = h.copy[k] = keep + step;
      const double up = h.loss(x, g);
      h.master[k] = h.copy[k] = keep - step;
      const double down = h.loss(x, g);
      h.master[k] = h.copy[k] = keep;
      check(s.name + "[" + std::to_string(i) + "]", (up - down) / (2.0 * step), analytic_grads[k]);
    }
  }
  std::printf("%-28s %4d gradients, worst error %.2f of the allowance\n", c.name.c_str(), checked,
              worst);
}

TEST_P(LayerGradient, FastPathMatchesNaiveLoops) {
  const Case& c = GetParam();
  Harness naive(c.spec, c.in, c.rows, true), fast(c.spec, c.in, c.rows, false);
  const std::vector<float> x = random_values(naive.in_size(), 21);
  const std::vector<float> g = random_values(naive.out_size(), 22);
  const std::vector<float> ya = naive.forward(x), yb = fast.forward(x);
  std::vector<float> da(static_cast<size_t>(naive.in_size())), db(da.size());
  naive.layer->backward(naive.rows, x.data(), ya.data(), g.data(), da.data());
  fast.layer->backward(fast.rows, x.data(), yb.data(), g.data(), db.data());
  auto close = [&](const char* what, const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(a[i], b[i], 1e-5 + 1e-5 * std::abs(a[i]))
          << c.name << " " << what << "[" << i << "]";
  };
  close("y", ya, yb);
  close("dx", da, db);
  close("parameter gradients", naive.grads, fast.grads);
}

INSTANTIATE_TEST_SUITE_P(
    Layers, LayerGradient,
    ::testing::Values(Case{"dense_flat", graph::Dense{5}, Shape{1, 1, 7}, 3},
                      Case{"conv3x3_s1_odd", graph::Conv2D{4, 3, 1, true}, Shape{5, 7, 3}, 2},
                      Case{"conv3x3_s2_odd", graph::Conv2D{3, 3, 2, false}, Shape{7, 6, 2}, 2},
                      Case{"conv3x3_s2_even", graph::Conv2D{3, 3, 2, true}, Shape{8, 8, 2}, 2},
                      Case{"conv1x1_s1", graph::Conv2D{5, 1, 1, true}, Shape{4, 4, 3}, 2},
                      Case{"conv1x1_s2_odd", graph::Conv2D{2, 1, 2, false}, Shape{5, 5, 2}, 2},
                      Case{"conv3x3_one_channel", graph::Conv2D{4, 3, 1, false}, Shape{6, 6, 1}, 3},
                      Case{"maxpool2_odd", graph::MaxPool2D{2, 2}, Shape{5, 4, 3}, 2, true},
                      Case{"maxpool3_s2_overlap", graph::MaxPool2D{3, 2}, Shape{7, 7, 2}, 2, true},
                      Case{"global_avg_pool", graph::GlobalAvgPool{}, Shape{3, 5, 4}, 2},
                      Case{"batchnorm_image", graph::BatchNorm{}, Shape{3, 3, 4}, 3},
                      Case{"batchnorm_flat", graph::BatchNorm{1e-3f, 0.01f}, Shape{1, 1, 6}, 5},
                      Case{"relu", graph::ReLU{}, Shape{2, 3, 4}, 2, true},
                      Case{"flatten", graph::Flatten{}, Shape{2, 3, 2}, 2}),
    [](const auto& info) { return info.param.name; });

TEST(BatchNormLayer, EvaluationUsesRunningStatisticsAndTrainingMovesThem) {
  const Shape in{2, 2, 3};
  Harness h(graph::BatchNorm{1e-5f, 0.1f}, in, 4, false);
  const auto& L = h.layout;
  const auto mean_slot = L.slot("x1.running_mean"), var_slot = L.slot("x1.running_var");
  const auto gamma = L.slot("x1.gamma"), beta = L.slot("x1.beta");
  const std::vector<float> x = random_values(h.in_size(), 31, -2, 3);
  // A training pass that updates the statistics: running = 0.9·running + 0.1·batch, with the
  // unbiased variance over the 4·2·2 values of each channel.
  h.forward(x, PassMode{true, false, true});
  for (int c = 0; c < 3; ++c) {
    double m = 0, v = 0;
    const int n = 16;
    for (int p = 0; p < n; ++p) m += x[size_t(p * 3 + c)];
    m /= n;
    for (int p = 0; p < n; ++p) v += (x[size_t(p * 3 + c)] - m) * (x[size_t(p * 3 + c)] - m);
    EXPECT_NEAR(h.master[size_t(mean_slot.offset + c)], 0.1 * m, 1e-6);
    EXPECT_NEAR(h.master[size_t(var_slot.offset + c)], 0.9 + 0.1 * v / (n - 1), 1e-6);
  }
  // Evaluation: y = (x − running mean)/√(running var + ε)·γ + β.
  const std::vector<float> y = h.forward(x, PassMode{});
  for (size_t i = 0; i < y.size(); ++i) {
    const int c = int(i % 3);
    const double want = (x[i] - h.master[size_t(mean_slot.offset + c)]) /
                            std::sqrt(double(h.master[size_t(var_slot.offset + c)]) + 1e-5) *
                            h.master[size_t(gamma.offset + c)] +
                        h.master[size_t(beta.offset + c)];
    EXPECT_NEAR(y[i], want, 1e-5) << i;
  }
}

TEST(DropoutLayer, KeepsUnitsScaledAndRoutesGradientsThroughTheMask) {
  Harness h(graph::Dropout{0.25f}, Shape{1, 1, 400}, 5, false);
  const std::vector<float> x = random_values(h.in_size(), 41, 0.5f, 1.5f);
  const std::vector<float> y = h.forward(x, PassMode{true, true, true});
  const std::vector<float> g = random_values(h.out_size(), 42);
  std::vector<float> dx(x.size());
  h.layer->backward(h.rows, x.data(), y.data(), g.data(), dx.data());
  int dropped = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (y[i] == 0.0f) {
      ++dropped;
      EXPECT_EQ(dx[i], 0.0f);
    } else {
      EXPECT_FLOAT_EQ(y[i], x[i] / 0.75f);
      EXPECT_FLOAT_EQ(dx[i], g[i] / 0.75f);
    }
  }
  EXPECT_NEAR(double(dropped) / double(x.size()), 0.25, 0.04);
  // Without dropout the layer passes values and gradients through.
  EXPECT_EQ(h.forward(x, PassMode{true, false, false}), x);
}

}  // namespace
}  // namespace gt::engine::cpu
