// Dense on the CPU: y = x·Wᵀ + b with OpenBLAS sgemm (or, naive, triple loops accumulated in
// double); backward: dW = dyᵀ·x, db = Σ dy (in double), dx = dy·W. The same calls, in the
// same order, as the MLP the CPU backend ran before layers were objects, so mlp: results are
// unchanged to the bit.
#include <cblas.h>

#include "engine/cpu/layer.h"

namespace gt::engine::cpu {
namespace {

// C[m][n] = A·B with row-major operands; ta/tb transpose A ([k][m]) / B ([n][k]).
void gemm(bool naive, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
          const float* b, float* c) {
  if (!naive) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                int(m), int(n), int(k), 1.0f, a, ta ? int(m) : int(k), b, tb ? int(k) : int(n),
                0.0f, c, int(n));
    return;
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += double(ta ? a[p * m + i] : a[i * k + p]) * double(tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = float(s);
    }
}

class DenseLayer final : public CpuLayer {
 public:
  DenseLayer(const graph::Layer& layer, int index, const Binding& b, const Context& c)
      : b_(b), c_(c), in_(layer.in.size()), out_(std::get<graph::Dense>(layer.spec).units) {
    const auto& w = *b.layout->find(index, graph::TensorRole::weight);
    const auto& bias = *b.layout->find(index, graph::TensorRole::bias);
    w_ = b.copy + w.offset;
    bias_ = b.copy + bias.offset;
    gw_ = b.grads + w.offset;
    gb_ = b.grads + bias.offset;
  }

  void reserve(int64_t) override {}

  void forward(int64_t rows, const float* x, float* y, const PassMode&) override {
    gemm(c_.naive, false, true, rows, out_, in_, x, w_, y);
    const float* bias = bias_;
    const int64_t out = out_;
    const Store store = b_.out;
#pragma omp parallel for num_threads(c_.threads) if (c_.threads > 1 && rows * out > kParallelMin)
    for (int64_t i = 0; i < rows; ++i) {
      float* yi = y + i * out;
      for (int64_t j = 0; j < out; ++j) yi[j] = store(yi[j] + bias[j]);
    }
  }

  void backward(int64_t rows, const float* x, const float*, const float* dy, float* dx) override {
    gemm(c_.naive, true, false, out_, in_, rows, dy, x, gw_);
    for (int64_t j = 0; j < out_; ++j) {
      double s = 0;
      for (int64_t i = 0; i < rows; ++i) s += dy[i * out_ + j];
      gb_[j] = round_storage(float(s), c_.policy.storage);
    }
    if (c_.policy.storage != StorageType::f32)
      for (int64_t i = 0; i < in_ * out_; ++i) gw_[i] = round_storage(gw_[i], c_.policy.storage);
    if (!dx) return;
    gemm(c_.naive, false, false, rows, in_, out_, dy, w_, dx);
    b_.grad_in.apply(dx, rows * in_, c_.threads);
  }

 private:
  Binding b_;
  Context c_;
  int64_t in_, out_;
  const float *w_, *bias_;
  float *gw_, *gb_;
};

}  // namespace

std::unique_ptr<CpuLayer> make_dense(const graph::Layer& layer, int index, const Binding& b,
                                     const Context& c) {
  return std::make_unique<DenseLayer>(layer, index, b, c);
}

}  // namespace gt::engine::cpu
