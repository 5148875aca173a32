// The CPU backend: the executor that runs a network's layers (layer.h) in order over NHWC FP32
// activations — Dense on OpenBLAS sgemm, Conv2D on oneDNN, the rest OpenMP loops — or, built as
// the naive reference (make_cpu_backend(true)), on plain loops accumulated in double, which the
// finite-difference and PyTorch tests check first. Mixed precision is emulated: weight copies,
// activations and gradients are rounded to the policy's storage type (fp16/bf16) or, for tf32,
// GEMM operands to TF32; accumulation, softmax cross-entropy, master weights, optimizer moments
// and BatchNorm stay FP32. fp16 runs dynamic loss scaling (LossScaler, precision.h).
// Everything is sized in setup(): the slabs (graph/param_layout.h), one activation buffer per
// layer for max(batch, evaluation chunk) rows, two gradient buffers, the layers' workspaces and
// library primitives for the batch sizes of an epoch; a training step allocates nothing.
#include <cblas.h>
#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>

#include "common/error.h"
#include "engine/backend.h"
#include "engine/cpu/layer.h"
#include "engine/cpu/optimizer.h"
#include "engine/graph/init.h"
#include "engine/model.h"

namespace gt::engine {
namespace {

// Evaluation runs in chunks of up to this many rows, fewer when their activations would pass
// kEvalBytes (a convolutional network's feature maps are large).
constexpr int64_t kEvalChunk = 1024;
constexpr double kEvalBytes = 256.0 * (1 << 20);
// Steps cheaper than this many FLOPs run on one thread: on small MLPs (mlp:128 is 13 MFLOP a
// step at batch 32, 105 at 256) thread wake-ups and barriers cost more than they save, and on a
// loaded machine a descheduled worker stalls every parallel region (measured on the 2-core CI
// box: batch 256 ran 84k samples/s on 1 thread, 7.9k on 2; bench/cpu/RESULTS.md).
constexpr double kThreadedStepFlops = 2e9;

using cpu::PassMode;
using cpu::Store;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(bool naive) : naive_(naive), hardware_threads_(omp_get_max_threads()) {}

  std::string describe() const override {
    if (naive_) return "cpu (naive reference loops)";
    return fmt::format(
        "cpu ({}, {} thread{})",
        uses_onednn_ ? "OpenBLAS sgemm + oneDNN + OpenMP" : "OpenBLAS sgemm + OpenMP", threads_,
        threads_ == 1 ? "" : "s");
  }

  void setup(const graph::Network& net, const OptimizerSpec& opt, Precision precision,
             int batch_size, const Dataset& train, uint64_t seed) override {
    if (batch_size <= 0)
      throw gt::UsageError(fmt::format("batch size {} must be positive", batch_size));
    if (train.features != net.input.size())
      throw gt::Error(fmt::format("the training set has {} features, the model expects {}",
                                  train.features, net.input.size()));
    net_ = net;
    layout_ = graph::layout_of(net_);
    policy_ = policy_for(precision);
    batch_ = batch_size;
    train_ = &train;
    seed_ = seed;
    dropout_rng_.seed(seed ^ 0xD50C0FFEEull);
    threads_ = naive_ || double(batch_) * graph::train_flops_per_sample(net_) < kThreadedStepFlops
                   ? 1
                   : std::max(1, hardware_threads_);
    first_trainable_ = graph::first_trainable_layer(net_);
    for (const auto& layer : net_.layers)
      uses_onednn_ = uses_onednn_ || std::holds_alternative<graph::Conv2D>(layer.spec) ||
                     std::holds_alternative<graph::BatchNorm>(layer.spec) ||
                     std::holds_alternative<graph::MaxPool2D>(layer.spec);
    dense_only_ = true;
    for (const auto& s : layout_.slots)
      dense_only_ = dense_only_ && (s.role == graph::TensorRole::bias ||
                                    (s.role == graph::TensorRole::weight && s.shape.size() == 2));

    const size_t n = size_t(layout_.elements);
    master_ = graph::initial_values(layout_, seed);  // callers normally set their own
    grads_.assign(n, 0.0f);
    copy_.assign(n, 0.0f);
    optimizer_ = std::make_unique<cpu::SlabOptimizer>(layout_, opt, policy_, threads_);
    optimizer_->refresh_copy(master_.data(), copy_.data());
    if (uses_onednn_ && !naive_) {
      dnnl_engine_ = std::make_unique<dnnl::engine>(dnnl::engine::kind::cpu, 0);
      dnnl_stream_ = std::make_unique<dnnl::stream>(*dnnl_engine_);
    }
    build_layers();

    int64_t per_sample = net_.input.size();  // activations kept per sample
    for (int l = 0; l < int(net_.layers.size()); ++l)
      if (!renames(l)) per_sample += net_.layers[size_t(l)].out.size();
    eval_rows_ = std::clamp<int64_t>(int64_t(kEvalBytes / (4.0 * double(per_sample))), batch_,
                                     std::max<int64_t>(batch_, kEvalChunk));
    reserve_rows(std::max<int64_t>(batch_, eval_rows_));
    with_threads(threads_, [&] {
      for (int64_t rows : {int64_t(batch_), train.rows % batch_, eval_rows_})
        if (rows > 0)
          for (auto& layer : layers_) layer->reserve(rows);
    });
    order_.reserve(size_t(train.rows));
    index_.resize(size_t(std::max<int64_t>(batch_, eval_rows_)));
  }

