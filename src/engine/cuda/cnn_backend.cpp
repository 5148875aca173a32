// The CUDA backend's CNN path: any network of the layer graph (Conv2D, BatchNorm, ReLU,
// MaxPool2D, GlobalAvgPool, Dense, Dropout, Flatten; softmax cross-entropy) trained on one GPU
// in NHWC, in fp32 (true FP32), tf32, fp16 (dynamic loss scaling, the LossScaler rule) or bf16,
// with FP32 master weights and BatchNorm in FP32. The network runs with its channel counts padded
// to the tensor-core multiple (graph/padded.h); values cross the interface in the original
// layout. setup() sizes and allocates everything once (parameter slabs, per-tensor activation and
// gradient buffers, the shared cuDNN workspace, the cuBLASLt workspace, the training set on the
// device or its pinned staging buffers), builds every cuDNN and cuBLASLt plan for the batch
// sizes of an epoch and of evaluation, binds every cuDNN call, warms the kernels up and captures
// the training step as CUDA graphs; an epoch is then graph launches and one read-back. A step =
// gather (shuffle, normalise, pad channels, flip) → layers forward → fused softmax-CE → layers
// backward → inf/NaN check (fp16) → fused optimizer with on-device loss scaling (kernels.h).
// What was chosen where a choice exists (fallback kernels, resident or streamed data, graphs or
// eager launches) is in notes().
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/trace.h"
#include "engine/backend.h"
#include "engine/cuda/check.h"
#include "engine/cuda/cnn_data.h"
#include "engine/cuda/cnn_layers.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cudnn_library.h"
#include "engine/cuda/device_buffer.h"
#include "engine/cuda/device_state_io.h"
#include "engine/cuda/epoch_shuffle.h"
#include "engine/cudnn_status.h"
#include "engine/graph/init.h"
#include "engine/graph/padded.h"

namespace gt::engine {
namespace cuda {
namespace {

constexpr size_t kGemmWorkspaceBytes = size_t(32) << 20;
// Evaluation runs in chunks of up to this many rows, fewer when their activations would pass
// kEvalBytes (a convolutional network's feature maps are large).
constexpr int64_t kEvalChunk = 1024;
constexpr double kEvalBytes = 256.0 * (1 << 20);
// GPU memory a resident training set leaves free: the libraries' own allocations and headroom.
constexpr size_t kReserveBytes = size_t(768) << 20;
constexpr int kMaxGraphSteps = 32;  // steps captured in one CUDA graph

static_assert(graph::kSlabAlign == int64_t(1) << kF32BlockShift,
              "the optimizer's FP32 gradient blocks are slab slots");

std::string mib(size_t bytes) { return fmt::format("{:.0f} MiB", double(bytes) / (1 << 20)); }

class CudaCnnBackend final : public Backend {
 public:
  CudaCnnBackend(int device, const CudaOptions& options) : device_(device), options_(options) {
    const int count = cuda_device_count();
    if (device < 0 || device >= count)
      throw gt::Error(fmt::format("cuda:{} does not exist ({} CUDA device(s))", device, count));
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaFree(nullptr));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    name_ = prop.name;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }

