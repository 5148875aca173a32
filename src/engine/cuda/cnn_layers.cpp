// The CNN path's layers (see cnn_layers.h): Conv2D and BatchNorm on cuDNN plans with their
// fallbacks, Dense on cuBLASLt, the rest on the path's own kernels.
#include "engine/cuda/cnn_layers.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "common/error.h"
#include "engine/cuda/check.h"
#include "engine/cuda/device_buffer.h"

namespace gt::engine::cuda {
namespace {

void note(const CnnRun& run, const std::string& line) {
  if (run.notes && std::find(run.notes->begin(), run.notes->end(), line) == run.notes->end())
    run.notes->push_back(line);
}

// The plan of a problem: a deterministic engine where the run asks for one and one exists, else
// any engine (said in the notes); null with `why` when cuDNN has none.
template <typename Problem>
const CudnnPlan* find_plan(const CnnRun& run, const std::string& layer, const Problem& p,
                           std::string& why) {
  if (const CudnnPlan* plan = run.plans->find(p)) return plan;
  why = run.plans->why_unsupported(plan_key(p));
  if (!run.relaxed_plans) return nullptr;
  const CudnnPlan* plan = run.relaxed_plans->find(p);
  if (plan)
    note(run, fmt::format("{}: a non-deterministic cuDNN engine for {} (no deterministic one: {})",
                          layer, plan_key(p), why));
  return plan;
}

// Binds `plan` to `tensors` with a workspace of its own and runs it once now (in setup): whether
// cuDNN executes it, with the reason in `why` when it does not. The fallbacks of the fused
// convolution and of BatchNorm rest on this, so an engine that builds but fails to run costs a
// note, not the run.
template <typename Tensors>
bool runs_once(const CnnRun& run, const CudnnPlan& plan, const Tensors& tensors, std::string& why) {
  try {
    DeviceBuffer workspace(std::max<size_t>(plan.workspace_bytes(), 256), "a cuDNN trial");
    run.plans->bind(plan, tensors, workspace.get(), workspace.size()).run(run.stream);
    CUDA_CHECK(cudaStreamSynchronize(run.stream));
    return true;
  } catch (const gt::Error& e) {
    cudaGetLastError();
    why = fmt::format("{} failed to run: {}", plan.key(), e.what());
    return false;
  }
}

char* at(char* slab, const graph::TensorSlot& s, int element_bytes) {
  return slab + s.offset * element_bytes;
}

// ---- Conv2D ------------------------------------------------------------------------------------

class ConvLayer final : public CnnLayer {
 public:
  ConvLayer(const graph::Network& net, int index, const CnnRun& run, const CnnSlabs& slabs,
            const CnnTensors& t)
      : run_(run), t_(t), layer_(net.layers[size_t(index)]) {
    spec_ = std::get<graph::Conv2D>(layer_.spec);
    const int es = slabs.element_bytes;
    const graph::TensorSlot* w = slabs.layout->find(index, graph::TensorRole::weight);
    w_ = at(slabs.weights, *w, es);
    dw_ = at(slabs.grads, *w, es);
    if (const graph::TensorSlot* b = slabs.layout->find(index, graph::TensorRole::bias)) {
      b_ = at(slabs.weights, *b, es);
      db_ = at(slabs.grads, *b, es);
    }
    relu_ = relu_fused_into_previous(net, index + 1);
    geometry_ = same_padding(layer_.in.height, layer_.in.width, spec_.kernel, spec_.stride);
  }

  size_t prepare(int rows, bool training) override {
    if (!decided_) decide(rows);
    Calls& c = calls_[rows];
    size_t most = 0;
    auto need = [&](ConvOp op, const CudnnPlan*& plan) {
      std::string why;
      plan = find_plan(run_, layer_.name, problem(op, rows), why);
      if (!plan) throw gt::Error(fmt::format("{}: {}", layer_.name, why));
      most = std::max(most, plan->workspace_bytes());
    };
    need(fused_ ? ConvOp::forward_bias_relu : ConvOp::forward, c.forward_plan);
    if (training) {
      need(ConvOp::backward_filter, c.wgrad_plan);
      if (t_.dx) need(ConvOp::backward_data, c.dgrad_plan);
    }
    return most;
  }

