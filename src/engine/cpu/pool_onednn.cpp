// MaxPool2D on the CPU through oneDNN's max-pooling primitives (NHWC, FP32, the argmax kept in
// the training pass's workspace), the fast path beside the plain loops of pool.cpp, which tests
// compare it with. Primitives, workspace and scratchpad are made once per batch size.
#include <map>

#include "engine/cpu/layer.h"
#include "engine/cpu/onednn.h"

namespace gt::engine::cpu {
namespace {

class OnednnMaxPool final : public CpuLayer {
 public:
  OnednnMaxPool(const graph::Layer& layer, const Binding& b, const Context& c)
      : b_(b),
        c_(c),
        in_(layer.in),
        out_(layer.out),
        spec_(std::get<graph::MaxPool2D>(layer.spec)) {}

  void reserve(int64_t rows) override { plan(rows); }

  void forward(int64_t rows, const float* x, float* y, const PassMode& pass) override {
    Plan& p = plan(rows);
    p.src.set_data_handle(const_cast<float*>(x));
    p.dst.set_data_handle(y);
    p.forward(pass.training, *c_.dnnl_stream);
    b_.out.apply(y, rows * out_.size(), c_.threads);
  }

  void backward(int64_t rows, const float*, const float*, const float* dy, float* dx) override {
    if (!dx) return;
    Plan& p = plan(rows);
    p.diff_dst.set_data_handle(const_cast<float*>(dy));
    p.diff_src.set_data_handle(dx);
    p.run_backward(*c_.dnnl_stream);
    b_.grad_in.apply(dx, rows * in_.size(), c_.threads);
  }

 private:
  using Plan = onednn::LayerPlan<dnnl::pooling_forward, dnnl::pooling_backward>;

  Plan& plan(int64_t rows) {
    if (auto it = plans_.find(rows); it != plans_.end()) return it->second;
    const dnnl::engine& eng = *c_.dnnl_engine;
    const dnnl::memory::desc src = onednn::nhwc(rows, in_), dst = onednn::nhwc(rows, out_);
    const dnnl::memory::dims stride{spec_.stride, spec_.stride}, kernel{spec_.pool, spec_.pool};
    const dnnl::memory::dims none{0, 0};
    const dnnl::primitive_attr attr = onednn::user_scratchpad();
    const auto algo = dnnl::algorithm::pooling_max;
    const dnnl::pooling_forward::primitive_desc train_pd(
        {dnnl::prop_kind::forward_training, algo, src, dst, stride, kernel, none, none}, attr, eng);
    const dnnl::pooling_forward::primitive_desc infer_pd(
        {dnnl::prop_kind::forward_inference, algo, src, dst, stride, kernel, none, none}, attr,
        eng);
    const dnnl::pooling_backward::primitive_desc back_pd(
        {algo, src, dst, stride, kernel, none, none}, attr, eng, train_pd);
    Plan& p = plans_[rows];
    p.train = dnnl::pooling_forward(train_pd);
    p.infer = dnnl::pooling_forward(infer_pd);
    p.backward = dnnl::pooling_backward(back_pd);
    p.src = onednn::unbound(src, eng);
    p.dst = onednn::unbound(dst, eng);
    p.diff_src = onednn::unbound(src, eng);
    p.diff_dst = onednn::unbound(dst, eng);
    p.scratch.fit(eng,
                  {train_pd.scratchpad_desc().get_size(), infer_pd.scratchpad_desc().get_size(),
                   back_pd.scratchpad_desc().get_size()});
    p.workspace.assign(train_pd.workspace_desc().get_size(), 0);
    const dnnl::memory ws(train_pd.workspace_desc(), eng, p.workspace.data());
    p.train_args = {{DNNL_ARG_SRC, p.src},
                    {DNNL_ARG_DST, p.dst},
                    {DNNL_ARG_WORKSPACE, ws},
                    {DNNL_ARG_SCRATCHPAD, p.scratch.memory}};
    p.infer_args = {
        {DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}, {DNNL_ARG_SCRATCHPAD, p.scratch.memory}};
    p.backward_args = {{DNNL_ARG_DIFF_DST, p.diff_dst},
                       {DNNL_ARG_DIFF_SRC, p.diff_src},
                       {DNNL_ARG_WORKSPACE, ws},
                       {DNNL_ARG_SCRATCHPAD, p.scratch.memory}};
    return p;
  }

  Binding b_;
  Context c_;
  graph::Shape in_, out_;
  graph::MaxPool2D spec_;
  std::map<int64_t, Plan> plans_;
};

}  // namespace

std::unique_ptr<CpuLayer> make_onednn_max_pool(const graph::Layer& layer, const Binding& b,
                                               const Context& c) {
  return std::make_unique<OnednnMaxPool>(layer, b, c);
}

}  // namespace gt::engine::cpu