  ~CudaCnnBackend() override {
    cudaSetDevice(device_);
    if (stream_) cudaStreamSynchronize(stream_);
    destroy_graphs();
    layers_.clear();
    stream_batches_.reset();
    gemm_.reset();
    relaxed_plans_.reset();
    plans_.reset();
    if (host_counters_) cudaFreeHost(host_counters_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  std::string describe() const override {
    const CudnnStatus s = cudnn_status();
    return fmt::format("cuda:{} {} (cuDNN {})", device_, name_, s.usable ? s.version : "?");
  }

  std::vector<std::string> notes() const override { return notes_; }

  void setup(const graph::Network& net, const OptimizerSpec& opt, Precision precision,
             int batch_size, const Dataset& train, uint64_t seed) override {
    CUDA_CHECK(cudaSetDevice(device_));
    if (setup_done_) throw gt::Error("CUDA backend: setup() called twice");
    net_ = net;
    check_dataset(train, "training set");
    if (batch_size <= 0 || batch_size > train.rows)
      throw gt::UsageError(fmt::format("batch size {} must be between 1 and the {} training rows",
                                       batch_size, train.rows));
    opt_ = opt;
    policy_ = policy_for(precision);
    type_ = policy_.storage;
    es_ = dtype_size(type_);
    batch_ = batch_size;
    seed_ = seed;
    train_ = &train;
    padded_ = graph::pad_channels(net, int(channel_multiple(precision)));
    const graph::Network& pnet = padded_.net;
    slab_ = padded_.layout.elements;
    first_trainable_ = graph::first_trainable_layer(pnet);
    if (padded_.changed)
      notes_.push_back(
          fmt::format("channels padded to multiples of {} for tensor cores", padded_.multiple));

    CudnnPlanOptions plan_options;
    plan_options.deterministic = options_.deterministic;
    plan_options.autotune = options_.cudnn_autotune;
    plan_options.autotune_file = options_.autotune_file;
    // A workspace of at most an eighth of the free memory, so small GPUs keep room for the data.
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (free_bytes / 8 < plan_options.max_workspace_bytes) {
      plan_options.max_workspace_bytes = free_bytes / 8;
      notes_.push_back(fmt::format("cuDNN workspace limited to {} (an eighth of the free memory)",
                                   mib(plan_options.max_workspace_bytes)));
    }
    plans_ = std::make_unique<CudnnPlans>(plan_options);
    if (options_.cudnn_autotune)
      notes_.push_back(options_.autotune_file.empty()
                           ? std::string("cuDNN engines autotuned")
                           : "cuDNN engines autotuned, choices kept in " + options_.autotune_file);
    if (!plans_->notes().empty()) notes_.push_back(plans_->notes());
    if (options_.deterministic) {  // the same workspace limit for the operations it relaxes
      CudnnPlanOptions relaxed;
      relaxed.max_workspace_bytes = plan_options.max_workspace_bytes;
      relaxed_plans_ = std::make_unique<CudnnPlans>(relaxed);
    }
    allocate_slabs();
    allocate_tensors();
    build_layers();

    // Every plan of the batch sizes an epoch and evaluation use, then one workspace for them.
    tail_ = int(train.rows % batch_);
    prepare_rows(batch_, true);
    if (tail_ > 0) prepare_rows(tail_, true);
    prepare_rows(eval_rows_, false);
    allocate_workspace();
    notes_.push_back(fmt::format("cuDNN {} plans, {} of workspace",
                                 plans_->size() + (relaxed_plans_ ? relaxed_plans_->size() : 0),
                                 mib(workspace_.size())));

    place_training_set();
    CUDA_CHECK(cudaMallocHost(&host_counters_, sizeof(EpochCounters)));
    setup_done_ = true;

    // Warm-up: one eager step of each batch shape and one evaluation pass load the kernels;
    // set_values() below undoes their updates.
    set_values(graph::initial_values(layout(), seed));
    start_epoch(dstate(), host_counters_, seed_, 0, train_->rows, stream_);
    warm_up();
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (options_.graphs) build_graphs();
    if (graphs_ready_)
      notes_.push_back(fmt::format("CUDA graphs of up to {} training steps", chunk_steps_));
    else if (!options_.graphs)
      notes_.push_back("eager launches (CUDA graphs off)");
    set_values(graph::initial_values(layout(), seed));
    trace_point("CUDA CNN backend ready");
  }

  const graph::ParamLayout& layout() const override { return original_layout_; }

  void set_values(std::span<const float> values) override {
    CUDA_CHECK(cudaSetDevice(device_));
    load_parameters(
        graph::to_padded(padded_, values),
        {master_.get<float>(), copy_.get(), moment1_.get<float>(), moment2_.get<float>(), dstate()},
        type_, policy_, stream_);
  }

  std::vector<float> values() override {
    CUDA_CHECK(cudaSetDevice(device_));
    std::vector<float> slab(static_cast<size_t>(slab_));
    download(slab.data(), master_.get(), slab.size() * 4);
    return graph::from_padded(padded_, slab);
  }

  EpochStats train_epoch(int epoch) override {
    CUDA_CHECK(cudaSetDevice(device_));
    const auto start = std::chrono::steady_clock::now();
    if (options_.graphs && !graphs_ready_) build_graphs();  // a debug batch changed the plans
    const EpochCounters keys =
        start_epoch(dstate(), host_counters_, seed_, epoch, train_->rows, stream_);
    const int64_t full = train_->rows / batch_;
    if (stream_batches_) {
      for (int64_t s = 0; s <= full; ++s) {
        const int rows = s < full ? batch_ : tail_;
        if (rows == 0) break;
        const int k = int(s % 2);
        stream_batches_->stage(k, keys, s * batch_, rows, stream_);
        if (graphs_ready_)
          CUDA_CHECK(cudaGraphLaunch((s < full ? staged_graph_[k] : tail_graph_).exec, stream_));
        else
          record_step(merge_staged(k), rows, CnnPass::train);
        stream_batches_->release(k, stream_);
      }
    } else if (graphs_ready_) {
      for (int64_t s = 0; s + chunk_graph_.steps <= full; s += chunk_graph_.steps)
        CUDA_CHECK(cudaGraphLaunch(chunk_graph_.exec, stream_));
      if (rest_graph_.exec) CUDA_CHECK(cudaGraphLaunch(rest_graph_.exec, stream_));
      if (tail_graph_.exec) CUDA_CHECK(cudaGraphLaunch(tail_graph_.exec, stream_));
    } else {
      for (int64_t s = 0; s < full; ++s) record_step(train_source_, batch_, CnnPass::train);
      if (tail_ > 0) record_step(train_source_, tail_, CnnPass::train);
    }
    const EpochStats stats = finish_epoch(dstate(), host_counters_, start, stream_);
    return stats;
  }

  EvalStats evaluate(const Dataset& data) override {
    CUDA_CHECK(cudaSetDevice(device_));
    check_dataset(data, "evaluation set");
    EvalStats result;
    if (data.rows == 0) return result;
    reset_eval_sums();
    std::unique_ptr<BatchStream> chunks;
    ImageSource src;
    if (data_fits(side_.holds(data) ? 0 : resident_bytes(data))) {
      if (!side_.holds(data)) side_.upload(data, shape_of(data), stream_);
      src = side_.source();
    } else {
      chunks = std::make_unique<BatchStream>(data, eval_rows_, shape_of(data), device_);
      src = chunks->source(0);
    }
    for (int64_t first = 0; first < data.rows; first += eval_rows_) {
      const int valid = int(std::min<int64_t>(eval_rows_, data.rows - first));
      if (chunks) {
        chunks->stage_in_order(0, first, valid, stream_);
      } else {
        src.fixed_offset = first;
      }
      launch_image_gather(src, eval_rows_, type_, value(0), labels_.get<int32_t>(), stream_);
      forward(eval_rows_, CnnPass::eval);
      launch_softmax_ce(type_, value(tensors_ - 1), labels_.get<int32_t>(), valid,
                        padded_.net.classes, nullptr, nullptr, &dstate()->eval_loss,
                        &dstate()->eval_correct, stream_);
      if (chunks) chunks->release(0, stream_);
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
    download(&scale, &dstate()->loss_scale, sizeof scale);
    return scale;
  }

  StepDebug debug_step(const Dataset& batch) override {
    CUDA_CHECK(cudaSetDevice(device_));
    const int rows = debug_rows(batch);
    const ImageSource src = debug_source(batch);
    // The running statistics as they are: a debug step leaves them.
    const size_t buffers = size_t(slab_ - padded_.layout.trainable_elements) * 4;
    DeviceBuffer saved(buffers, "the running statistics");
    float* stats = master_.get<float>() + padded_.layout.trainable_elements;
    CUDA_CHECK(cudaMemcpyAsync(saved.get(), stats, buffers, cudaMemcpyDeviceToDevice, stream_));
    reset_eval_sums();
    launch_image_gather(src, rows, type_, value(0), labels_.get<int32_t>(), stream_);
    forward(rows, CnnPass::debug);
    launch_softmax_ce(type_, value(tensors_ - 1), labels_.get<int32_t>(), rows, padded_.net.classes,
                      gradient(tensors_ - 1), scale_pointer(), &dstate()->eval_loss,
                      &dstate()->eval_correct, stream_);
    backward(rows);
    CUDA_CHECK(cudaMemcpyAsync(stats, saved.get(), buffers, cudaMemcpyDeviceToDevice, stream_));
    double loss = 0;
    uint64_t correct = 0;
    read_eval_sums(loss, correct);

    StepDebug out;
    out.loss = float(loss / rows);
    const size_t logits = size_t(rows) * padded_.net.classes;
    std::vector<char> raw(logits * es_);
    download(raw.data(), value(tensors_ - 1), raw.size());
    out.logits = to_floats(raw, type_, logits);
    out.grad_values = graph::from_padded(padded_, gradients());
    const float scale = loss_scale();
    for (float& g : out.grad_values) g /= scale;
    return out;
  }

  std::vector<float> debug_steps(const Dataset& batch, int steps) override {
    CUDA_CHECK(cudaSetDevice(device_));
    const int rows = debug_rows(batch);
    const ImageSource src = debug_source(batch);
    std::vector<float> losses;
    for (int s = 0; s < steps; ++s) {
      record_step(src, rows, CnnPass::debug);
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
  void* value(int t) const { return values_[size_t(t)].get(); }
  void* gradient(int t) const { return grads_of_[size_t(t)].get(); }
  const float* scale_pointer() const {
    return policy_.loss_scaling ? &dstate()->loss_scale : nullptr;
  }

  void check_dataset(const Dataset& data, const char* what) const {
    if (data.features != net_.input.size())
      throw gt::Error(fmt::format("{} has {} features; the model expects {} ({})", what,
                                  data.features, net_.input.size(), graph::to_string(net_.input)));
    const size_t cells = size_t(data.rows) * size_t(data.features);
    if ((data.u8.size() != cells && data.f32.size() != cells) ||
        data.labels.size() != size_t(data.rows))
      throw gt::Error(fmt::format("{} is inconsistent: its arrays do not match {} rows of {}", what,
                                  data.rows, data.features));
    if (!data.u8.empty() && !data.mean.empty() &&
        (data.mean.size() != size_t(net_.input.channels) || data.stddev.size() != data.mean.size()))
      throw gt::Error(fmt::format("{} has {} channel means for {} channels", what, data.mean.size(),
                                  net_.input.channels));
    for (int32_t label : data.labels)
      if (label < 0 || label >= net_.classes)
        throw gt::Error(
            fmt::format("{} has label {} outside 0..{}", what, label, net_.classes - 1));
  }

  ImageSource shape_of(const Dataset& data) const {
    return image_shape(data, net_.input, padded_.net.input.channels);
  }

  // ---- setup ---------------------------------------------------------------------------------

  void allocate_slabs() {
    original_layout_ = graph::layout_of(net_);
    const graph::ParamLayout& layout = padded_.layout;
    const size_t n = size_t(slab_);
    master_.allocate(n * 4, "the FP32 master weights");
    grads_.allocate(n * es_, "the gradients");
    CUDA_CHECK(cudaMemset(grads_.get(), 0, n * es_));
    moment1_.allocate(n * 4, "the optimizer moments");
    if (opt_.kind == OptimizerSpec::Kind::adam) moment2_.allocate(n * 4, "the optimizer moments");
    if (type_ != DType::f32) {
      copy_.allocate(n * es_, "the reduced-precision weight copy");
      // FP32 gradients of the FP32-only slots (BatchNorm's γ and β), and which blocks they are.
      grads32_.allocate(n * 4, "the FP32 gradients");
      CUDA_CHECK(cudaMemset(grads32_.get(), 0, n * 4));
      std::vector<uint8_t> blocks(size_t((slab_ + graph::kSlabAlign - 1) / graph::kSlabAlign), 0);
      bool any = false;
      for (const graph::TensorSlot& s : layout.slots)
        if (s.trainable && s.fp32_only) {
          any = true;
          for (int64_t b = s.offset / graph::kSlabAlign;
               b < (s.offset + s.size + graph::kSlabAlign - 1) / graph::kSlabAlign; ++b)
            blocks[size_t(b)] = 1;
        }
      if (any) {
        f32_blocks_host_ = blocks;
        f32_blocks_.allocate(blocks.size(), "the FP32 gradient map");
        CUDA_CHECK(
            cudaMemcpy(f32_blocks_.get(), blocks.data(), blocks.size(), cudaMemcpyHostToDevice));
      }
    }
    state_.allocate(sizeof(DeviceState), "the training state");
  }

  // One value buffer per tensor (the input, then each layer's output unless it passes its input
  // through) and one gradient buffer per tensor a backward pass writes; the evaluation chunk size.
  void allocate_tensors() {
    const graph::Network& pnet = padded_.net;
    const int L = int(pnet.layers.size());
    std::vector<int64_t> sizes{pnet.input.size()};
    in_tensor_.assign(size_t(L), 0);
    out_tensor_.assign(size_t(L), 0);
    int current = 0;
    for (int l = 0; l < L; ++l) {
      in_tensor_[size_t(l)] = current;
      const bool alias = std::holds_alternative<graph::Flatten>(pnet.layers[size_t(l)].spec) ||
                         relu_fused_into_previous(pnet, l);
      if (!alias) {
        sizes.push_back(pnet.layers[size_t(l)].out.size());
        current = int(sizes.size()) - 1;
      }
      out_tensor_[size_t(l)] = current;
    }
    tensors_ = int(sizes.size());
    int64_t per_sample = 0;
    for (int64_t s : sizes) per_sample += s * es_;
    eval_rows_ = int(std::clamp<int64_t>(int64_t(kEvalBytes / double(per_sample)), batch_,
                                         std::max<int64_t>(batch_, kEvalChunk)));
    capacity_ = std::max(batch_, eval_rows_);
    std::vector<bool> needs_gradient(size_t(tensors_), false);
    for (int l = first_trainable_; l < L; ++l) {
      needs_gradient[size_t(out_tensor_[size_t(l)])] = true;
      if (l > first_trainable_) needs_gradient[size_t(in_tensor_[size_t(l)])] = true;
    }
    values_.resize(size_t(tensors_));
    grads_of_.resize(size_t(tensors_));
    size_t total = 0;
    for (int t = 0; t < tensors_; ++t) {
      const size_t bytes = size_t(capacity_) * size_t(sizes[size_t(t)]) * es_;
      values_[size_t(t)].allocate(bytes, "the activations");
      CUDA_CHECK(cudaMemset(values_[size_t(t)].get(), 0, bytes));
      total += bytes;
      if (needs_gradient[size_t(t)]) {
        grads_of_[size_t(t)].allocate(bytes, "the activation gradients");
        total += bytes;
      }
    }
    labels_.allocate(size_t(capacity_) * 4, "the batch labels");
    // Scratch of the per-channel sums (BatchNorm, convolution biases) of the widest pass.
    int64_t reduction = 1;
    for (const graph::Layer& layer : pnet.layers)
      if (std::holds_alternative<graph::BatchNorm>(layer.spec) ||
          std::holds_alternative<graph::Conv2D>(layer.spec))
        reduction = std::max(
            reduction, reduction_floats(int64_t(capacity_) * layer.out.height * layer.out.width,
                                        layer.out.channels));
    reduction_.allocate(size_t(reduction) * 4, "the per-channel sums");
    notes_.push_back(
        fmt::format("activations and gradients: {} for {} rows (evaluation in "
                    "chunks of {})",
                    mib(total), capacity_, eval_rows_));
  }

  void build_layers() {
    bool has_dense = false;
    for (const graph::Layer& layer : padded_.net.layers)
      has_dense = has_dense || std::holds_alternative<graph::Dense>(layer.spec);
    if (has_dense) {
      gemm_workspace_.allocate(kGemmWorkspaceBytes, "the cuBLASLt workspace");
      gemm_ = std::make_unique<GemmRunner>(type_, policy_.tf32_gemm, gemm_workspace_.get(),
                                           kGemmWorkspaceBytes);
    }
    CnnRun run;
    run.precision = policy_.precision;
    run.type = type_;
    run.capacity = capacity_;
    run.stream = stream_;
    run.plans = plans_.get();
    run.relaxed_plans = relaxed_plans_.get();
    run.gemm = gemm_.get();
    run.state = dstate();
    run.seed = seed_;
    run.cudnn_batchnorm = options_.cudnn_batchnorm;
    run.fused_conv = options_.fused_conv;
    run.fused_epilogues = options_.fused_epilogues;
    run.reduction = reduction_.get<float>();
    run.notes = &notes_;
    CnnSlabs slabs;
    slabs.layout = &padded_.layout;
    slabs.master = master_.get<float>();
    slabs.weights = type_ == DType::f32 ? master_.get<char>() : copy_.get<char>();
    slabs.grads = grads_.get<char>();
    slabs.grads32 = type_ == DType::f32 ? grads_.get<float>() : grads32_.get<float>();
    slabs.element_bytes = es_;
    if (!options_.cudnn_batchnorm) notes_.push_back("BatchNorm: own kernels (asked for)");
    for (int l = 0; l < int(padded_.net.layers.size()); ++l) {
      CnnTensors t;
      t.x = value(in_tensor_[size_t(l)]);
      t.y = value(out_tensor_[size_t(l)]);
      t.dy = gradient(out_tensor_[size_t(l)]);
      t.dx = l > first_trainable_ ? gradient(in_tensor_[size_t(l)]) : nullptr;
      layers_.push_back(make_cnn_layer(padded_.net, l, run, slabs, t));
    }
  }

  // Plans for passes of `rows` rows (training passes include backward); false when they were
  // there already.
  bool prepare_rows(int rows, bool training) {
    const auto done = [&](bool t) {
      return std::find(prepared_.begin(), prepared_.end(), std::pair{rows, t}) != prepared_.end();
    };
    if (done(training) || (!training && done(true))) return false;
    for (auto& layer : layers_)
      workspace_need_ = std::max(workspace_need_, layer->prepare(rows, training));
    prepared_.push_back({rows, training});
    return true;
  }

  // The workspace every prepared cuDNN call shares (grown when a plan needs more), and every
  // call bound to it. Captured graphs are dropped: they are rebuilt when next needed.
  void allocate_workspace() {
    destroy_graphs();
    if (workspace_.size() < workspace_need_ || !workspace_.get())
      workspace_.allocate(std::max<size_t>(workspace_need_, 256), "the cuDNN workspace");
    for (auto& layer : layers_) layer->bind(workspace_.get(), workspace_.size());
  }

  bool data_fits(size_t bytes) const {
    if (options_.data != CudaOptions::Data::automatic)
      return options_.data == CudaOptions::Data::resident;
    size_t free = 0, total = 0;
    CUDA_CHECK(cudaMemGetInfo(&free, &total));
    return bytes + kReserveBytes + total / 50 <= free;
  }

  void place_training_set() {
    const size_t bytes = resident_bytes(*train_);
    if (data_fits(bytes)) {
      train_split_.upload(*train_, shape_of(*train_), stream_);
      train_source_ = train_split_.source();
      train_source_.counter = &dstate()->epoch;
      train_source_.stride_rows = batch_;
      train_source_.shuffle = true;
      notes_.push_back(fmt::format("training set resident on the GPU ({})", mib(bytes)));
    } else {
      stream_batches_ = std::make_unique<BatchStream>(*train_, batch_, shape_of(*train_), device_);
      notes_.push_back(
          fmt::format("training set streamed from pinned host buffers ({} does not "
                      "fit in GPU memory beside the model)",
                      mib(bytes)));
    }
    const uint32_t flip_seed = uint32_t(seed_ ^ (seed_ >> 32) ^ 0x5F11Bu);
    auto with_flip = [&](ImageSource& s) {
      s.flip = options_.random_flip;
      s.flip_seed = flip_seed;
      s.counter = &dstate()->epoch;
      s.stride_rows = batch_;
    };
    if (stream_batches_) {
      for (int k = 0; k < 2; ++k) with_flip(staged_sources_[k]);
    } else {
      with_flip(train_source_);
    }
    if (options_.random_flip) notes_.push_back("random horizontal flips of training images");
  }

  // The stream's buffer k with this run's flip settings.
  ImageSource merge_staged(int k) const {
    ImageSource s = stream_batches_->source(k);
    s.flip = staged_sources_[k].flip;
    s.flip_seed = staged_sources_[k].flip_seed;
    s.counter = staged_sources_[k].counter;
    s.stride_rows = staged_sources_[k].stride_rows;
    return s;
  }

  void warm_up() {
    if (stream_batches_) {
      const EpochCounters keys = *host_counters_;
      stream_batches_->stage(0, keys, 0, batch_, stream_);
      record_step(merge_staged(0), batch_, CnnPass::train);
      stream_batches_->release(0, stream_);
      if (tail_ > 0) {
        stream_batches_->stage(1, keys, 0, tail_, stream_);
        record_step(merge_staged(1), tail_, CnnPass::train);
        stream_batches_->release(1, stream_);
      }
    } else {
      record_step(train_source_, batch_, CnnPass::train);
      if (tail_ > 0) record_step(train_source_, tail_, CnnPass::train);
    }
    forward(eval_rows_, CnnPass::eval);  // on whatever the input buffer holds
  }

  // ---- steps -----------------------------------------------------------------------------------

  void forward(int rows, CnnPass pass) {
    for (auto& layer : layers_) layer->forward(rows, pass);
  }

  void backward(int rows) {
    for (int l = int(layers_.size()) - 1; l >= first_trainable_; --l)
      layers_[size_t(l)]->backward(rows, l > first_trainable_);
  }

  // One optimizer step on `rows` rows from `src`, entirely enqueued on the stream.
  void record_step(const ImageSource& src, int rows, CnnPass pass) {
    launch_image_gather(src, rows, type_, value(0), labels_.get<int32_t>(), stream_);
    forward(rows, pass);
    launch_softmax_ce(type_, value(tensors_ - 1), labels_.get<int32_t>(), rows, padded_.net.classes,
                      gradient(tensors_ - 1), scale_pointer(), &dstate()->step_loss,
                      &dstate()->epoch.correct, stream_);
    backward(rows);
    if (policy_.loss_scaling) {
      launch_check_finite(type_, grads_.get(), slab_, &dstate()->found_inf, stream_);
      if (f32_blocks_.get())
        launch_check_finite(DType::f32, grads32_.get(), slab_, &dstate()->found_inf, stream_);
    }
    OptimizerArgs a;
    a.master = master_.get<float>();
    a.m = moment1_.get<float>();
    a.v = moment2_.get<float>();
    a.copy = type_ == DType::f32 ? nullptr : copy_.get();
    a.grads = grads_.get();
    a.grads_f32 = grads32_.get<float>();
    a.f32_blocks = f32_blocks_.get<uint8_t>();
    a.n = slab_;
    a.adam = opt_.kind == OptimizerSpec::Kind::adam;
    a.lr = opt_.lr;
    a.beta1 = opt_.beta1;
    a.beta2 = opt_.beta2;
    a.eps = opt_.eps;
    a.momentum = opt_.momentum;
    a.loss_scaling = policy_.loss_scaling;
    a.growth_interval = policy_.growth_interval;
    a.step_rows = rows;
    a.state = dstate();
    launch_optimizer(type_, a, stream_);
  }

  // ---- CUDA graphs -----------------------------------------------------------------------------

  // `steps` training steps of `rows` rows from `src` as one graph; nothing when capture fails
  // (the reason goes to the notes and the run stays eager).
  std::optional<Graph> capture(int64_t steps, int rows, const ImageSource& src) {
    Graph g;
    g.steps = steps;
    if (steps <= 0) return g;
    cudaGraph_t graph = nullptr;
    CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    try {
      for (int64_t s = 0; s < steps; ++s) record_step(src, rows, CnnPass::train);
    } catch (const gt::Error& e) {
      cudaStreamEndCapture(stream_, &graph);
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();
      notes_.push_back(fmt::format("eager launches: capturing a CUDA graph failed ({})", e.what()));
      return std::nullopt;
    }
    const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
    cudaError_t status = ended != cudaSuccess ? ended : cudaGraphInstantiate(&g.exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (status == cudaSuccess) status = cudaGraphUpload(g.exec, stream_);
    if (status != cudaSuccess) {
      if (g.exec) cudaGraphExecDestroy(g.exec);
      cudaGetLastError();
      notes_.push_back(fmt::format("eager launches: capturing a CUDA graph failed ({})",
                                   cudaGetErrorString(status)));
      return std::nullopt;
    }
    owned_graphs_.push_back(g.exec);
    return g;
  }

  void build_graphs() {
    destroy_graphs();
    const int64_t full = train_->rows / batch_;
    bool ok = true;
    auto take = [&](std::optional<Graph> g, Graph& into) {
      if (!g) ok = false;
      if (ok) into = *g;
    };
    if (stream_batches_) {
      chunk_steps_ = 1;
      for (int k = 0; k < 2 && ok; ++k) take(capture(1, batch_, merge_staged(k)), staged_graph_[k]);
      if (ok && tail_ > 0) take(capture(1, tail_, merge_staged(int(full % 2))), tail_graph_);
    } else {
      chunk_steps_ = std::clamp<int64_t>(std::min(options_.graph_steps, kMaxGraphSteps), 1,
                                         std::max<int64_t>(full, 1));
      take(capture(full >= chunk_steps_ ? chunk_steps_ : 0, batch_, train_source_), chunk_graph_);
      if (ok)
        take(capture(full >= chunk_steps_ ? full % chunk_steps_ : full, batch_, train_source_),
             rest_graph_);
      if (ok) take(capture(tail_ > 0 ? 1 : 0, tail_, train_source_), tail_graph_);
      if (chunk_graph_.steps == 0) chunk_graph_.steps = full + 1;  // never launched
    }
    if (!ok) {
      destroy_graphs();
      options_.graphs = false;
      return;
    }
    graphs_ready_ = true;
  }

  void destroy_graphs() {
    for (cudaGraphExec_t g : owned_graphs_) cudaGraphExecDestroy(g);
    owned_graphs_.clear();
    chunk_graph_ = rest_graph_ = tail_graph_ = staged_graph_[0] = staged_graph_[1] = Graph{};
    graphs_ready_ = false;
  }

  // ---- debug batches and read-backs ----------------------------------------------------------

  int debug_rows(const Dataset& batch) {
    check_dataset(batch, "debug batch");
    if (batch.rows <= 0 || batch.rows > capacity_)
      throw gt::Error(
          fmt::format("debug batch of {} rows: the CUDA backend holds at most {} rows "
                      "per step",
                      batch.rows, capacity_));
    const int rows = int(batch.rows);
    if (prepare_rows(rows, true)) allocate_workspace();
    return rows;
  }

  ImageSource debug_source(const Dataset& batch) {
    if (!side_.holds(batch)) side_.upload(batch, shape_of(batch), stream_);
    return side_.source();
  }

  // The gradients of the last backward pass, FP32, in the padded layout.
  std::vector<float> gradients() const {
    std::vector<char> raw(size_t(slab_) * es_);
    download(raw.data(), grads_.get(), raw.size());
    std::vector<float> g = to_floats(raw, type_, size_t(slab_));
    if (!f32_blocks_host_.empty()) {
      std::vector<float> g32(static_cast<size_t>(slab_));
      download(g32.data(), grads32_.get(), g32.size() * 4);
      for (size_t i = 0; i < g.size(); ++i)
        if (f32_blocks_host_[i >> kF32BlockShift]) g[i] = g32[i];
    }
    return g;
  }

  void download(void* host, const void* device, size_t bytes) const {
    cuda::download(host, device, bytes, stream_);
  }
  void reset_eval_sums() { cuda::reset_eval_sums(dstate(), stream_); }
  void read_eval_sums(double& loss, uint64_t& correct) {
    cuda::read_eval_sums(dstate(), loss, correct, stream_);
  }

  int device_;
  CudaOptions options_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  bool setup_done_ = false;
  std::vector<std::string> notes_;

  graph::Network net_;
  graph::PaddedNetwork padded_;
  graph::ParamLayout original_layout_;
  OptimizerSpec opt_;
  PrecisionPolicy policy_;
  DType type_ = DType::f32;
  int es_ = 4;
  int batch_ = 0, tail_ = 0, eval_rows_ = 0, capacity_ = 0;
  uint64_t seed_ = 0;
  const Dataset* train_ = nullptr;
  int64_t slab_ = 0;
  int first_trainable_ = 0;

  std::unique_ptr<CudnnPlans> plans_, relaxed_plans_;
  std::unique_ptr<GemmRunner> gemm_;
  std::vector<std::unique_ptr<CnnLayer>> layers_;
  std::vector<std::pair<int, bool>> prepared_;
  size_t workspace_need_ = 0;

  DeviceBuffer master_, grads_, grads32_, moment1_, moment2_, copy_, f32_blocks_, state_;
  std::vector<uint8_t> f32_blocks_host_;
  DeviceBuffer workspace_, gemm_workspace_, reduction_, labels_;
  std::vector<DeviceBuffer> values_, grads_of_;
  std::vector<int> in_tensor_, out_tensor_;
  int tensors_ = 0;

  DeviceSplit train_split_, side_;
  ImageSource train_source_, staged_sources_[2];
  std::unique_ptr<BatchStream> stream_batches_;
  EpochCounters* host_counters_ = nullptr;

  std::vector<cudaGraphExec_t> owned_graphs_;
  Graph chunk_graph_, rest_graph_, tail_graph_, staged_graph_[2];
  int64_t chunk_steps_ = 0;
  bool graphs_ready_ = false;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_cnn_backend(int device, const CudaOptions& options) {
  return std::make_unique<cuda::CudaCnnBackend>(device, options);
}

}  // namespace gt::engine