  void bind(void* workspace, size_t bytes) override {
    for (auto& [rows, c] : calls_) {
      void* x = explicit_ ? xpad_.get() : t_.x;
      c.forward = run_.plans->bind(*c.forward_plan, ConvTensors{x, w_, t_.y, fused_ ? b_ : nullptr},
                                   workspace, bytes);
      if (c.wgrad_plan)
        c.wgrad =
            run_.plans->bind(*c.wgrad_plan, ConvTensors{x, dw_, t_.dy, nullptr}, workspace, bytes);
      if (c.dgrad_plan)
        c.dgrad = run_.plans->bind(
            *c.dgrad_plan, ConvTensors{explicit_ ? dxpad_.get() : t_.dx, w_, t_.dy, nullptr},
            workspace, bytes);
    }
  }

  void forward(int rows, CnnPass) override {
    const Calls& c = calls(rows);
    if (explicit_) launch_pad(run_.type, pad_shape(rows), t_.x, xpad_.get(), run_.stream);
    c.forward.run(run_.stream);
    if (!fused_ && b_)
      launch_bias_act(run_.type, t_.y, b_, rows * out_pixels(), layer_.out.channels, relu_, 0.0f, 0,
                      0, run_.state, run_.stream);
  }

  void backward(int rows, bool need_dx) override {
    const Calls& c = calls(rows);
    const int64_t n = rows * out_pixels() * layer_.out.channels;
    if (relu_) launch_relu_backward(run_.type, t_.dy, t_.y, n, run_.stream);
    if (db_)
      launch_channel_sum(run_.type, t_.dy, rows * out_pixels(), layer_.out.channels, run_.reduction,
                         db_, run_.stream);
    c.wgrad.run(run_.stream);
    if (!need_dx) return;
    c.dgrad.run(run_.stream);
    if (explicit_) launch_crop(run_.type, pad_shape(rows), dxpad_.get(), t_.dx, run_.stream);
  }

 private:
  struct Calls {
    const CudnnPlan *forward_plan = nullptr, *wgrad_plan = nullptr, *dgrad_plan = nullptr;
    CudnnCall forward, wgrad, dgrad;
  };

  const Calls& calls(int rows) const {
    const auto it = calls_.find(rows);
    if (it == calls_.end())
      throw gt::Error(fmt::format("internal: {} has no plans for {} rows", layer_.name, rows));
    return it->second;
  }

  int64_t out_pixels() const { return int64_t(layer_.out.height) * layer_.out.width; }
  bool asymmetric() const {
    return geometry_.pad_top != geometry_.pad_bottom || geometry_.pad_left != geometry_.pad_right;
  }

  PadShape pad_shape(int rows) const {
    return PadShape{rows,
                    layer_.in.height,
                    layer_.in.width,
                    layer_.in.channels,
                    geometry_.pad_top,
                    geometry_.pad_left,
                    geometry_.pad_bottom,
                    geometry_.pad_right};
  }

  ConvProblem problem(ConvOp op, int rows) const {
    const graph::Shape& in = layer_.in;
    if (!explicit_)
      return conv_problem(op, run_.precision, rows, in.height, in.width, in.channels, spec_.filters,
                          spec_.kernel, geometry_);
    ConvGeometry g;
    g.stride_h = g.stride_w = spec_.stride;
    return conv_problem(op, run_.precision, rows,
                        in.height + geometry_.pad_top + geometry_.pad_bottom,
                        in.width + geometry_.pad_left + geometry_.pad_right, in.channels,
                        spec_.filters, spec_.kernel, g);
  }