  const graph::ParamLayout& layout() const override { return layout_; }

  void set_values(std::span<const float> values) override {
    if (values.size() != master_.size())
      throw gt::Error(
          fmt::format("internal: {} values for a model of {}", values.size(), master_.size()));
    std::copy(values.begin(), values.end(), master_.begin());
    optimizer_->restart();
    optimizer_->refresh_copy(master_.data(), copy_.data());
  }

  std::vector<float> values() override { return master_; }

  EpochStats train_epoch(int epoch) override {
    const auto t0 = std::chrono::steady_clock::now();
    const Dataset& train = *train_;
    order_ = epoch_order(train.rows, seed_, epoch);
    EpochStats st;
    double loss_sum = 0;
    int64_t correct = 0;
    with_threads(threads_, [&] {
      for (int64_t first = 0; first < train.rows; first += batch_) {
        const int64_t rows = std::min<int64_t>(batch_, train.rows - first);
        std::copy(order_.begin() + first, order_.begin() + first + rows, index_.begin());
        gather(train, index_.data(), rows);
        forward(rows, PassMode{true, true, true});
        int64_t step_correct = 0;
        const float loss = softmax_ce(train, index_.data(), rows, &step_correct, true);
        backward(rows);
        correct += step_correct;
        ++st.steps;
        if (optimizer_->step(master_.data(), grads_.data(), copy_.data())) {
          loss_sum += loss;
        } else {
          ++st.skipped_steps;
        }
      }
    });
    const int64_t applied = st.steps - st.skipped_steps;
    st.loss = applied > 0 ? loss_sum / double(applied) : std::nan("");
    st.accuracy = double(correct) / double(train.rows);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
  }

  EvalStats evaluate(const Dataset& data) override {
    if (data.features != net_.input.size())
      throw gt::Error(fmt::format("evaluation set has {} features, the model expects {}",
                                  data.features, net_.input.size()));
    EvalStats st;
    if (data.rows == 0) return st;
    double loss_sum = 0;
    int64_t correct = 0;
    with_threads(std::max(1, hardware_threads_), [&] {
      for (int64_t first = 0; first < data.rows; first += eval_rows_) {
        const int64_t rows = std::min<int64_t>(eval_rows_, data.rows - first);
        for (int64_t i = 0; i < rows; ++i) index_[size_t(i)] = int32_t(first + i);
        gather(data, index_.data(), rows);
        forward(rows, PassMode{});
        int64_t c = 0;
        loss_sum += double(softmax_ce(data, index_.data(), rows, &c, false)) * double(rows);
        correct += c;
      }
    });
    st.loss = loss_sum / double(data.rows);
    st.accuracy = double(correct) / double(data.rows);
    return st;
  }

  float loss_scale() const override { return optimizer_->loss_scale(); }

  StepDebug debug_step(const Dataset& batch) override {
    StepDebug d;
    d.loss = debug_forward_backward(batch, false);
    const float* logits = output(int(layers_.size()) - 1);
    d.logits.assign(logits, logits + batch.rows * net_.classes);
    const float inv = 1.0f / optimizer_->loss_scale();
    d.grad_values = grads_;
    for (float& g : d.grad_values) g *= inv;
    if (dense_only_) d.grads = dense_view(layout_, d.grad_values);
    return d;
  }

  std::vector<float> debug_steps(const Dataset& batch, int steps) override {
    std::vector<float> losses;
    for (int s = 0; s < steps; ++s) {
      losses.push_back(debug_forward_backward(batch, true));
      optimizer_->step(master_.data(), grads_.data(), copy_.data());
    }
    return losses;
  }

