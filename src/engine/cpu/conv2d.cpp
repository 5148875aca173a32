// Conv2D on the CPU, NHWC activations and OHWI weights: oneDNN's convolution primitives
// (forward, backward-data, backward-weights; measured faster than im2col + OpenBLAS sgemm on
// these shapes, see docs/architecture.md), or — naive — direct loops accumulated in double.
// oneDNN picks its own blocked weight layout; the weights are reordered into it from the
// compute copy before each forward pass, and the weight gradient back into the slab's OHWI.
// Primitives, their argument lists, the blocked weight buffers and a user-managed scratchpad
// are made once per batch size (setup makes the training ones), so a step allocates nothing.
// Padding is Keras' "same" (graph/layer_spec.h), asymmetric when the total is odd.
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "engine/cpu/layer.h"

namespace gt::engine::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Geometry {
  graph::Shape in, out;
  int k = 3, stride = 1, pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;

  Geometry(const graph::Layer& layer, const graph::Conv2D& spec)
      : in(layer.in), out(layer.out), k(spec.kernel), stride(spec.stride) {
    const int th = std::max((out.height - 1) * stride + k - in.height, 0);
    const int tw = std::max((out.width - 1) * stride + k - in.width, 0);
    pad_top = th / 2;
    pad_bottom = th - pad_top;
    pad_left = tw / 2;
    pad_right = tw - pad_left;
  }
};

class Conv2DLayer final : public CpuLayer {
 public:
  Conv2DLayer(const graph::Layer& layer, int index, const Binding& b, const Context& c)
      : b_(b), c_(c), spec_(std::get<graph::Conv2D>(layer.spec)), g_(layer, spec_) {
    const auto& w = *b.layout->find(index, graph::TensorRole::weight);
    w_ = b.copy + w.offset;
    gw_ = b.grads + w.offset;
    weights_ = w.size;
    if (const auto* bias = b.layout->find(index, graph::TensorRole::bias)) {
      bias_ = b.copy + bias->offset;
      gb_ = b.grads + bias->offset;
    }
    if (c.naive) {
      grad_w_.assign(size_t(weights_), 0.0);
      grad_b_.assign(size_t(spec_.filters), 0.0);
    }
  }

  void reserve(int64_t rows) override {
    if (c_.naive) {
      if (size_t(rows * g_.in.size()) > accum_.size())
        accum_.assign(size_t(rows * g_.in.size()), 0);
      return;
    }
    plan(rows);
  }

  void forward(int64_t rows, const float* x, float* y, const PassMode&) override {
    if (c_.naive) {
      naive_forward(rows, x, y);
    } else {
      Plan& p = plan(rows);
      auto& s = *c_.dnnl_stream;
      if (p.reorder_fwd_weights) p.reorder_fwd_weights.execute(s, p.reorder_fwd_args);
      p.src.set_data_handle(const_cast<float*>(x));
      p.dst.set_data_handle(y);
      p.fwd.execute(s, p.fwd_args);
      s.wait();
    }
    b_.out.apply(y, rows * g_.out.size(), c_.threads);
  }

  void backward(int64_t rows, const float* x, const float*, const float* dy, float* dx) override {
    if (c_.naive) {
      naive_backward(rows, x, dy, dx);
    } else {
      Plan& p = plan(rows);
      auto& s = *c_.dnnl_stream;
      p.src.set_data_handle(const_cast<float*>(x));
      p.diff_dst.set_data_handle(const_cast<float*>(dy));
      p.bwd_weights.execute(s, p.bwd_weights_args);
      if (p.reorder_diff_weights) p.reorder_diff_weights.execute(s, p.reorder_diff_args);
      if (dx) {
        if (p.reorder_bwd_weights) p.reorder_bwd_weights.execute(s, p.reorder_bwd_args);
        p.diff_src.set_data_handle(dx);
        p.bwd_data.execute(s, p.bwd_data_args);
      }
      s.wait();
    }
    const StorageType st = c_.policy.storage;
    if (st != StorageType::f32) {
      for (int64_t i = 0; i < weights_; ++i) gw_[i] = round_storage(gw_[i], st);
      if (gb_)
        for (int f = 0; f < spec_.filters; ++f) gb_[f] = round_storage(gb_[f], st);
    }
    if (dx) b_.grad_in.apply(dx, rows * g_.in.size(), c_.threads);
  }

 private:
  struct Plan {
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data bwd_data;
    dnnl::convolution_backward_weights bwd_weights;
    dnnl::reorder reorder_fwd_weights, reorder_bwd_weights, reorder_diff_weights;
    dnnl::memory src, dst, diff_src, diff_dst;
    std::vector<float> fwd_w, bwd_w, diff_w, scratch;
    std::unordered_map<int, dnnl::memory> fwd_args, bwd_data_args, bwd_weights_args;
    std::unordered_map<int, dnnl::memory> reorder_fwd_args, reorder_bwd_args, reorder_diff_args;
  };

