// The CUDA backend: an MLP trained entirely on one GPU. setup() sizes and allocates every buffer
// (parameter slabs, FP32 master weights and moments, activations, ReLU bit-masks, the training
// set as resident bytes, the cuBLASLt workspace), warms the kernels up and captures a run of
// training steps as CUDA graphs; an epoch is then a handful of graph launches and one read-back.
// A step = gather (shuffle + normalise + cast on the GPU) → per layer one cuBLASLt GEMM with a
// fused bias/ReLU(+bit-mask) epilogue → fused softmax-CE → weight-gradient GEMMs (bias gradient
// fused) and input-gradient GEMMs (dReLU and bias gradient fused) → fused optimizer that keeps the
// loss scale and step counters on the device. No host synchronisation inside an epoch.
// One-hidden-layer MLPs small enough for fused_mlp.h skip all of that: an epoch is one persistent
// cooperative kernel, evaluation one forward kernel, and cuBLASLt is never initialised unless a
// debug batch needs the GEMM path. The backend runs networks that are MLPs (as_mlp, backend.h;
// make_cuda_backend hands the others to the CNN path, cnn_backend.cpp); its slabs follow the
// network's parameter layout (graph/param_layout.h), so values cross the interface as one copy.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/trace.h"
#include "engine/backend.h"
#include "engine/cuda/check.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/device_buffer.h"
#include "engine/cuda/device_state.h"
#include "engine/cuda/device_state_io.h"
#include "engine/cuda/fused_mlp.h"
#include "engine/cuda/gemm.h"
#include "engine/cuda/kernels.h"
#include "engine/graph/init.h"

namespace gt::engine {
namespace cuda {
namespace {

constexpr int kEvalRows = 1024;  // rows per forward pass in evaluate()
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

int64_t align_up(int64_t x, int64_t a) { return (x + a - 1) / a * a; }
static_assert(graph::kSlabAlign % 128 == 0, "tensors in a slab start 256-byte aligned");

struct Layer {
  int in = 0, out = 0;
  int64_t w_offset = 0, b_offset = 0;  // elements into the parameter slabs
};

enum class Pass { train, debug, eval };  // train: masks + dropout; debug: masks; eval: neither

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const CudaOptions& options) : device_(device), options_(options) {
    const int count = cuda_device_count();
    if (count == 0)
      throw gt::Error("no usable CUDA device (no NVIDIA driver or no GPU); use --device cpu");
    if (device < 0 || device >= count)
      throw gt::Error("cuda:" + std::to_string(device) + " does not exist (this machine has " +
                      std::to_string(count) + " CUDA device" + (count == 1 ? "" : "s") + ")");
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaFree(nullptr));  // creates the context
    trace_point("CUDA context created");
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    name_ = prop.name;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    trace_point("CUDA backend ready");
  }