 private:
  // Runs f with `threads` OpenMP and OpenBLAS threads (oneDNN uses OpenMP's).
  template <class F>
  void with_threads(int threads, F f) {
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
    f();
    omp_set_num_threads(hardware_threads_);
  }

  // The layer that reads layer l's output in forward (l = -1: the input), and the one that
  // reads its input gradient in backward (l = layer count: the logits' gradient), skipping the
  // layers that only pass values through (Flatten, a ReLU fused into its BatchNorm); -1: none.
  int output_reader(int l) const {
    for (int k = l + 1; k < int(net_.layers.size()); ++k)
      if (!renames(k)) return k;
    return -1;
  }
  int gradient_reader(int l) const {
    for (int k = l - 1; k >= 0; --k)
      if (!renames(k)) return k;
    return -1;
  }
  bool renames(int l) const {
    return std::holds_alternative<graph::Flatten>(net_.layers[size_t(l)].spec) ||
           cpu::fused_into_previous(net_, l);
  }
  // How a tensor that layer `reader` reads is stored: GEMM operands are TF32 under tf32.
  Store store_for(int reader) const {
    return Store{policy_.storage, policy_.tf32_gemm && reader >= 0 &&
                                      graph::is_gemm(net_.layers[size_t(reader)].spec)};
  }

  void build_layers() {
    cpu::Context ctx;
    ctx.policy = policy_;
    ctx.naive = naive_;
    ctx.threads = threads_;
    ctx.dropout_rng = &dropout_rng_;
    ctx.dnnl_engine = dnnl_engine_.get();
    ctx.dnnl_stream = dnnl_stream_.get();
    layers_.clear();
    for (int l = 0; l < int(net_.layers.size()); ++l) {
      cpu::Binding b;
      b.layout = &layout_;
      b.master = master_.data();
      b.copy = copy_.data();
      b.grads = grads_.data();
      b.out = store_for(output_reader(l));
      b.grad_in = store_for(gradient_reader(l));
      b.fused_relu = l + 1 < int(net_.layers.size()) && cpu::fused_into_previous(net_, l + 1);
      layers_.push_back(cpu::make_cpu_layer(net_, l, b, ctx));
    }
    input_store_ = store_for(output_reader(-1));
    logits_grad_store_ = store_for(gradient_reader(int(net_.layers.size())));
  }

  float* output(int l) { return outputs_[size_t(l)]; }
  const float* input_of(int l) { return l == 0 ? input_.data() : outputs_[size_t(l - 1)]; }

  void reserve_rows(int64_t rows) {
    if (rows <= capacity_) return;
    capacity_ = rows;
    input_.assign(size_t(rows * net_.input.size()), 0.0f);
    acts_.resize(layers_.size());
    outputs_.assign(layers_.size(), nullptr);
    int64_t widest = net_.input.size();
    for (size_t l = 0; l < layers_.size(); ++l) {
      widest = std::max(widest, net_.layers[l].out.size());
      if (layers_[l]->aliases_input()) {
        acts_[l].clear();
        outputs_[l] = l == 0 ? input_.data() : outputs_[l - 1];
      } else {
        acts_[l].assign(size_t(rows * net_.layers[l].out.size()), 0.0f);
        outputs_[l] = acts_[l].data();
      }
    }
    dcur_.assign(size_t(rows * widest), 0.0f);
    dnext_.assign(size_t(rows * widest), 0.0f);
    for (auto& layer : layers_) layer->reserve(rows);
  }

  void gather(const Dataset& data, const int32_t* idx, int64_t rows) {
    const int f = data.features;
    const int channels = std::max(1, data.channels);
    float* x = input_.data();
    const Store store = input_store_;
    const uint8_t* u8 = data.u8.empty() ? nullptr : data.u8.data();
    const float* f32 = data.f32.data();
    const float scale = data.scale;
    const float* mean = data.mean.empty() ? nullptr : data.mean.data();
    const float* stddev = data.stddev.data();
#pragma omp parallel for num_threads(threads_) if (threads_ > 1 && rows * f > cpu::kParallelMin)
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t r = idx[i];
      float* out = x + i * f;
      if (u8 && mean) {
        const uint8_t* in = u8 + r * f;
        for (int j = 0; j < f; ++j) {
          const int c = j % channels;
          out[j] = store((float(in[j]) * scale - mean[c]) / stddev[c]);
        }
      } else if (u8) {
        const uint8_t* in = u8 + r * f;
        for (int j = 0; j < f; ++j) out[j] = store(float(in[j]) * scale);
      } else {
        const float* in = f32 + r * f;
        for (int j = 0; j < f; ++j) out[j] = store(in[j]);
      }
    }
  }