  // The primitives for passes of exactly `rows` samples, made on first use.
  Plan& plan(int64_t rows) {
    if (auto it = plans_.find(rows); it != plans_.end()) return it->second;
    const dnnl::engine& eng = *c_.dnnl_engine;
    const int64_t O = spec_.filters, I = g_.in.channels, K = g_.k;
    const dnnl::memory::desc src_md({rows, I, g_.in.height, g_.in.width}, dt::f32, tag::nhwc);
    const dnnl::memory::desc dst_md({rows, O, g_.out.height, g_.out.width}, dt::f32, tag::nhwc);
    const dnnl::memory::desc any_w({O, I, K, K}, dt::f32, tag::any);
    const dnnl::memory::desc user_w({O, I, K, K}, dt::f32, tag::ohwi);
    const dnnl::memory::desc bias_md =
        bias_ ? dnnl::memory::desc({O}, dt::f32, tag::a) : dnnl::memory::desc();
    const dnnl::memory::dims strides{g_.stride, g_.stride};
    const dnnl::memory::dims pad_l{g_.pad_top, g_.pad_left}, pad_r{g_.pad_bottom, g_.pad_right};
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    const dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training,
                                             dnnl::algorithm::convolution_direct, src_md, any_w,
                                             bias_md, dst_md, strides, pad_l, pad_r);
    const dnnl::convolution_forward::primitive_desc fpd(fd, attr, eng);
    const dnnl::convolution_backward_data::desc bdd(dnnl::algorithm::convolution_direct, src_md,
                                                    any_w, dst_md, strides, pad_l, pad_r);
    const dnnl::convolution_backward_data::primitive_desc bdpd(bdd, attr, eng, fpd);
    const dnnl::convolution_backward_weights::desc bwd(
        dnnl::algorithm::convolution_direct, src_md, any_w, bias_md, dst_md, strides, pad_l, pad_r);
    const dnnl::convolution_backward_weights::primitive_desc bwpd(bwd, attr, eng, fpd);

