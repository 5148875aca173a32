// BatchNormalization on the CPU, per channel over the batch and the spatial positions (see
// graph/layer_spec.h for the conventions). Statistics are sums of FP32 blocks in double (two
// passes: the mean, then the squared deviations), γ, β, their gradients and the running statistics
// FP32 under every precision. Training: y = (x − μ)·γ/√(σ² + ε) + β with the batch's μ and biased
// σ², running statistics moved when the pass asks for it (unbiased σ² there, as PyTorch);
// evaluation uses the running statistics. Backward (training passes):
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/√(σ² + ε) · (dy − dβ/M − x̂·dγ/M),  x̂ = (x − μ)/√(σ² + ε)
// with M the values per channel. A ReLU after it can run inside it (Binding::fused_relu): one
// pass over the activations less each way. Sums over positions run in per-thread partial rows added
// in a fixed order, so results depend on the thread count only, not on scheduling.
#include <omp.h>

#include <cmath>
#include <vector>

#include "engine/cpu/layer.h"

namespace gt::engine::cpu {
namespace {

class BatchNormLayer final : public CpuLayer {
 public:
  BatchNormLayer(const graph::Layer& layer, int index, const Binding& b, const Context& c)
      : b_(b),
        c_(c),
        channels_(layer.in.channels),
        positions_(int64_t(layer.in.height) * layer.in.width),
        spec_(std::get<graph::BatchNorm>(layer.spec)),
        t_(b, index, layer.in.channels) {
    const size_t C = size_t(channels_);
    mean_.assign(C, 0.0f);
    var_.assign(C, 0.0f);
    invstd_.assign(C, 0.0f);
    scale_.assign(C, 0.0f);
    shift_.assign(C, 0.0f);
    dgamma_m_.assign(C, 0.0f);
    sum_a_.assign(C, 0.0);
    sum_b_.assign(C, 0.0);
    partial_.assign(size_t(std::max(1, c.threads)) * 2 * C, 0.0);
    block_.assign(size_t(std::max(1, c.threads)) * 2 * C, 0.0f);
  }

  void reserve(int64_t) override {}

  void forward(int64_t rows, const float* x, float* y, const PassMode& pass) override {
    const int C = channels_;
    const int64_t pixels = rows * positions_;
    if (pass.training) {
      const double M = double(pixels);
      sums(pixels, [&](int64_t p, int ch, float& a, float&) { a += x[p * C + ch]; });
      for (int ch = 0; ch < C; ++ch) mean_[ch] = float(sum_a_[ch] / M);
      const float* mean = mean_.data();
      sums(pixels, [&](int64_t p, int ch, float& a, float&) {
        const float d = x[p * C + ch] - mean[ch];
        a += d * d;
      });
      for (int ch = 0; ch < C; ++ch) {
        const double var = sum_a_[ch] / M;
        var_[ch] = float(var);
        invstd_[ch] = float(1.0 / std::sqrt(var + double(spec_.eps)));
        scale_[ch] = t_.gamma[ch] * invstd_[ch];
        shift_[ch] = t_.beta[ch] - mean_[ch] * scale_[ch];
      }
      if (pass.update_statistics) t_.move_statistics(mean_.data(), var_.data(), M, spec_.momentum);
    } else {
      for (int ch = 0; ch < C; ++ch) {
        scale_[ch] = t_.gamma[ch] / std::sqrt(t_.running_var[ch] + spec_.eps);
        shift_[ch] = t_.beta[ch] - t_.running_mean[ch] * scale_[ch];
      }
    }
    const float* scale = scale_.data();
    const float* shift = shift_.data();
    if (b_.fused_relu)
      store_each_channel(pixels, C, y, b_.out, c_.threads, [=](int64_t i, int ch) {
        const float v = x[i] * scale[ch] + shift[ch];
        return v > 0.0f ? v : 0.0f;
      });
    else
      store_each_channel(pixels, C, y, b_.out, c_.threads,
                         [=](int64_t i, int ch) { return x[i] * scale[ch] + shift[ch]; });
  }