  void forward(int64_t rows, const PassMode& pass) {
    for (size_t l = 0; l < layers_.size(); ++l)
      layers_[l]->forward(rows, input_of(int(l)), output(int(l)), pass);
  }
  // Mean softmax cross-entropy in FP32 (double sums) over the logits; when `grad`, writes
  // dL/dlogits · loss_scale, stored for the last layer's backward, into dcur_.
  float softmax_ce(const Dataset& data, const int32_t* idx, int64_t rows, int64_t* correct,
                   bool grad) {
    const int c = net_.classes;
    const float* z = output(int(layers_.size()) - 1);
    double loss = 0;
    int64_t hits = 0;
    const float g_scale = optimizer_->loss_scale() / float(rows);
    for (int64_t i = 0; i < rows; ++i) {
      const float* zi = z + i * c;
      const int y = data.labels[size_t(idx[i])];
      int arg = 0;
      float mx = zi[0];
      for (int j = 1; j < c; ++j)
        if (zi[j] > mx) mx = zi[j], arg = j;
      double sum = 0;
      for (int j = 0; j < c; ++j) sum += std::exp(double(zi[j]) - mx);
      const double lse = double(mx) + std::log(sum);
      loss += lse - zi[y];
      hits += arg == y;
      if (grad) {
        float* di = dcur_.data() + i * c;
        for (int j = 0; j < c; ++j) {
          const double p = std::exp(double(zi[j]) - lse);
          di[j] = logits_grad_store_(float((p - (j == y ? 1.0 : 0.0))) * g_scale);
        }
      }
    }
    *correct = hits;
    return float(loss / double(rows));
  }

  // Gradients of the (scaled) loss into grads_, from dL/dlogits in dcur_.
  void backward(int64_t rows) {
    float* dy = dcur_.data();
    float* spare = dnext_.data();
    for (int l = int(layers_.size()) - 1; l >= first_trainable_; --l) {
      auto& layer = *layers_[size_t(l)];
      if (layer.aliases_input()) continue;
      float* dx = l > first_trainable_ ? spare : nullptr;
      layer.backward(rows, input_of(l), output(l), dy, dx);
      std::swap(dy, spare);
    }
  }

  float debug_forward_backward(const Dataset& batch, bool update_statistics) {
    if (batch.features != net_.input.size() || batch.rows <= 0)
      throw gt::Error("internal: debug batch does not match the model");
    reserve_rows(batch.rows);
    float loss = 0;
    with_threads(threads_, [&] {
      for (auto& layer : layers_) layer->reserve(batch.rows);
      std::vector<int32_t> idx(size_t(batch.rows));
      for (int64_t i = 0; i < batch.rows; ++i) idx[size_t(i)] = int32_t(i);
      gather(batch, idx.data(), batch.rows);
      forward(batch.rows, PassMode{true, false, update_statistics});
      int64_t c = 0;
      loss = softmax_ce(batch, idx.data(), batch.rows, &c, true);
      backward(batch.rows);
    });
    return loss;
  }

  bool naive_;
  int hardware_threads_;
  graph::Network net_;
  graph::ParamLayout layout_;
  PrecisionPolicy policy_;
  int batch_ = 0;
  int threads_ = 1;
  int first_trainable_ = 0;
  bool uses_onednn_ = false, dense_only_ = true;
  const Dataset* train_ = nullptr;
  uint64_t seed_ = 0;
  std::mt19937_64 dropout_rng_;
  std::vector<float> master_, grads_, copy_;
  std::unique_ptr<cpu::SlabOptimizer> optimizer_;
  std::unique_ptr<dnnl::engine> dnnl_engine_;
  std::unique_ptr<dnnl::stream> dnnl_stream_;
  std::vector<std::unique_ptr<cpu::CpuLayer>> layers_;
  Store input_store_, logits_grad_store_;
  std::vector<float> input_;
  std::vector<std::vector<float>> acts_;
  std::vector<float*> outputs_;
  std::vector<float> dcur_, dnext_;
  std::vector<int32_t> order_, index_;
  int64_t capacity_ = 0, eval_rows_ = kEvalChunk;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(bool naive_reference) {
  return std::make_unique<CpuBackend>(naive_reference);
}

}  // namespace gt::engine