  // Once: explicit padding when cuDNN cannot run the asymmetric padding, and whether the fused
  // bias + ReLU graph runs.
  void decide(int rows) {
    decided_ = true;
    std::string why;
    if (asymmetric() && !find_plan(run_, layer_.name, problem(ConvOp::forward, rows), why)) {
      explicit_ = true;
      const PadShape s = pad_shape(run_.capacity);
      const size_t bytes = size_t(s.batch) * (s.height + s.top + s.bottom) *
                           (s.width + s.left + s.right) * s.channels *
                           element_bytes(run_.precision);
      xpad_.allocate(bytes, "a padded convolution input");
      if (t_.dx) dxpad_.allocate(bytes, "a padded convolution input gradient");
      CUDA_CHECK(cudaMemset(xpad_.get(), 0, bytes));
      note(run_, fmt::format("{}: explicit zero padding (cuDNN has no engine for the asymmetric "
                             "padding: {})",
                             layer_.name, why));
    }
    if (b_ && relu_ && run_.fused_conv) {
      const CudnnPlan* plan =
          find_plan(run_, layer_.name, problem(ConvOp::forward_bias_relu, rows), why);
      fused_ = plan && runs_once(run_, *plan,
                                 ConvTensors{explicit_ ? xpad_.get() : t_.x, w_, t_.y, b_}, why);
      if (!fused_)
        note(run_, fmt::format("{}: convolution, then the bias and ReLU kernel (no fused conv + "
                               "bias + ReLU engine: {})",
                               layer_.name, why));
    }
  }

  CnnRun run_;
  CnnTensors t_;
  graph::Layer layer_;
  graph::Conv2D spec_;
  ConvGeometry geometry_;
  void *w_ = nullptr, *dw_ = nullptr, *b_ = nullptr, *db_ = nullptr;
  bool relu_ = false, fused_ = false, explicit_ = false, decided_ = false;
  DeviceBuffer xpad_, dxpad_;
  std::map<int, Calls> calls_;
};

// ---- BatchNorm ---------------------------------------------------------------------------------

class BatchNormLayer final : public CnnLayer {
 public:
  BatchNormLayer(const graph::Network& net, int index, const CnnRun& run, const CnnSlabs& slabs,
                 const CnnTensors& t)
      : run_(run), t_(t), layer_(net.layers[size_t(index)]) {
    const auto spec = std::get<graph::BatchNorm>(layer_.spec);
    const int C = layer_.in.channels;
    const int stride = (C + 63) / 64 * 64;  // each vector 256-byte aligned, as cuDNN's are
    scratch_.allocate(size_t(9) * stride * sizeof(float), "BatchNorm statistics");
    float* s = scratch_.get<float>();
    auto slot = [&](graph::TensorRole role) { return slabs.layout->find(index, role)->offset; };
    a_.channels = C;
    a_.eps = spec.eps;
    a_.momentum = spec.momentum;
    a_.gamma = slabs.master + slot(graph::TensorRole::gamma);
    a_.beta = slabs.master + slot(graph::TensorRole::beta);
    a_.running_mean = slabs.master + slot(graph::TensorRole::running_mean);
    a_.running_var = slabs.master + slot(graph::TensorRole::running_var);
    a_.grad_gamma = slabs.grads32 + slot(graph::TensorRole::gamma);
    a_.grad_beta = slabs.grads32 + slot(graph::TensorRole::beta);
    a_.mean = s;
    a_.inv_std = s + stride;
    a_.scale = s + 2 * stride;
    a_.shift = s + 3 * stride;
    a_.dx_scale = s + 4 * stride;
    a_.dbeta_m = s + 5 * stride;
    a_.dgamma_m = s + 6 * stride;
    running_out_ = s + 7 * stride;  // cuDNN's updated running mean, then its variance
    stride_ = stride;
    a_.partial = run.reduction;
    a_.relu = relu_fused_into_previous(net, index + 1);
  }

