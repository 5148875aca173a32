// The pooling layers on the CPU. MaxPool2D keeps, per output value, which position of its
// window won (the first maximum in row-major order, as PyTorch), and backward sends the
// gradient there; GlobalAvgPool averages each channel over height and width (sums in double).
// Both loop over NHWC with the channels innermost.
#include <vector>

#include "common/error.h"
#include "engine/cpu/layer.h"

namespace gt::engine::cpu {
namespace {

class MaxPoolLayer final : public CpuLayer {
 public:
  MaxPoolLayer(const graph::Layer& layer, const Binding& b, const Context& c)
      : b_(b),
        c_(c),
        in_(layer.in),
        out_(layer.out),
        spec_(std::get<graph::MaxPool2D>(layer.spec)) {
    if (spec_.pool > 15) throw gt::Error("internal: max pooling windows are at most 15x15");
  }

  void reserve(int64_t rows) override {
    if (size_t(rows * out_.size()) > argmax_.size()) argmax_.assign(size_t(rows * out_.size()), 0);
  }

  void forward(int64_t rows, const float* x, float* y, const PassMode&) override {
    const int C = in_.channels, P = spec_.pool, S = spec_.stride;
    const int64_t lines = rows * out_.height;
    uint8_t* arg = argmax_.data();
    const Store store = b_.out;
    // Window position by window position, all channels at once (the channels are contiguous).
#pragma omp parallel for num_threads(c_.threads) if (c_.threads > 1 && \
                                                     rows * out_.size() > kParallelMin)
    for (int64_t line = 0; line < lines; ++line) {
      const int64_t n = line / out_.height;
      const int oh = int(line % out_.height);
      for (int ow = 0; ow < out_.width; ++ow) {
        const int64_t o = ((n * out_.height + oh) * out_.width + ow) * C;
        float* yo = y + o;
        uint8_t* ao = arg + o;
        for (int kh = 0; kh < P; ++kh)
          for (int kw = 0; kw < P; ++kw) {
            const float* xk = x + ((n * in_.height + oh * S + kh) * in_.width + ow * S + kw) * C;
            const auto k = uint8_t(kh * P + kw);
            if (k == 0) {
              for (int ch = 0; ch < C; ++ch) yo[ch] = xk[ch], ao[ch] = 0;
              continue;
            }
            for (int ch = 0; ch < C; ++ch) {
              const bool greater = xk[ch] > yo[ch];
              yo[ch] = greater ? xk[ch] : yo[ch];
              ao[ch] = greater ? k : ao[ch];
            }
          }
        if (store.rounds())
          for (int ch = 0; ch < C; ++ch) yo[ch] = store(yo[ch]);
      }
    }
  }

  void backward(int64_t rows, const float*, const float*, const float* dy, float* dx) override {
    if (!dx) return;
    const int C = in_.channels, P = spec_.pool, S = spec_.stride;
    const uint8_t* arg = argmax_.data();
    const Store store = b_.grad_in;
    const bool overlap = S < P;
    // One sample per iteration: windows of one sample may overlap, samples never do.
#pragma omp parallel for num_threads(c_.threads) if (c_.threads > 1 && \
                                                     rows * in_.size() > kParallelMin)
    for (int64_t n = 0; n < rows; ++n) {
      float* dxn = dx + n * in_.size();
      std::fill(dxn, dxn + in_.size(), 0.0f);
      for (int oh = 0; oh < out_.height; ++oh)
        for (int ow = 0; ow < out_.width; ++ow) {
          const int64_t o = ((n * out_.height + oh) * out_.width + ow) * C;
          for (int ch = 0; ch < C; ++ch) {
            const int kh = arg[o + ch] / P, kw = arg[o + ch] % P;
            dxn[((oh * S + kh) * in_.width + ow * S + kw) * C + ch] += dy[o + ch];
          }
        }
      if (overlap || store.rounds())
        for (int64_t i = 0; i < in_.size(); ++i) dxn[i] = store(dxn[i]);
    }
  }

 private:
  Binding b_;
  Context c_;
  graph::Shape in_, out_;
  graph::MaxPool2D spec_;
  std::vector<uint8_t> argmax_;
};

class GlobalAvgPoolLayer final : public CpuLayer {
 public:
  GlobalAvgPoolLayer(const graph::Layer& layer, const Binding& b, const Context& c)
      : b_(b), c_(c), in_(layer.in) {}

  void reserve(int64_t) override {}

  void forward(int64_t rows, const float* x, float* y, const PassMode&) override {
    const int C = in_.channels;
    const int64_t hw = int64_t(in_.height) * in_.width;
    const Store store = b_.out;
#pragma omp parallel for num_threads(c_.threads) if (c_.threads > 1 && \
                                                     rows * in_.size() > kParallelMin)
    for (int64_t n = 0; n < rows; ++n) {
      const float* xn = x + n * in_.size();
      for (int ch = 0; ch < C; ++ch) {
        double s = 0;
        for (int64_t p = 0; p < hw; ++p) s += xn[p * C + ch];
        y[n * C + ch] = store(float(s / double(hw)));
      }
    }
  }

  void backward(int64_t rows, const float*, const float*, const float* dy, float* dx) override {
    if (!dx) return;
    const int C = in_.channels;
    const int64_t hw = int64_t(in_.height) * in_.width;
    const float inv = 1.0f / float(hw);
    const Store store = b_.grad_in;
#pragma omp parallel for num_threads(c_.threads) if (c_.threads > 1 && \
                                                     rows * in_.size() > kParallelMin)
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t p = 0; p < hw; ++p)
        for (int ch = 0; ch < C; ++ch) dx[(n * hw + p) * C + ch] = store(dy[n * C + ch] * inv);
  }

 private:
  Binding b_;
  Context c_;
  graph::Shape in_;
};

}  // namespace

std::unique_ptr<CpuLayer> make_max_pool(const graph::Layer& layer, const Binding& b,
                                        const Context& c) {
  return std::make_unique<MaxPoolLayer>(layer, b, c);
}
std::unique_ptr<CpuLayer> make_global_avg_pool(const graph::Layer& layer, const Binding& b,
                                               const Context& c) {
  return std::make_unique<GlobalAvgPoolLayer>(layer, b, c);
}

}  // namespace gt::engine::cpu
