// BatchNormalization on the CPU through oneDNN's batch-normalization primitives (NHWC, FP32,
// scale and shift, the ReLU after it fused in with `fuse_norm_relu`), the fast path beside the
// plain loops of batchnorm.cpp, which tests compare it with. oneDNN returns the batch mean and
// biased variance; the running statistics are moved here as PyTorch does (graph/layer_spec.h).
// Evaluation runs the inference primitive on the running statistics. Primitives, the ReLU
// workspace and the scratchpad are made once per batch size; a step allocates nothing.
#include <map>

#include "engine/cpu/layer.h"
#include "engine/cpu/onednn.h"

namespace gt::engine::cpu {
namespace {

class OnednnBatchNorm final : public CpuLayer {
 public:
  OnednnBatchNorm(const graph::Layer& layer, int index, const Binding& b, const Context& c)
      : b_(b),
        c_(c),
        shape_(layer.in),
        spec_(std::get<graph::BatchNorm>(layer.spec)),
        t_(b, index, layer.in.channels) {
    mean_.assign(size_t(shape_.channels), 0.0f);
    var_.assign(size_t(shape_.channels), 0.0f);
  }

  void reserve(int64_t rows) override { plan(rows); }

  void forward(int64_t rows, const float* x, float* y, const PassMode& pass) override {
    Plan& p = plan(rows);
    p.src.set_data_handle(const_cast<float*>(x));
    p.dst.set_data_handle(y);
    p.forward(pass.training, *c_.dnnl_stream);
    if (pass.training && pass.update_statistics)
      t_.move_statistics(mean_.data(), var_.data(), double(rows) * shape_.height * shape_.width,
                         spec_.momentum);
    b_.out.apply(y, rows * shape_.size(), c_.threads);
  }

  void backward(int64_t rows, const float* x, const float*, const float* dy, float* dx) override {
    Plan& p = plan(rows);
    p.src.set_data_handle(const_cast<float*>(x));
    p.diff_dst.set_data_handle(const_cast<float*>(dy));
    // Without dx the data gradient still has to go somewhere: the plan's own buffer.
    p.diff_src.set_data_handle(dx ? dx : p.spare_dx.data());
    p.run_backward(*c_.dnnl_stream);
    if (dx) b_.grad_in.apply(dx, rows * shape_.size(), c_.threads);
  }

 private:
  struct Plan
      : onednn::LayerPlan<dnnl::batch_normalization_forward, dnnl::batch_normalization_backward> {
    std::vector<float> spare_dx;
  };

  Plan& plan(int64_t rows) {
    if (auto it = plans_.find(rows); it != plans_.end()) return it->second;
    const dnnl::engine& eng = *c_.dnnl_engine;
    using flags = dnnl::normalization_flags;
    const dnnl::memory::desc data = onednn::nhwc(rows, shape_);
    const auto relu = b_.fused_relu ? flags::fuse_norm_relu : flags::none;
    const dnnl::primitive_attr attr = onednn::user_scratchpad();
    const dnnl::batch_normalization_forward::primitive_desc train_pd(
        {dnnl::prop_kind::forward_training, data, spec_.eps,
         flags::use_scale | flags::use_shift | relu},
        attr, eng);
    const dnnl::batch_normalization_forward::primitive_desc infer_pd(
        {dnnl::prop_kind::forward_inference, data, spec_.eps,
         flags::use_scale | flags::use_shift | flags::use_global_stats | relu},
        attr, eng);
    const dnnl::batch_normalization_backward::primitive_desc back_pd(
        {dnnl::prop_kind::backward, data, data, spec_.eps,
         flags::use_scale | flags::use_shift | relu},
        attr, eng, train_pd);
    Plan& p = plans_[rows];
    p.train = dnnl::batch_normalization_forward(train_pd);
    p.infer = dnnl::batch_normalization_forward(infer_pd);
    p.backward = dnnl::batch_normalization_backward(back_pd);
    p.src = onednn::unbound(data, eng);
    p.dst = onednn::unbound(data, eng);
    p.diff_src = onednn::unbound(data, eng);
    p.diff_dst = onednn::unbound(data, eng);
    p.spare_dx.assign(size_t(rows * shape_.size()), 0.0f);
    p.scratch.fit(eng,
                  {train_pd.scratchpad_desc().get_size(), infer_pd.scratchpad_desc().get_size(),
                   back_pd.scratchpad_desc().get_size()});
    const auto C = shape_.channels;
    const auto vec = [&](float* v) { return dnnl::memory(onednn::vector(C), eng, v); };
    p.train_args = {{DNNL_ARG_SRC, p.src},
                    {DNNL_ARG_DST, p.dst},
                    {DNNL_ARG_SCALE, vec(t_.gamma)},
                    {DNNL_ARG_SHIFT, vec(t_.beta)},
                    {DNNL_ARG_MEAN, vec(mean_.data())},
                    {DNNL_ARG_VARIANCE, vec(var_.data())},
                    {DNNL_ARG_SCRATCHPAD, p.scratch.memory}};
    p.infer_args = {{DNNL_ARG_SRC, p.src},
                    {DNNL_ARG_DST, p.dst},
                    {DNNL_ARG_SCALE, vec(t_.gamma)},
                    {DNNL_ARG_SHIFT, vec(t_.beta)},
                    {DNNL_ARG_MEAN, vec(t_.running_mean)},
                    {DNNL_ARG_VARIANCE, vec(t_.running_var)},
                    {DNNL_ARG_SCRATCHPAD, p.scratch.memory}};
    p.backward_args = {{DNNL_ARG_SRC, p.src},
                       {DNNL_ARG_DIFF_DST, p.diff_dst},
                       {DNNL_ARG_SCALE, vec(t_.gamma)},
                       {DNNL_ARG_SHIFT, vec(t_.beta)},
                       {DNNL_ARG_MEAN, vec(mean_.data())},
                       {DNNL_ARG_VARIANCE, vec(var_.data())},
                       {DNNL_ARG_DIFF_SRC, p.diff_src},
                       {DNNL_ARG_DIFF_SCALE, vec(t_.grad_gamma)},
                       {DNNL_ARG_DIFF_SHIFT, vec(t_.grad_beta)},
                       {DNNL_ARG_SCRATCHPAD, p.scratch.memory}};
    if (b_.fused_relu) {
      p.workspace.assign(train_pd.workspace_desc().get_size(), 0);
      const dnnl::memory ws(train_pd.workspace_desc(), eng, p.workspace.data());
      p.train_args[DNNL_ARG_WORKSPACE] = ws;
      p.backward_args[DNNL_ARG_WORKSPACE] = ws;
    }
    return p;
  }

  Binding b_;
  Context c_;
  graph::Shape shape_;
  graph::BatchNorm spec_;
  BatchNormTensors t_;
  std::vector<float> mean_, var_;  // the last training pass's batch statistics
  std::map<int64_t, Plan> plans_;
};

}  // namespace

std::unique_ptr<CpuLayer> make_onednn_batch_norm(const graph::Layer& layer, int index,
                                                 const Binding& b, const Context& c) {
  return std::make_unique<OnednnBatchNorm>(layer, index, b, c);
}

}  // namespace gt::engine::cpu