  size_t prepare(int rows, bool training) override {
    // cuDNN's backward graph always writes dx: a BatchNorm that needs none runs its own kernels.
    if (!training || !run_.cudnn_batchnorm || !t_.dx) return 0;
    Calls& c = calls_[rows];
    const graph::Shape& s = layer_.in;
    const BatchNormProblem fwd = batchnorm_problem(BatchNormOp::forward_training, run_.precision,
                                                   rows, s.height, s.width, s.channels);
    const BatchNormProblem bwd = batchnorm_problem(BatchNormOp::backward, run_.precision, rows,
                                                   s.height, s.width, s.channels);
    std::string why;
    c.forward_plan = find_plan(run_, layer_.name, fwd, why);
    c.backward_plan = c.forward_plan ? find_plan(run_, layer_.name, bwd, why) : nullptr;
    if (c.forward_plan && c.backward_plan &&
        (!runs_once(run_, *c.forward_plan, forward_tensors(), why) ||
         !runs_once(run_, *c.backward_plan, backward_tensors(), why)))
      c.forward_plan = nullptr;
    if (!c.forward_plan || !c.backward_plan) {
      note(run_, fmt::format("{}: own BatchNorm kernels ({})", layer_.name, why));
      c.forward_plan = c.backward_plan = nullptr;
      return 0;
    }
    return std::max(c.forward_plan->workspace_bytes(), c.backward_plan->workspace_bytes());
  }

  void bind(void* workspace, size_t bytes) override {
    for (auto& [rows, c] : calls_) {
      if (!c.forward_plan) continue;
      c.forward = run_.plans->bind(*c.forward_plan, forward_tensors(), workspace, bytes);
      c.backward = run_.plans->bind(*c.backward_plan, backward_tensors(), workspace, bytes);
    }
  }

  void forward(int rows, CnnPass pass) override {
    BatchNormArgs a = args(rows);
    if (pass == CnnPass::eval) {
      launch_batchnorm_forward_eval(run_.type, a, t_.x, t_.y, run_.stream);
      return;
    }
    if (const Calls* c = cudnn_calls(rows)) {
      c->forward.run(run_.stream);
      for (int k = 0; k < 2; ++k)  // the updated running statistics into the master slab
        CUDA_CHECK(cudaMemcpyAsync(k == 0 ? a.running_mean : a.running_var,
                                   running_out_ + k * stride_, a.channels * sizeof(float),
                                   cudaMemcpyDeviceToDevice, run_.stream));
      if (a.relu) launch_relu(run_.type, t_.y, t_.y, a.pixels * a.channels, run_.stream);
      return;
    }
    launch_batchnorm_forward_train(run_.type, a, t_.x, t_.y, true, run_.stream);
  }

  void backward(int rows, bool need_dx) override {
    BatchNormArgs a = args(rows);
    if (const Calls* c = cudnn_calls(rows)) {
      if (a.relu) launch_relu_backward(run_.type, t_.dy, t_.y, a.pixels * a.channels, run_.stream);
      c->backward.run(run_.stream);  // dx too: the graph always writes it
      return;
    }
    launch_batchnorm_backward(run_.type, a, t_.x, t_.y, t_.dy, need_dx ? t_.dx : nullptr,
                              run_.stream);
  }

 private:
  struct Calls {
    const CudnnPlan *forward_plan = nullptr, *backward_plan = nullptr;
    CudnnCall forward, backward;
  };