  void backward(int64_t rows, const float* x, const float* y, const float* dy, float* dx) override {
    // With the ReLU fused in, dy is the gradient of max(0, BN(x)): through the ReLU first.
    if (b_.fused_relu)
      backward_with<true>(rows, x, y, dy, dx);
    else
      backward_with<false>(rows, x, y, dy, dx);
  }

 private:
  template <bool kRelu>
  void backward_with(int64_t rows, const float* x, const float* y, const float* dy, float* dx) {
    const int C = channels_;
    const int64_t pixels = rows * positions_;
    const float* mean = mean_.data();
    const float* invstd = invstd_.data();
    sums(pixels, [&](int64_t p, int ch, float& a, float& b) {
      const int64_t i = p * C + ch;
      const float g = !kRelu || y[i] > 0.0f ? dy[i] : 0.0f;
      a += g;
      b += g * (x[i] - mean[ch]) * invstd[ch];
    });
    for (int ch = 0; ch < C; ++ch) {
      t_.grad_beta[ch] = float(sum_a_[ch]);
      t_.grad_gamma[ch] = float(sum_b_[ch]);
    }
    if (!dx) return;
    const float inv_m = 1.0f / float(pixels);
    for (int ch = 0; ch < C; ++ch) {
      scale_[ch] = t_.gamma[ch] * invstd[ch];  // γ/√(σ² + ε)
      shift_[ch] = float(sum_a_[ch]) * inv_m;
      dgamma_m_[size_t(ch)] = float(sum_b_[ch] * double(inv_m));
    }
    const float* k = scale_.data();
    const float* db_m = shift_.data();
    const float* dgm = dgamma_m_.data();
    store_each_channel(pixels, C, dx, b_.grad_in, c_.threads, [=](int64_t i, int ch) {
      const float g = !kRelu || y[i] > 0.0f ? dy[i] : 0.0f;
      const float xhat = (x[i] - mean[ch]) * invstd[ch];
      return k[ch] * (g - db_m[ch] - xhat * dgm[ch]);
    });
  }

 private:
  // sum_a_[c], sum_b_[c] = Σ over positions p of what f adds for (p, c): FP32 sums over
  // blocks of kBlock positions (the loop over channels vectorises), added up in double.
  template <class F>
  void sums(int64_t pixels, F f) {
    constexpr int64_t kBlock = 64;
    const int C = channels_;
    const int threads = c_.threads > 1 && pixels * C > kParallelMin ? c_.threads : 1;
    double* partial = partial_.data();
    float* blocks = block_.data();
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      double* a = partial + size_t(t) * 2 * C;
      double* b = a + C;
      float* fa = blocks + size_t(t) * 2 * C;
      float* fb = fa + C;
      std::fill(a, a + 2 * C, 0.0);
      const int64_t lo = pixels * t / nt, hi = pixels * (t + 1) / nt;
      for (int64_t p0 = lo; p0 < hi; p0 += kBlock) {
        std::fill(fa, fa + 2 * C, 0.0f);
        const int64_t p1 = std::min(hi, p0 + kBlock);
        for (int64_t p = p0; p < p1; ++p)
#pragma omp simd
          for (int ch = 0; ch < C; ++ch) f(p, ch, fa[ch], fb[ch]);
        for (int ch = 0; ch < C; ++ch) a[ch] += fa[ch], b[ch] += fb[ch];
      }
    }
    for (int ch = 0; ch < C; ++ch) {
      double a = 0, b = 0;
      for (int t = 0; t < threads; ++t) {
        a += partial[size_t(t) * 2 * C + ch];
        b += partial[size_t(t) * 2 * C + C + ch];
      }
      sum_a_[size_t(ch)] = a;
      sum_b_[size_t(ch)] = b;
    }
  }

  Binding b_;
  Context c_;
  int channels_;
  int64_t positions_;
  graph::BatchNorm spec_;
  BatchNormTensors t_;
  std::vector<float> mean_, var_, invstd_, scale_, shift_, dgamma_m_;
  std::vector<double> sum_a_, sum_b_, partial_;
  std::vector<float> block_;
};

}  // namespace

std::unique_ptr<CpuLayer> make_batch_norm(const graph::Layer& layer, int index, const Binding& b,
                                          const Context& c) {
  return std::make_unique<BatchNormLayer>(layer, index, b, c);
}

}  // namespace gt::engine::cpu