    Plan& p = plans_[rows];
    p.fwd = dnnl::convolution_forward(fpd);
    p.bwd_data = dnnl::convolution_backward_data(bdpd);
    p.bwd_weights = dnnl::convolution_backward_weights(bwpd);
    p.src = dnnl::memory(src_md, eng, DNNL_MEMORY_NONE);
    p.dst = dnnl::memory(dst_md, eng, DNNL_MEMORY_NONE);
    p.diff_src = dnnl::memory(src_md, eng, DNNL_MEMORY_NONE);
    p.diff_dst = dnnl::memory(dst_md, eng, DNNL_MEMORY_NONE);
    const dnnl::memory user_weights(user_w, eng, const_cast<float*>(w_));
    const dnnl::memory user_grads(user_w, eng, gw_);
    // A weight tensor in the layout a primitive wants: the slab's own, or a reordered copy.
    auto weights_for = [&](const dnnl::memory::desc& want, const dnnl::memory& user,
                           std::vector<float>& buffer, dnnl::reorder& reorder,
                           std::unordered_map<int, dnnl::memory>& args, bool to_user) {
      if (want == user_w) return user;
      buffer.assign(want.get_size() / sizeof(float), 0.0f);
      dnnl::memory mem(want, eng, buffer.data());
      reorder = to_user ? dnnl::reorder(mem, user) : dnnl::reorder(user, mem);
      args = {{DNNL_ARG_FROM, to_user ? mem : user}, {DNNL_ARG_TO, to_user ? user : mem}};
      return mem;
    };
    const dnnl::memory fwd_w = weights_for(fpd.weights_desc(), user_weights, p.fwd_w,
                                           p.reorder_fwd_weights, p.reorder_fwd_args, false);
    const dnnl::memory bwd_w = weights_for(bdpd.weights_desc(), user_weights, p.bwd_w,
                                           p.reorder_bwd_weights, p.reorder_bwd_args, false);
    const dnnl::memory diff_w = weights_for(bwpd.diff_weights_desc(), user_grads, p.diff_w,
                                            p.reorder_diff_weights, p.reorder_diff_args, true);
    size_t scratch = std::max({fpd.scratchpad_desc().get_size(), bdpd.scratchpad_desc().get_size(),
                               bwpd.scratchpad_desc().get_size()});
    p.scratch.assign(scratch / sizeof(float) + 1, 0.0f);
    const dnnl::memory pad(
        dnnl::memory::desc({dnnl::memory::dim(p.scratch.size() * sizeof(float))}, dt::u8, tag::a),
        eng, p.scratch.data());
    p.fwd_args = {{DNNL_ARG_SRC, p.src},
                  {DNNL_ARG_WEIGHTS, fwd_w},
                  {DNNL_ARG_DST, p.dst},
                  {DNNL_ARG_SCRATCHPAD, pad}};
    p.bwd_data_args = {{DNNL_ARG_DIFF_DST, p.diff_dst},
                       {DNNL_ARG_WEIGHTS, bwd_w},
                       {DNNL_ARG_DIFF_SRC, p.diff_src},
                       {DNNL_ARG_SCRATCHPAD, pad}};
    p.bwd_weights_args = {{DNNL_ARG_SRC, p.src},
                          {DNNL_ARG_DIFF_DST, p.diff_dst},
                          {DNNL_ARG_DIFF_WEIGHTS, diff_w},
                          {DNNL_ARG_SCRATCHPAD, pad}};
    if (bias_) {
      p.fwd_args[DNNL_ARG_BIAS] = dnnl::memory(bias_md, eng, const_cast<float*>(bias_));
      p.bwd_weights_args[DNNL_ARG_DIFF_BIAS] = dnnl::memory(bias_md, eng, gb_);
    }
    return p;
  }

  // x at input position (ih, iw) of sample n, or 0 in the padding.
  const float* at(const float* x, int64_t n, int ih, int iw) const {
    if (ih < 0 || iw < 0 || ih >= g_.in.height || iw >= g_.in.width) return nullptr;
    return x + ((n * g_.in.height + ih) * g_.in.width + iw) * g_.in.channels;
  }

  void naive_forward(int64_t rows, const float* x, float* y) const {
    const int I = g_.in.channels, O = spec_.filters, K = g_.k;
    for (int64_t n = 0; n < rows; ++n)
      for (int oh = 0; oh < g_.out.height; ++oh)
        for (int ow = 0; ow < g_.out.width; ++ow)
          for (int o = 0; o < O; ++o) {
            double s = bias_ ? bias_[o] : 0.0;
            for (int kh = 0; kh < K; ++kh)
              for (int kw = 0; kw < K; ++kw) {
                const float* xi =
                    at(x, n, oh * g_.stride + kh - g_.pad_top, ow * g_.stride + kw - g_.pad_left);
                if (!xi) continue;
                const float* wi = w_ + ((int64_t(o) * K + kh) * K + kw) * I;
                for (int i = 0; i < I; ++i) s += double(xi[i]) * wi[i];
              }
            y[((n * g_.out.height + oh) * g_.out.width + ow) * O + o] = float(s);
          }
  }

  void naive_backward(int64_t rows, const float* x, const float* dy, float* dx) {
    const int I = g_.in.channels, O = spec_.filters, K = g_.k;
    std::vector<double>& gw = grad_w_;
    std::vector<double>& gb = grad_b_;
    std::fill(gw.begin(), gw.end(), 0.0);
    std::fill(gb.begin(), gb.end(), 0.0);
    if (dx) std::fill(accum_.begin(), accum_.begin() + rows * g_.in.size(), 0.0);
    for (int64_t n = 0; n < rows; ++n)
      for (int oh = 0; oh < g_.out.height; ++oh)
        for (int ow = 0; ow < g_.out.width; ++ow)
          for (int o = 0; o < O; ++o) {
            const double g = dy[((n * g_.out.height + oh) * g_.out.width + ow) * O + o];
            gb[size_t(o)] += g;
            for (int kh = 0; kh < K; ++kh)
              for (int kw = 0; kw < K; ++kw) {
                const int ih = oh * g_.stride + kh - g_.pad_top;
                const int iw = ow * g_.stride + kw - g_.pad_left;
                const float* xi = at(x, n, ih, iw);
                if (!xi) continue;
                const int64_t wo = ((int64_t(o) * K + kh) * K + kw) * I;
                const int64_t xo = xi - x;
                for (int i = 0; i < I; ++i) {
                  gw[size_t(wo + i)] += g * xi[i];
                  if (dx) accum_[size_t(xo + i)] += g * w_[wo + i];
                }
              }
          }
    for (int64_t i = 0; i < weights_; ++i) gw_[i] = float(gw[size_t(i)]);
    if (gb_)
      for (int o = 0; o < O; ++o) gb_[o] = float(gb[size_t(o)]);
    if (dx)
      for (int64_t i = 0; i < rows * g_.in.size(); ++i) dx[i] = float(accum_[size_t(i)]);
  }

  Binding b_;
  Context c_;
  graph::Conv2D spec_;
  Geometry g_;
  const float* w_ = nullptr;
  const float* bias_ = nullptr;
  float* gw_ = nullptr;
  float* gb_ = nullptr;
  int64_t weights_ = 0;
  std::map<int64_t, Plan> plans_;
  std::vector<double> accum_, grad_w_, grad_b_;  // the naive loops' double accumulators
};

}  // namespace

std::unique_ptr<CpuLayer> make_conv2d(const graph::Layer& layer, int index, const Binding& b,
                                      const Context& c) {
  return std::make_unique<Conv2DLayer>(layer, index, b, c);
}

}  // namespace gt::engine::cpu