  // cuDNN's buffers: the running statistics read from the master slab and written beside it
  // (copied back after each forward pass), the saved statistics in the layer's scratch.
  BatchNormForwardTensors forward_tensors() const {
    BatchNormForwardTensors f;
    f.x = t_.x;
    f.y = t_.y;
    f.scale = a_.gamma;
    f.bias = a_.beta;
    f.running_mean_in = a_.running_mean;
    f.running_var_in = a_.running_var;
    f.running_mean_out = running_out_;
    f.running_var_out = running_out_ + stride_;
    f.saved_mean = a_.mean;
    f.saved_inv_std = a_.inv_std;
    f.epsilon = a_.eps;
    f.momentum = a_.momentum;
    return f;
  }
  BatchNormBackwardTensors backward_tensors() const {
    BatchNormBackwardTensors b;
    b.x = t_.x;
    b.dy = t_.dy;
    b.scale = a_.gamma;
    b.saved_mean = a_.mean;
    b.saved_inv_std = a_.inv_std;
    b.dx = t_.dx;
    b.dscale = a_.grad_gamma;
    b.dbias = a_.grad_beta;
    return b;
  }

  const Calls* cudnn_calls(int rows) const {
    const auto it = calls_.find(rows);
    return it != calls_.end() && it->second.forward_plan ? &it->second : nullptr;
  }

  BatchNormArgs args(int rows) const {
    BatchNormArgs a = a_;
    a.pixels = int64_t(rows) * layer_.in.height * layer_.in.width;
    return a;
  }

  CnnRun run_;
  CnnTensors t_;
  graph::Layer layer_;
  BatchNormArgs a_;
  DeviceBuffer scratch_;
  float* running_out_ = nullptr;
  int stride_ = 0;
  std::map<int, Calls> calls_;
};

// ---- Dense (cuBLASLt) --------------------------------------------------------------------------

class DenseLayer final : public CnnLayer {
 public:
  DenseLayer(const graph::Network& net, int index, const CnnRun& run, const CnnSlabs& slabs,
             const CnnTensors& t)
      : run_(run), t_(t) {
    const graph::Layer& layer = net.layers[size_t(index)];
    in_ = int(layer.in.size());
    out_ = layer.out.channels;
    const int es = slabs.element_bytes;
    const graph::TensorSlot* w = slabs.layout->find(index, graph::TensorRole::weight);
    const graph::TensorSlot* b = slabs.layout->find(index, graph::TensorRole::bias);
    w_ = at(slabs.weights, *w, es);
    dw_ = at(slabs.grads, *w, es);
    b_ = at(slabs.weights, *b, es);
    db_ = at(slabs.grads, *b, es);
  }

  size_t prepare(int rows, bool training) override {
    run_.gemm->supported(forward_call(rows));  // builds the plans now
    run_.gemm->supported(with_bias(forward_call(rows)));
    if (training) {
      run_.gemm->supported(wgrad_call(rows));
      run_.gemm->supported(with_bias_grad(wgrad_call(rows)));
      run_.gemm->supported(dgrad_call(rows));
    }
    return 0;
  }

  void forward(int rows, CnnPass) override {
    if (run_.fused_epilogues && run_.gemm->supported(with_bias(forward_call(rows)))) {
      run_.gemm->run(with_bias(forward_call(rows)), run_.stream);
      return;
    }
    run_.gemm->run(forward_call(rows), run_.stream);
    launch_bias_act(run_.type, t_.y, b_, rows, out_, false, 0.0f, 0, 0, run_.state, run_.stream);
  }

  void backward(int rows, bool need_dx) override {
    if (run_.fused_epilogues && run_.gemm->supported(with_bias_grad(wgrad_call(rows)))) {
      run_.gemm->run(with_bias_grad(wgrad_call(rows)), run_.stream);
    } else {
      run_.gemm->run(wgrad_call(rows), run_.stream);
      launch_bias_grad(run_.type, t_.dy, rows, out_, db_, run_.stream);
    }
    if (need_dx) run_.gemm->run(dgrad_call(rows), run_.stream);
  }