  ~CudaBackend() override {
    cudaSetDevice(device_);
    if (stream_) cudaStreamSynchronize(stream_);
    for (auto& g : graphs_)
      if (g.exec) cudaGraphExecDestroy(g.exec);
    gemm_.reset();
    if (host_counters_) cudaFreeHost(host_counters_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  std::string describe() const override {
    return "cuda:" + std::to_string(device_) + " " + name_ + (fused_ ? " (fused MLP kernel)" : "");
  }

  void setup(const graph::Network& net, const OptimizerSpec& opt, Precision precision,
             int batch_size, const Dataset& train, uint64_t seed) override {
    CUDA_CHECK(cudaSetDevice(device_));
    if (setup_done_) throw gt::Error("CUDA backend: setup() called twice");
    const std::optional<ModelSpec> mlp = as_mlp(net);
    if (!mlp)
      throw gt::UsageError("the CUDA backend trains MLPs (mlp:…) only; use --device cpu for " +
                           net.text);
    const ModelSpec& model = *mlp;
    validate_model(model);
    check_dataset(train, model, "training set");
    if (batch_size <= 0 || batch_size > train.rows)
      throw gt::Error("batch size " + std::to_string(batch_size) + " must be between 1 and the " +
                      std::to_string(train.rows) + " training rows");
    model_ = model;
    opt_ = opt;
    policy_ = policy_for(precision);
    dtype_ = policy_.storage;
    es_ = dtype_size(dtype_);
    batch_ = batch_size;
    seed_ = seed;
    train_rows_ = train.rows;
    capacity_ = std::max(batch_size, kEvalRows);

    // Layers, at the offsets of the network's parameter layout (a weight and a bias per Dense).
    layout_ = graph::layout_of(net);
    for (size_t s = 0; s + 1 < layout_.slots.size(); s += 2) {
      const graph::TensorSlot& w = layout_.slots[s];
      Layer layer;
      layer.in = w.shape[1];
      layer.out = w.shape[0];
      layer.w_offset = w.offset;
      layer.b_offset = layout_.slots[s + 1].offset;
      layers_.push_back(layer);
    }
    slab_elements_ = layout_.elements;

    // Every buffer of the run, once.
    const size_t n = size_t(slab_elements_);
    master_.allocate(n * 4, "the FP32 master weights");
    grads_.allocate(n * es_, "the gradients");
    moment1_.allocate(n * 4, "the optimizer moments");
    if (opt_.kind == OptimizerSpec::Kind::adam) moment2_.allocate(n * 4, "the optimizer moments");
    if (dtype_ != DType::f32) copy_.allocate(n * es_, "the half-precision weight copy");
    state_.allocate(sizeof(DeviceState), "the training state");
    workspace_.allocate(kWorkspaceBytes, "the cuBLASLt workspace");
    x0_.allocate(size_t(capacity_) * model.inputs * es_, "the input batch");
    batch_labels_.allocate(size_t(capacity_) * 4, "the batch labels");
    for (const Layer& layer : layers_) {
      acts_.emplace_back(size_t(capacity_) * layer.out * es_, "the activations");
      dacts_.emplace_back(size_t(capacity_) * layer.out * es_, "the activation gradients");
      masks_.emplace_back(size_t(align_up(layer.out, 128) / 8) * capacity_, "the ReLU bit-masks");
    }
    mask_valid_.assign(layers_.size(), false);
    bias_done_.assign(layers_.size(), false);
    upload_dataset(train, train_data_, train_labels_, "the training set");
    CUDA_CHECK(cudaMemsetAsync(grads_.get(), 0, n * es_, stream_));
    CUDA_CHECK(cudaMallocHost(&host_counters_, sizeof(EpochCounters)));
    train_u8_ = !train.u8.empty();
    fused_ =
        options_.fused_mlp && model.hidden.size() == 1 && model.dropout == 0 &&
        fused_mlp_supported(dtype_, policy_.tf32_gemm, fused_shape(train_u8_), batch_size, device_);
    if (fused_) {
      exchange_.allocate(fused_exchange_words(model.hidden[0], model.classes) * 8,
                         "the fused kernel's exchange buffer");
      if (const char* env = std::getenv("GREENTRAIN_FUSED_PROFILE"); env && *env && *env != '0')
        profile_.allocate(kFusedProfilePhases * sizeof(unsigned long long),
                          "the fused kernel's profile");
    }
    train_source_ = source_on(train, train_data_, train_labels_);
    train_source_.counter = &dstate()->epoch;
    train_source_.stride_rows = batch_;
    train_source_.shuffle = true;

    if (fused_) {  // nothing to warm up or capture: one kernel per epoch
      setup_done_ = true;
      set_values(graph::initial_values(layout_, seed));
      return;
    }
    set_values(graph::initial_values(layout_, seed));
    // Warm-up: one eager step of each batch shape loads the kernels and builds every GEMM plan;
    // set_values() below undoes its update.
    GatherSource warm = train_source_;
    warm.counter = nullptr;
    warm.fixed_offset = 0;
    record_step(warm, batch_, false);
    const int tail = int(train_rows_ % batch_);
    if (tail > 0) record_step(warm, tail, false);
    if (model_.dropout > 0) record_step(warm, batch_, true);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (options_.graphs) build_graphs();
    setup_done_ = true;
    set_values(graph::initial_values(layout_, seed));
  }

  const graph::ParamLayout& layout() const override { return layout_; }

  void set_values(std::span<const float> slab) override {
    CUDA_CHECK(cudaSetDevice(device_));
    if (slab.size() != size_t(slab_elements_))
      throw gt::Error("internal: " + std::to_string(slab.size()) + " values for a model of " +
                      std::to_string(slab_elements_));
    load_parameters(
        slab,
        {master_.get<float>(), copy_.get(), moment1_.get<float>(), moment2_.get<float>(), dstate()},
        dtype_, policy_, stream_);
  }

  std::vector<float> values() override {
    CUDA_CHECK(cudaSetDevice(device_));
    std::vector<float> slab(static_cast<size_t>(slab_elements_));
    download(slab.data(), master_.get(), slab.size() * 4);
    return slab;
  }

  EpochStats train_epoch(int epoch) override {
    CUDA_CHECK(cudaSetDevice(device_));
    const auto start = std::chrono::steady_clock::now();
    start_epoch(dstate(), host_counters_, seed_, epoch, train_rows_, stream_);
    const int64_t full = train_rows_ / batch_;
    const int tail = int(train_rows_ % batch_);
    const bool dropout = model_.dropout > 0;
    if (fused_) {
      FusedMlpArgs a = fused_args(train_source_);
      a.steps = (train_rows_ + batch_ - 1) / batch_;
      if (profile_.get()) {
        CUDA_CHECK(cudaMemsetAsync(profile_.get(), 0, profile_.size(), stream_));
        a.profile = profile_.get<unsigned long long>();
      }
      launch_fused_mlp_train(dtype_, policy_.tf32_gemm, a, stream_);
    } else if (options_.graphs) {
      for (int64_t s = 0; s + graph_chunk_.steps <= full; s += graph_chunk_.steps)
        CUDA_CHECK(cudaGraphLaunch(graph_chunk_.exec, stream_));
      if (graph_rest_.exec) CUDA_CHECK(cudaGraphLaunch(graph_rest_.exec, stream_));
      if (graph_tail_.exec) CUDA_CHECK(cudaGraphLaunch(graph_tail_.exec, stream_));
    } else {
      for (int64_t s = 0; s < full; ++s) record_step(train_source_, batch_, dropout);
      if (tail > 0) record_step(train_source_, tail, dropout);
    }
    const EpochStats stats = finish_epoch(dstate(), host_counters_, start, stream_);
    if (fused_ && profile_.get()) print_profile(epoch);
    return stats;
  }

  EvalStats evaluate(const Dataset& data) override {
    CUDA_CHECK(cudaSetDevice(device_));
    check_dataset(data, model_, "evaluation set");
    EvalStats result;
    if (data.rows == 0) return result;
    upload_dataset(data, eval_data_, eval_labels_, "the evaluation set");
    GatherSource src = source_for(data);
    reset_eval_sums();
    if (fused_) {
      FusedMlpArgs a = fused_args(src);
      launch_fused_mlp_eval(dtype_, policy_.tf32_gemm, a, data.rows, stream_);
    }
    for (int64_t first = fused_ ? data.rows : 0; first < data.rows; first += capacity_) {
      const int rows = int(std::min<int64_t>(capacity_, data.rows - first));
      src.fixed_offset = first;
      launch_gather(src, rows, dtype_, x0_.get(), batch_labels_.get<int32_t>(), stream_);
      forward(rows, Pass::eval);
      launch_softmax_ce(dtype_, acts_.back().get(), batch_labels_.get<int32_t>(), rows,
                        model_.classes, nullptr, nullptr, &dstate()->eval_loss,
                        &dstate()->eval_correct, stream_);
    }
    double loss = 0;
    uint64_t correct = 0;
    read_eval_sums(loss, correct);
    result.loss = loss / double(data.rows);
    result.accuracy = double(correct) / double(data.rows);
    return result;
  }

  float loss_scale() const override {
    float scale = 1.0f;
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaMemcpyAsync(&scale, &dstate()->loss_scale, sizeof scale, cudaMemcpyDeviceToHost,
                               stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return scale;
  }

  StepDebug debug_step(const Dataset& batch) override {
    CUDA_CHECK(cudaSetDevice(device_));
    const int rows = debug_rows(batch);
    upload_dataset(batch, eval_data_, eval_labels_, "the debug batch");
    GatherSource src = source_for(batch);
    reset_eval_sums();
    if (fused_for(batch)) {
      FusedMlpArgs a = fused_args(src);
      a.batch = rows;
      a.steps = 1;
      a.debug = true;
      a.debug_logits = acts_.back().get();
      launch_fused_mlp_train(dtype_, policy_.tf32_gemm, a, stream_);
    } else {
      launch_gather(src, rows, dtype_, x0_.get(), batch_labels_.get<int32_t>(), stream_);
      forward(rows, Pass::debug);
      launch_softmax_ce(dtype_, acts_.back().get(), batch_labels_.get<int32_t>(), rows,
                        model_.classes, dacts_.back().get(), scale_pointer(), &dstate()->eval_loss,
                        &dstate()->eval_correct, stream_);
      backward(rows, false);
    }
    double loss = 0;
    uint64_t correct = 0;
    read_eval_sums(loss, correct);
    StepDebug out;
    out.loss = float(loss / rows);
    const size_t logit_count = size_t(rows) * model_.classes;
    std::vector<char> raw(logit_count * es_);
    download(raw.data(), acts_.back().get(), raw.size());
    out.logits = to_floats(raw, dtype_, logit_count);
    raw.resize(size_t(slab_elements_) * es_);
    download(raw.data(), grads_.get(), raw.size());
    std::vector<float> grads = to_floats(raw, dtype_, size_t(slab_elements_));
    const float scale = loss_scale();
    for (float& g : grads) g /= scale;
    out.grads = dense_view(layout_, grads);
    out.grad_values = std::move(grads);
    return out;
  }

  std::vector<float> debug_steps(const Dataset& batch, int steps) override {
    CUDA_CHECK(cudaSetDevice(device_));
    const int rows = debug_rows(batch);
    upload_dataset(batch, eval_data_, eval_labels_, "the debug batch");
    GatherSource src = source_for(batch);
    std::vector<float> losses;
    if (fused_for(batch) && steps > 0) {
      if (step_losses_.size() < size_t(steps) * 4)
        step_losses_.allocate(size_t(steps) * 4, "the debug step losses");
      FusedMlpArgs a = fused_args(src);
      a.batch = rows;
      a.steps = steps;
      a.step_losses = step_losses_.get<float>();
      launch_fused_mlp_train(dtype_, policy_.tf32_gemm, a, stream_);
      losses.resize(size_t(steps));
      download(losses.data(), step_losses_.get(), losses.size() * 4);
      return losses;
    }
    for (int s = 0; s < steps; ++s) {
      record_step(src, rows, false);
      float loss = 0;
      download(&loss, &dstate()->last_step_loss, sizeof loss);
      losses.push_back(loss);
    }
    return losses;
  }

 private:
  struct Graph {
    cudaGraphExec_t exec = nullptr;
    int64_t steps = 0;
  };

  DeviceState* dstate() const { return state_.get<DeviceState>(); }

  FusedShape fused_shape(bool u8_input) const {
    return FusedShape{model_.inputs, model_.hidden.empty() ? 0 : model_.hidden[0], model_.classes,
                      u8_input};
  }
  // A fixed batch takes the fused kernel when it fits it like the training set does.
  bool fused_for(const Dataset& batch) const {
    return fused_ && batch.rows <= kFusedMaxRows && !batch.u8.empty() == train_u8_;
  }
  // The optimizer's buffers, hyperparameters and loss-scaling state, which the fused kernel's
  // arguments and the optimizer kernel's share.
  template <class Args>
  void set_update_args(Args& a) const {
    a.master = master_.get<float>();
    a.m = moment1_.get<float>();
    a.v = moment2_.get<float>();
    a.copy = dtype_ == DType::f32 ? nullptr : copy_.get();
    a.grads = grads_.get();
    a.adam = opt_.kind == OptimizerSpec::Kind::adam;
    a.lr = opt_.lr;
    a.beta1 = opt_.beta1;
    a.beta2 = opt_.beta2;
    a.eps = opt_.eps;
    a.momentum = opt_.momentum;
    a.loss_scaling = policy_.loss_scaling;
    a.growth_interval = policy_.growth_interval;
    a.state = dstate();
  }
  FusedMlpArgs fused_args(const GatherSource& src) const {
    FusedMlpArgs a;
    a.inputs = model_.inputs;
    a.hidden = model_.hidden[0];
    a.classes = model_.classes;
    a.batch = batch_;
    a.u8_input = src.u8 != nullptr;
    a.input = a.u8_input ? static_cast<const void*>(src.u8) : static_cast<const void*>(src.f32);
    a.labels = src.labels;
    a.data_rows = src.rows;
    a.scale = src.scale;
    a.shuffle = src.shuffle;
    a.fixed = src.counter == nullptr;
    a.fixed_offset = src.fixed_offset;
    set_update_args(a);
    a.w1 = layers_[0].w_offset;
    a.b1 = layers_[0].b_offset;
    a.w2 = layers_[1].w_offset;
    a.b2 = layers_[1].b_offset;
    a.exchange = exchange_.get<unsigned long long>();
    return a;
  }
  // GREENTRAIN_FUSED_PROFILE=1: block 0's clock cycles per step in each phase, on stderr.
  void print_profile(int epoch) const {
    unsigned long long cycles[kFusedProfilePhases];
    download(cycles, profile_.get(), sizeof cycles);
    const double steps = double((train_rows_ + batch_ - 1) / batch_);
    static const char* names[kFusedProfilePhases] = {"wait",     "convert", "hidden",  "partial",
                                                     "exchange", "logits",  "softmax", "dh-dW2",
                                                     "dW1",      "update"};
    std::string line = "fused profile epoch " + std::to_string(epoch + 1) + " (cycles/step):";
    double total = 0;
    for (int k = 0; k < kFusedProfilePhases; ++k) {
      line += " " + std::string(names[k]) + " " + std::to_string(int(cycles[k] / steps));
      total += double(cycles[k]) / steps;
    }
    std::fprintf(stderr, "%s total %d\n", line.c_str(), int(total));
  }
  // cuBLASLt is created on first use: the fused path never needs it.
  GemmRunner& gemm() {
    if (!gemm_)
      gemm_ = std::make_unique<GemmRunner>(dtype_, policy_.tf32_gemm, workspace_.get(),
                                           kWorkspaceBytes);
    return *gemm_;
  }
  const float* scale_pointer() const {
    return policy_.loss_scaling ? &dstate()->loss_scale : nullptr;
  }
  char* weights_for_gemm() const {
    return dtype_ == DType::f32 ? master_.get<char>() : copy_.get<char>();
  }
  void* weight(int l) const { return weights_for_gemm() + layers_[l].w_offset * es_; }
  void* bias(int l) const { return weights_for_gemm() + layers_[l].b_offset * es_; }
  void* grad_weight(int l) const { return grads_.bytes_at(layers_[l].w_offset * es_); }
  void* grad_bias(int l) const { return grads_.bytes_at(layers_[l].b_offset * es_); }
  const void* layer_input(int l) const { return l == 0 ? x0_.get() : acts_[l - 1].get(); }

  void validate_model(const ModelSpec& model) const {
    if (model.inputs <= 0 || model.classes <= 1)
      throw gt::Error("CUDA backend: a model needs inputs and at least 2 classes");
    for (int h : model.hidden)
      if (h <= 0) throw gt::Error("CUDA backend: hidden layer sizes must be positive");
    if (model.dropout < 0 || model.dropout >= 1)
      throw gt::Error("dropout " + std::to_string(model.dropout) + " must be in [0, 1)");
  }

  static void check_dataset(const Dataset& data, const ModelSpec& model, const char* what) {
    if (data.features != model.inputs)
      throw gt::Error(std::string(what) + " has " + std::to_string(data.features) +
                      " features; the model expects " + std::to_string(model.inputs));
    const size_t cells = size_t(data.rows) * size_t(data.features);
    if ((data.u8.size() != cells && data.f32.size() != cells) ||
        data.labels.size() != size_t(data.rows))
      throw gt::Error(std::string(what) + " is inconsistent: its arrays do not match " +
                      std::to_string(data.rows) + " rows of " + std::to_string(data.features));
    for (int32_t label : data.labels)
      if (label < 0 || label >= model.classes)
        throw gt::Error(std::string(what) + " has label " + std::to_string(label) + " outside 0.." +
                        std::to_string(model.classes - 1));
  }

  int debug_rows(const Dataset& batch) const {
    check_dataset(batch, model_, "debug batch");
    if (batch.rows <= 0 || batch.rows > capacity_)
      throw gt::Error("debug batch of " + std::to_string(batch.rows) + " rows: the CUDA backend " +
                      "holds at most " + std::to_string(capacity_) + " rows per step");
    return int(batch.rows);
  }

  // Copies a split's features and labels to the device, growing the buffers only when needed.
  void upload_dataset(const Dataset& data, DeviceBuffer& values, DeviceBuffer& labels,
                      const std::string& what) {
    const size_t bytes = data.u8.empty() ? data.f32.size() * 4 : data.u8.size();
    if (values.size() < bytes) values.allocate(bytes, what);
    if (labels.size() < data.labels.size() * 4) labels.allocate(data.labels.size() * 4, what);
    const void* host = data.u8.empty() ? static_cast<const void*>(data.f32.data())
                                       : static_cast<const void*>(data.u8.data());
    CUDA_CHECK(cudaMemcpyAsync(values.get(), host, bytes, cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaMemcpyAsync(labels.get(), data.labels.data(), data.labels.size() * 4,
                               cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // the host vectors may go away after we return
  }

  // Where `data`, uploaded into `values` and `labels` (upload_dataset), lies on the device.
  static GatherSource source_on(const Dataset& data, const DeviceBuffer& values,
                                const DeviceBuffer& labels) {
    GatherSource src;
    src.u8 = data.u8.empty() ? nullptr : values.get<uint8_t>();
    src.f32 = data.u8.empty() ? values.get<float>() : nullptr;
    src.labels = labels.get<int32_t>();
    src.rows = data.rows;
    src.features = data.features;
    src.scale = data.scale;
    return src;
  }
  GatherSource source_for(const Dataset& data) const {
    return source_on(data, eval_data_, eval_labels_);
  }

  void download(void* host, const void* device, size_t bytes) const {
    cuda::download(host, device, bytes, stream_);
  }
  void reset_eval_sums() { cuda::reset_eval_sums(dstate(), stream_); }
  void read_eval_sums(double& loss, uint64_t& correct) {
    cuda::read_eval_sums(dstate(), loss, correct, stream_);
  }

  void forward(int rows, Pass pass, bool dropout = false) {
    const int count = int(layers_.size());
    for (int l = 0; l < count; ++l) {
      const Layer& layer = layers_[l];
      const bool hidden = l + 1 < count;
      const bool drop = hidden && dropout && model_.dropout > 0;
      const bool want_mask = hidden && pass != Pass::eval;
      GemmCall c;
      c.trans_a = true;
      c.m = layer.out;
      c.n = rows;
      c.k = layer.in;
      c.a = weight(l);
      c.lda = layer.in;
      c.b = layer_input(l);
      c.ldb = layer.in;
      c.d = acts_[l].get();
      c.ldd = layer.out;
      if (options_.fused_epilogues && !drop) {
        GemmCall fused = c;
        fused.epilogue =
            !hidden ? Epilogue::bias : (want_mask ? Epilogue::relu_aux_bias : Epilogue::relu_bias);
        fused.bias = bias(l);
        if (want_mask) {
          fused.aux = masks_[l].get();
          fused.aux_ld = align_up(layer.out, 128);
        }
        if (gemm().supported(fused)) {
          gemm().run(fused, stream_);
          mask_valid_[l] = want_mask;
          continue;
        }
      }
      gemm().run(c, stream_);
      launch_bias_act(dtype_, acts_[l].get(), bias(l), rows, layer.out, hidden,
                      drop ? model_.dropout : 0.0f, seed_, l, dstate(), stream_);
      mask_valid_[l] = false;
    }
  }

  void backward(int rows, bool dropout) {
    const int count = int(layers_.size());
    std::fill(bias_done_.begin(), bias_done_.end(), false);
    for (int l = count - 1; l >= 0; --l) {
      const Layer& layer = layers_[l];
      // Weight gradient dW = dYᵀ·X (row-major), with the bias gradient Σ_rows dY fused when the
      // layer above did not already produce it.
      GemmCall w;
      w.trans_b = true;
      w.m = layer.in;
      w.n = layer.out;
      w.k = rows;
      w.a = layer_input(l);
      w.lda = layer.in;
      w.b = dacts_[l].get();
      w.ldb = layer.out;
      w.d = grad_weight(l);
      w.ldd = layer.in;
      bool done = false;
      if (!bias_done_[l] && options_.fused_epilogues) {
        GemmCall fused = w;
        fused.epilogue = Epilogue::bgradb;
        fused.bias = grad_bias(l);
        if (gemm().supported(fused)) {
          gemm().run(fused, stream_);
          done = true;
        }
      }
      if (!done) {
        gemm().run(w, stream_);
        if (!bias_done_[l])
          launch_bias_grad(dtype_, dacts_[l].get(), rows, layer.out, grad_bias(l), stream_);
      }
      if (l == 0) break;  // the input needs no gradient
      // Input gradient dX = dY·W, then through the ReLU (and dropout) of the layer below.
      const Layer& below = layers_[l - 1];
      GemmCall x;
      x.m = layer.in;
      x.n = rows;
      x.k = layer.out;
      x.a = weight(l);
      x.lda = layer.in;
      x.b = dacts_[l].get();
      x.ldb = layer.out;
      x.d = dacts_[l - 1].get();
      x.ldd = layer.in;
      if (options_.fused_epilogues && mask_valid_[l - 1]) {
        GemmCall fused = x;
        fused.epilogue = Epilogue::drelu_bgrad;
        fused.bias = grad_bias(l - 1);
        fused.aux = masks_[l - 1].get();
        fused.aux_ld = align_up(below.out, 128);
        if (gemm().supported(fused)) {
          gemm().run(fused, stream_);
          bias_done_[l - 1] = true;
          continue;
        }
      }
      gemm().run(x, stream_);
      const bool drop = dropout && model_.dropout > 0;
      launch_act_backward(dtype_, dacts_[l - 1].get(), acts_[l - 1].get(),
                          int64_t(rows) * below.out, drop ? 1.0f / (1.0f - model_.dropout) : 1.0f,
                          stream_);
    }
  }

  // One optimizer step on `rows` rows from `src`, entirely enqueued on the stream.
  void record_step(const GatherSource& src, int rows, bool dropout) {
    launch_gather(src, rows, dtype_, x0_.get(), batch_labels_.get<int32_t>(), stream_);
    forward(rows, dropout ? Pass::train : Pass::debug, dropout);
    launch_softmax_ce(dtype_, acts_.back().get(), batch_labels_.get<int32_t>(), rows,
                      model_.classes, dacts_.back().get(), scale_pointer(), &dstate()->step_loss,
                      &dstate()->epoch.correct, stream_);
    backward(rows, dropout);
    if (policy_.loss_scaling)
      launch_check_finite(dtype_, grads_.get(), slab_elements_, &dstate()->found_inf, stream_);
    OptimizerArgs a;
    set_update_args(a);
    a.n = slab_elements_;
    a.step_rows = rows;
    a.state = dstate();
    launch_optimizer(dtype_, a, stream_);
  }

  Graph capture(int64_t steps, int rows) {
    Graph g;
    g.steps = steps;
    if (steps <= 0) return g;
    cudaGraph_t graph = nullptr;
    CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    try {
      for (int64_t s = 0; s < steps; ++s) record_step(train_source_, rows, model_.dropout > 0);
    } catch (...) {
      cudaStreamEndCapture(stream_, &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    const cudaError_t status = cudaGraphInstantiate(&g.exec, graph, 0);
    cudaGraphDestroy(graph);
    CUDA_CHECK(status);
    CUDA_CHECK(cudaGraphUpload(g.exec, stream_));
    graphs_.push_back(g);
    return g;
  }

  void build_graphs() {
    const int64_t full = train_rows_ / batch_;
    const int64_t chunk = std::clamp<int64_t>(options_.graph_steps, 1, std::max<int64_t>(full, 1));
    graph_chunk_ = capture(full >= chunk ? chunk : 0, batch_);
    graph_rest_ = capture(full >= chunk ? full % chunk : full, batch_);
    graph_tail_ = capture(train_rows_ % batch_ > 0 ? 1 : 0, int(train_rows_ % batch_));
    if (graph_chunk_.steps == 0) graph_chunk_.steps = full + 1;  // never launched
  }

  int device_;
  CudaOptions options_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  bool setup_done_ = false;

  ModelSpec model_;
  OptimizerSpec opt_;
  PrecisionPolicy policy_;
  DType dtype_ = DType::f32;
  int es_ = 4;
  int batch_ = 0;
  uint64_t seed_ = 0;
  int64_t train_rows_ = 0;
  int capacity_ = 0;
  graph::ParamLayout layout_;
  std::vector<Layer> layers_;
  int64_t slab_elements_ = 0;
  bool fused_ = false;
  bool train_u8_ = true;

  DeviceBuffer master_, grads_, moment1_, moment2_, copy_, state_, workspace_;
  DeviceBuffer x0_, batch_labels_, train_data_, train_labels_, eval_data_, eval_labels_;
  DeviceBuffer exchange_, step_losses_, profile_;
  std::vector<DeviceBuffer> acts_, dacts_, masks_;
  std::vector<bool> mask_valid_, bias_done_;
  EpochCounters* host_counters_ = nullptr;
  GatherSource train_source_;
  std::unique_ptr<GemmRunner> gemm_;
  std::vector<Graph> graphs_;
  Graph graph_chunk_, graph_rest_, graph_tail_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_mlp_backend(int device, const CudaOptions& options) {
  return std::make_unique<cuda::CudaBackend>(device, options);
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

}  // namespace gt::engine
