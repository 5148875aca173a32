// The element-wise layers on the CPU: ReLU, inverted Dropout (a mask drawn in row-major order
// from the run's dropout generator, kept units × 1/(1 − rate)) and the pass-through of Flatten
// (NHWC is already flat in memory, so its output is its input) and of a ReLU fused into the
// BatchNorm before it.
#include <vector>

#include "engine/cpu/layer.h"

namespace gt::engine::cpu {
namespace {

class ReluLayer final : public CpuLayer {
 public:
  ReluLayer(const graph::Layer& layer, const Binding& b, const Context& c)
      : b_(b), c_(c), size_(layer.in.size()) {}

  void reserve(int64_t) override {}

  void forward(int64_t rows, const float* x, float* y, const PassMode&) override {
    store_each(rows * size_, y, b_.out, c_.threads,
               [x](int64_t i) { return x[i] > 0.0f ? x[i] : 0.0f; });
  }

  void backward(int64_t rows, const float*, const float* y, const float* dy, float* dx) override {
    if (!dx) return;
    store_each(rows * size_, dx, b_.grad_in, c_.threads,
               [y, dy](int64_t i) { return y[i] > 0.0f ? dy[i] : 0.0f; });
  }

 private:
  Binding b_;
  Context c_;
  int64_t size_;
};

class DropoutLayer final : public CpuLayer {
 public:
  DropoutLayer(const graph::Layer& layer, const Binding& b, const Context& c)
      : b_(b), c_(c), size_(layer.in.size()), rate_(std::get<graph::Dropout>(layer.spec).rate) {}

  void reserve(int64_t rows) override {
    if (size_t(rows * size_) > mask_.size()) mask_.assign(size_t(rows * size_), 1.0f);
  }

  void forward(int64_t rows, const float* x, float* y, const PassMode& pass) override {
    const int64_t n = rows * size_;
    active_ = pass.dropout && rate_ > 0;
    if (active_) {
      const float keep = 1.0f - rate_, inv = 1.0f / keep;
      std::uniform_real_distribution<float> u(0.0f, 1.0f);
      for (int64_t i = 0; i < n; ++i) mask_[size_t(i)] = u(*c_.dropout_rng) < keep ? inv : 0.0f;
    }
    const float* mask = mask_.data();
    if (active_)
      store_each(n, y, b_.out, c_.threads, [x, mask](int64_t i) { return x[i] * mask[i]; });
    else
      store_each(n, y, b_.out, c_.threads, [x](int64_t i) { return x[i]; });
  }

  void backward(int64_t rows, const float*, const float*, const float* dy, float* dx) override {
    if (!dx) return;
    const int64_t n = rows * size_;
    const float* mask = mask_.data();
    if (active_)
      store_each(n, dx, b_.grad_in, c_.threads, [dy, mask](int64_t i) { return dy[i] * mask[i]; });
    else
      store_each(n, dx, b_.grad_in, c_.threads, [dy](int64_t i) { return dy[i]; });
  }

 private:
  Binding b_;
  Context c_;
  int64_t size_;
  float rate_;
  bool active_ = false;
  std::vector<float> mask_;
};

class PassThrough final : public CpuLayer {
 public:
  void reserve(int64_t) override {}
  void forward(int64_t, const float*, float*, const PassMode&) override {}
  void backward(int64_t, const float*, const float*, const float*, float*) override {}
  bool aliases_input() const override { return true; }
};

}  // namespace

std::unique_ptr<CpuLayer> make_relu(const graph::Layer& layer, const Binding& b, const Context& c) {
  return std::make_unique<ReluLayer>(layer, b, c);
}
std::unique_ptr<CpuLayer> make_dropout(const graph::Layer& layer, const Binding& b,
                                       const Context& c) {
  return std::make_unique<DropoutLayer>(layer, b, c);
}
std::unique_ptr<CpuLayer> make_pass_through() { return std::make_unique<PassThrough>(); }

}  // namespace gt::engine::cpu