 private:
  // Column-major as cuBLASLt sees the row-major tensors: Y[rows][out] = X·Wᵀ is Yᵀ = W·Xᵀ.
  GemmCall forward_call(int rows) const {
    GemmCall c;
    c.trans_a = true;
    c.m = out_;
    c.n = rows;
    c.k = in_;
    c.a = w_;
    c.lda = in_;
    c.b = t_.x;
    c.ldb = in_;
    c.d = t_.y;
    c.ldd = out_;
    return c;
  }
  GemmCall with_bias(GemmCall c) const {
    c.epilogue = Epilogue::bias;
    c.bias = b_;
    return c;
  }
  // dW[out][in] = dYᵀ·X.
  GemmCall wgrad_call(int rows) const {
    GemmCall c;
    c.trans_b = true;
    c.m = in_;
    c.n = out_;
    c.k = rows;
    c.a = t_.x;
    c.lda = in_;
    c.b = t_.dy;
    c.ldb = out_;
    c.d = dw_;
    c.ldd = in_;
    return c;
  }
  GemmCall with_bias_grad(GemmCall c) const {
    c.epilogue = Epilogue::bgradb;
    c.bias = db_;
    return c;
  }
  // dX[rows][in] = dY·W.
  GemmCall dgrad_call(int rows) const {
    GemmCall c;
    c.m = in_;
    c.n = rows;
    c.k = out_;
    c.a = w_;
    c.lda = in_;
    c.b = t_.dy;
    c.ldb = out_;
    c.d = t_.dx;
    c.ldd = in_;
    return c;
  }

  CnnRun run_;
  CnnTensors t_;
  int in_ = 0, out_ = 0;
  void *w_ = nullptr, *dw_ = nullptr, *b_ = nullptr, *db_ = nullptr;
};

// ---- pooling and element-wise layers -----------------------------------------------------------

class MaxPoolLayer final : public CnnLayer {
 public:
  MaxPoolLayer(const graph::Layer& layer, const CnnRun& run, const CnnTensors& t)
      : run_(run), t_(t) {
    const auto spec = std::get<graph::MaxPool2D>(layer.spec);
    shape_ = PoolShape{0,
                       layer.in.height,
                       layer.in.width,
                       layer.in.channels,
                       layer.out.height,
                       layer.out.width,
                       spec.pool,
                       spec.stride};
  }
  void forward(int rows, CnnPass) override {
    launch_max_pool_forward(run_.type, shape(rows), t_.x, t_.y, run_.stream);
  }
  void backward(int rows, bool need_dx) override {
    if (need_dx) launch_max_pool_backward(run_.type, shape(rows), t_.x, t_.dy, t_.dx, run_.stream);
  }

 private:
  PoolShape shape(int rows) const {
    PoolShape s = shape_;
    s.batch = rows;
    return s;
  }
  CnnRun run_;
  CnnTensors t_;
  PoolShape shape_;
};

class GlobalAvgPoolLayer final : public CnnLayer {
 public:
  GlobalAvgPoolLayer(const graph::Layer& layer, const CnnRun& run, const CnnTensors& t)
      : run_(run),
        t_(t),
        positions_(int64_t(layer.in.height) * layer.in.width),
        channels_(layer.in.channels) {}
  void forward(int rows, CnnPass) override {
    launch_global_avg_pool_forward(run_.type, rows, positions_, channels_, t_.x, t_.y, run_.stream);
  }
  void backward(int rows, bool need_dx) override {
    if (need_dx)
      launch_global_avg_pool_backward(run_.type, rows, positions_, channels_, t_.dy, t_.dx,
                                      run_.stream);
  }

 private:
  CnnRun run_;
  CnnTensors t_;
  int64_t positions_;
  int channels_;
};

class ReluLayer final : public CnnLayer {
 public:
  ReluLayer(const graph::Layer& layer, const CnnRun& run, const CnnTensors& t)
      : run_(run), t_(t), size_(layer.in.size()) {}
  void forward(int rows, CnnPass) override {
    launch_relu(run_.type, t_.x, t_.y, rows * size_, run_.stream);
  }
  void backward(int rows, bool need_dx) override {
    if (!need_dx) return;
    const int64_t n = rows * size_;
    CUDA_CHECK(cudaMemcpyAsync(t_.dx, t_.dy, size_t(n) * dtype_size(run_.type),
                               cudaMemcpyDeviceToDevice, run_.stream));
    launch_relu_backward(run_.type, t_.dx, t_.y, n, run_.stream);
  }

 private:
  CnnRun run_;
  CnnTensors t_;
  int64_t size_;
};

class DropoutLayer final : public CnnLayer {
 public:
  DropoutLayer(const graph::Layer& layer, int index, const CnnRun& run, const CnnTensors& t)
      : run_(run),
        t_(t),
        size_(layer.in.size()),
        rate_(std::get<graph::Dropout>(layer.spec).rate),
        salt_(index) {}
  void forward(int rows, CnnPass pass) override {
    dropped_ = pass == CnnPass::train && rate_ > 0;
    apply(t_.x, t_.y, rows);
  }
  void backward(int rows, bool need_dx) override {
    if (need_dx) apply(t_.dy, t_.dx, rows);
  }

 private:
  // The forward pass's mask (recomputed from the same hash), or a copy when nothing is dropped.
  void apply(const void* from, void* to, int rows) const {
    const int64_t n = rows * size_;
    if (dropped_)
      launch_dropout(run_.type, from, to, n, rate_, run_.seed, salt_, run_.state, run_.stream);
    else
      CUDA_CHECK(cudaMemcpyAsync(to, from, size_t(n) * dtype_size(run_.type),
                                 cudaMemcpyDeviceToDevice, run_.stream));
  }
  CnnRun run_;
  CnnTensors t_;
  int64_t size_;
  float rate_;
  int salt_;
  bool dropped_ = false;
};

class PassThrough final : public CnnLayer {
 public:
  void forward(int, CnnPass) override {}
  void backward(int, bool) override {}
  bool aliases_input() const override { return true; }
};

}  // namespace

bool relu_fused_into_previous(const graph::Network& net, int index) {
  if (index <= 0 || index >= int(net.layers.size()) ||
      !std::holds_alternative<graph::ReLU>(net.layers[size_t(index)].spec))
    return false;
  const graph::LayerSpec& before = net.layers[size_t(index - 1)].spec;
  if (std::holds_alternative<graph::BatchNorm>(before)) return true;
  const auto* conv = std::get_if<graph::Conv2D>(&before);
  return conv != nullptr && conv->bias;
}

std::unique_ptr<CnnLayer> make_cnn_layer(const graph::Network& net, int index, const CnnRun& run,
                                         const CnnSlabs& slabs, const CnnTensors& tensors) {
  const graph::Layer& layer = net.layers[size_t(index)];
  const graph::LayerSpec& spec = layer.spec;
  if (std::holds_alternative<graph::Conv2D>(spec))
    return std::make_unique<ConvLayer>(net, index, run, slabs, tensors);
  if (std::holds_alternative<graph::BatchNorm>(spec))
    return std::make_unique<BatchNormLayer>(net, index, run, slabs, tensors);
  if (std::holds_alternative<graph::Dense>(spec))
    return std::make_unique<DenseLayer>(net, index, run, slabs, tensors);
  if (std::holds_alternative<graph::MaxPool2D>(spec))
    return std::make_unique<MaxPoolLayer>(layer, run, tensors);
  if (std::holds_alternative<graph::GlobalAvgPool>(spec))
    return std::make_unique<GlobalAvgPoolLayer>(layer, run, tensors);
  if (std::holds_alternative<graph::ReLU>(spec)) {
    if (relu_fused_into_previous(net, index)) return std::make_unique<PassThrough>();
    return std::make_unique<ReluLayer>(layer, run, tensors);
  }
  if (std::holds_alternative<graph::Dropout>(spec))
    return std::make_unique<DropoutLayer>(layer, index, run, tensors);
  return std::make_unique<PassThrough>();  // Flatten
}

}  // namespace gt::engine::cuda
