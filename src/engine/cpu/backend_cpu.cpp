// The CPU backend: an MLP trained with OpenBLAS sgemm and OpenMP element-wise loops, or — when
// built as the naive reference (make_cpu_backend(true)) — with plain triple loops accumulated in
// double, which the finite-difference and PyTorch tests check first. Mixed precision is
// emulated: weights copies, activations and gradients are rounded to the policy's storage type
// (fp16/bf16) or, for tf32, GEMM inputs to TF32; accumulation, softmax cross-entropy, master
// weights and optimizer moments stay FP32. fp16 runs dynamic loss scaling exactly as the
// precision policy says (skip + halve on inf/NaN, double after `growth_interval` clean steps).
// Every buffer is sized in setup() for max(batch, evaluation chunk) rows; steps allocate nothing.
#include <cblas.h>
#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "common/error.h"
#include "engine/backend.h"
#include "engine/model.h"
#include "engine/rounding.h"

namespace gt::engine {
namespace {

constexpr int64_t kEvalChunk = 1024;
constexpr int64_t kParallelMin = 1 << 14;  // element-wise loops below this stay serial
// Steps cheaper than this many FLOPs run on one thread: on small MLPs (mlp:128 is 13 MFLOP a
// step at batch 32, 105 at 256) thread wake-ups and barriers cost more than they save, and on a
// loaded machine a descheduled worker stalls every parallel region (measured on the 2-core CI
// box: batch 256 ran 84k samples/s on 1 thread, 7.9k on 2; bench/cpu/RESULTS.md).
constexpr double kThreadedStepFlops = 2e9;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(bool naive) : naive_(naive) {}

  std::string describe() const override {
    if (naive_) return "cpu (naive reference loops)";
    return fmt::format("cpu (OpenBLAS sgemm + OpenMP, {} thread{})", threads_,
                       threads_ == 1 ? "" : "s");
  }

  void setup(const ModelSpec& model, const OptimizerSpec& opt, Precision precision, int batch_size,
             const Dataset& train, uint64_t seed) override {
    if (batch_size <= 0)
      throw gt::UsageError(fmt::format("batch size {} must be positive", batch_size));
    spec_ = model;
    opt_ = opt;
    policy_ = policy_for(precision);
    batch_ = batch_size;
    train_ = train;
    seed_ = seed;
    dropout_rng_.seed(seed ^ 0xD50C0FFEEull);
    layers_ = layer_count(spec_);
    threads_ = naive_ || double(batch_) * train_flops_per_sample(spec_) < kThreadedStepFlops
                   ? 1
                   : std::max(1, omp_get_max_threads());
    master_ = glorot_uniform(spec_, seed);  // callers normally overwrite with set_parameters
    grads_ = master_;
    wcopy_ = master_;
    m_ = master_;
    v_ = master_;
    for (auto* set : {&m_, &v_})
      for (int l = 0; l < layers_; ++l) {
        std::fill(set->weights[l].begin(), set->weights[l].end(), 0.0f);
        std::fill(set->biases[l].begin(), set->biases[l].end(), 0.0f);
      }
    reserve_rows(std::max<int64_t>(batch_, kEvalChunk));
    order_.reserve(train_.rows);
    index_.resize(batch_);
    scale_ = policy_.loss_scaling ? policy_.initial_scale : 1.0f;
    clean_steps_ = 0;
    adam_t_ = 0;
    refresh_copies();
  }

  void set_parameters(const Parameters& p) override {
    check_shapes(p);
    master_ = p;
    refresh_copies();
  }

  Parameters parameters() override { return master_; }

  EpochStats train_epoch(int epoch) override {
    const auto t0 = std::chrono::steady_clock::now();
    openblas_set_num_threads(threads_);
    order_ = epoch_order(train_.rows, seed_, epoch);
    EpochStats st;
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t first = 0; first < train_.rows; first += batch_) {
      const int64_t rows = std::min<int64_t>(batch_, train_.rows - first);
      std::copy(order_.begin() + first, order_.begin() + first + rows, index_.begin());
      gather(train_, index_.data(), rows);
      forward(rows, spec_.dropout > 0);
      int64_t step_correct = 0;
      const float loss = loss_and_grad(train_, index_.data(), rows, &step_correct);
      backward(rows);
      correct += step_correct;
      ++st.steps;
      if (optimizer_step()) {
        loss_sum += loss;
      } else {
        ++st.skipped_steps;
      }
    }
    const int64_t applied = st.steps - st.skipped_steps;
    st.loss = applied > 0 ? loss_sum / double(applied) : std::nan("");
    st.accuracy = double(correct) / double(train_.rows);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
  }

  EvalStats evaluate(const Dataset& data) override {
    if (data.features != spec_.inputs)
      throw gt::Error(fmt::format("evaluation set has {} features, the model expects {}",
                                  data.features, spec_.inputs));
    EvalStats st;
    if (data.rows == 0) return st;
    openblas_set_num_threads(std::max(1, omp_get_max_threads()));  // 1024-row chunks
    double loss_sum = 0;
    int64_t correct = 0;
    std::vector<int32_t> idx(kEvalChunk);
    for (int64_t first = 0; first < data.rows; first += kEvalChunk) {
      const int64_t rows = std::min<int64_t>(kEvalChunk, data.rows - first);
      for (int64_t i = 0; i < rows; ++i) idx[i] = int32_t(first + i);
      gather(data, idx.data(), rows);
      forward(rows, false);
      int64_t c = 0;
      loss_sum += double(softmax_ce(data, idx.data(), rows, &c, false)) * double(rows);
      correct += c;
    }
    st.loss = loss_sum / double(data.rows);
    st.accuracy = double(correct) / double(data.rows);
    return st;
  }

  float loss_scale() const override { return scale_; }

  StepDebug debug_step(const Dataset& batch) override {
    StepDebug d;
    d.loss = debug_forward_backward(batch);
    const int64_t rows = batch.rows, classes = spec_.classes;
    d.logits.assign(act_[layers_].begin(), act_[layers_].begin() + rows * classes);
    d.grads = grads_;
    const float inv = 1.0f / scale_;
    for (int l = 0; l < layers_; ++l) {
      for (auto& g : d.grads.weights[l]) g *= inv;
      for (auto& g : d.grads.biases[l]) g *= inv;
    }
    return d;
  }

  std::vector<float> debug_steps(const Dataset& batch, int steps) override {
    std::vector<float> losses;
    for (int s = 0; s < steps; ++s) {
      losses.push_back(debug_forward_backward(batch));
      optimizer_step();
    }
    return losses;
  }

 private:
  void check_shapes(const Parameters& p) const {
    bool ok = int(p.weights.size()) == layers_ && int(p.biases.size()) == layers_;
    for (int l = 0; ok && l < layers_; ++l)
      ok = p.weights[l].size() == size_t(layer_inputs(spec_, l)) * layer_outputs(spec_, l) &&
           p.biases[l].size() == size_t(layer_outputs(spec_, l));
    if (!ok) throw gt::Error("internal: parameters do not match the model's layer shapes");
  }

  void reserve_rows(int64_t rows) {
    if (rows <= capacity_) return;
    capacity_ = rows;
    act_.resize(layers_ + 1);
    pre_.resize(layers_);
    mask_.resize(layers_);
    int widest = spec_.inputs;
    for (int l = 0; l < layers_; ++l) widest = std::max(widest, layer_outputs(spec_, l));
    act_[0].assign(size_t(rows) * spec_.inputs, 0.0f);
    for (int l = 0; l < layers_; ++l) {
      act_[l + 1].assign(size_t(rows) * layer_outputs(spec_, l), 0.0f);
      mask_[l].assign(spec_.dropout > 0 ? size_t(rows) * layer_outputs(spec_, l) : 0, 1.0f);
    }
    dcur_.assign(size_t(rows) * widest, 0.0f);
    dnext_.assign(size_t(rows) * widest, 0.0f);
  }

  // Rounding of everything stored between ops / fed to a GEMM under this policy.
  float store(float x) const {
    if (policy_.tf32_gemm) return round_tf32(x);
    return round_storage(x, policy_.storage);
  }
  bool rounds() const { return policy_.tf32_gemm || policy_.storage != StorageType::f32; }

  void refresh_copies() {
    for (int l = 0; l < layers_; ++l) {
      auto& w = wcopy_.weights[l];
      const auto& mw = master_.weights[l];
      for (size_t i = 0; i < w.size(); ++i) w[i] = store(mw[i]);
      auto& b = wcopy_.biases[l];
      for (size_t i = 0; i < b.size(); ++i)
        b[i] = round_storage(master_.biases[l][i], policy_.storage);
    }
  }

  void gather(const Dataset& data, const int32_t* idx, int64_t rows) {
    const int f = spec_.inputs;
    float* x = act_[0].data();
#pragma omp parallel for num_threads(threads_) if (threads_ > 1 && rows * f > kParallelMin)
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t r = idx[i];
      float* out = x + i * f;
      if (!data.u8.empty()) {
        const uint8_t* in = data.u8.data() + r * f;
        for (int j = 0; j < f; ++j) out[j] = store(float(in[j]) * data.scale);
      } else {
        const float* in = data.f32.data() + r * f;
        for (int j = 0; j < f; ++j) out[j] = store(in[j]);
      }
    }
  }

  // C[m][n] (=|+=) A·B with row-major operands; ta/tb transpose A ([k][m]) / B ([n][k]).
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
            float* c) const {
    if (!naive_) {
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

  void forward(int64_t rows, bool dropout) {
    for (int l = 0; l < layers_; ++l) {
      const int in = layer_inputs(spec_, l), out = layer_outputs(spec_, l);
      float* z = act_[l + 1].data();
      gemm(false, true, rows, out, in, act_[l].data(), wcopy_.weights[l].data(), z);
      const float* b = wcopy_.biases[l].data();
      const bool hidden = l + 1 < layers_;
      const bool drop = hidden && dropout;
      if (drop) {
        const float keep = 1.0f - spec_.dropout, inv = 1.0f / keep;
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        for (size_t i = 0; i < size_t(rows) * out; ++i)
          mask_[l][i] = u(dropout_rng_) < keep ? inv : 0.0f;
      } else if (hidden && spec_.dropout > 0) {
        std::fill(mask_[l].begin(), mask_[l].begin() + rows * out, 1.0f);
      }
      const float* mk = drop || (hidden && spec_.dropout > 0) ? mask_[l].data() : nullptr;
      // Epilogue: bias, storage rounding, ReLU (hidden layers), dropout.
#pragma omp parallel for num_threads(threads_) if (threads_ > 1 && rows * out > kParallelMin)
      for (int64_t i = 0; i < rows; ++i) {
        float* zi = z + i * out;
        for (int j = 0; j < out; ++j) {
          float v = round_storage(zi[j] + b[j], policy_.storage);
          if (hidden) {
            v = v > 0.0f ? v : 0.0f;
            if (mk) v = round_storage(v * mk[i * out + j], policy_.storage);
            if (policy_.tf32_gemm) v = round_tf32(v);
          }
          zi[j] = v;
        }
      }
    }
  }

  // Mean softmax cross-entropy in FP32 (double sums) over the logits in act_[layers_]; when
  // `grad`, writes dL/dlogits · loss_scale, rounded to storage, into dcur_.
  float softmax_ce(const Dataset& data, const int32_t* idx, int64_t rows, int64_t* correct,
                   bool grad) {
    const int c = spec_.classes;
    const float* z = act_[layers_].data();
    double loss = 0;
    int64_t hits = 0;
    const float g_scale = scale_ / float(rows);
    for (int64_t i = 0; i < rows; ++i) {
      const float* zi = z + i * c;
      const int y = data.labels[idx[i]];
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
          di[j] = store(float((p - (j == y ? 1.0 : 0.0))) * g_scale);
        }
      }
    }
    *correct = hits;
    return float(loss / double(rows));
  }

  float loss_and_grad(const Dataset& data, const int32_t* idx, int64_t rows, int64_t* correct) {
    return softmax_ce(data, idx, rows, correct, true);
  }

  // Gradients of the (scaled) loss into grads_, from dL/dlogits in dcur_.
  void backward(int64_t rows) {
    for (int l = layers_ - 1; l >= 0; --l) {
      const int in = layer_inputs(spec_, l), out = layer_outputs(spec_, l);
      const float* dz = dcur_.data();
      auto& gw = grads_.weights[l];
      auto& gb = grads_.biases[l];
      gemm(true, false, out, in, rows, dz, act_[l].data(), gw.data());
      for (int j = 0; j < out; ++j) {
        double s = 0;
        for (int64_t i = 0; i < rows; ++i) s += dz[i * out + j];
        gb[j] = round_storage(float(s), policy_.storage);
      }
      if (policy_.storage != StorageType::f32)
        for (auto& g : gw) g = round_storage(g, policy_.storage);
      if (l == 0) break;
      // dA_{l} = dZ · W, then through dropout and ReLU of layer l-1 (its output is act_[l]).
      float* da = dnext_.data();
      gemm(false, false, rows, in, out, dz, wcopy_.weights[l].data(), da);
      const float* a = act_[l].data();
      const float* mk = spec_.dropout > 0 ? mask_[l - 1].data() : nullptr;
#pragma omp parallel for num_threads(threads_) if (threads_ > 1 && rows * in > kParallelMin)
      for (int64_t i = 0; i < rows * in; ++i) {
        float g = a[i] > 0.0f ? round_storage(da[i], policy_.storage) : 0.0f;
        if (mk) g = round_storage(g * mk[i], policy_.storage);
        da[i] = policy_.tf32_gemm ? round_tf32(g) : g;
      }
      std::swap(dcur_, dnext_);
    }
  }

  // Unscale, check, update. Returns false when an fp16 overflow skipped the step.
  bool optimizer_step() {
    const float inv = 1.0f / scale_;
    if (policy_.loss_scaling) {
      bool finite = true;
      for (int l = 0; l < layers_ && finite; ++l) {
        for (float g : grads_.weights[l]) finite &= std::isfinite(g);
        for (float g : grads_.biases[l]) finite &= std::isfinite(g);
      }
      if (!finite) {
        scale_ *= 0.5f;
        clean_steps_ = 0;
        return false;
      }
      if (++clean_steps_ >= policy_.growth_interval) {
        clean_steps_ = 0;
        next_scale_ = scale_ * 2.0f;
      } else {
        next_scale_ = scale_;
      }
    }
    ++adam_t_;
    for (int l = 0; l < layers_; ++l) {
      update(master_.weights[l], grads_.weights[l], m_.weights[l], v_.weights[l], wcopy_.weights[l],
             inv, true);
      update(master_.biases[l], grads_.biases[l], m_.biases[l], v_.biases[l], wcopy_.biases[l], inv,
             false);
    }
    if (policy_.loss_scaling) scale_ = next_scale_;
    return true;
  }

  // Fused optimizer over one tensor: unscale, moments, master update, refreshed low-precision copy.
  void update(std::vector<float>& w, const std::vector<float>& g, std::vector<float>& m,
              std::vector<float>& v, std::vector<float>& copy, float inv, bool gemm_operand) {
    const int64_t n = int64_t(w.size());
    float* pw = w.data();
    const float* pg = g.data();
    float* pm = m.data();
    float* pv = v.data();
    float* pc = copy.data();
    const float lr = opt_.lr;
    const StorageType st = policy_.storage;
    const bool tf32 = policy_.tf32_gemm && gemm_operand;
    if (opt_.kind == OptimizerSpec::Kind::adam) {
      const float b1 = opt_.beta1, b2 = opt_.beta2, eps = opt_.eps;
      const float bc1 = 1.0f - std::pow(b1, float(adam_t_));
      const float bc2_sqrt = std::sqrt(1.0f - std::pow(b2, float(adam_t_)));
      const float step = lr / bc1;
#pragma omp parallel for simd num_threads(threads_) if (threads_ > 1 && n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = pg[i] * inv;
        pm[i] = b1 * pm[i] + (1.0f - b1) * gi;
        pv[i] = b2 * pv[i] + (1.0f - b2) * gi * gi;
        pw[i] -= step * pm[i] / (std::sqrt(pv[i]) / bc2_sqrt + eps);
        pc[i] = tf32 ? round_tf32(pw[i]) : round_storage(pw[i], st);
      }
    } else {
      const float mu = opt_.momentum;
#pragma omp parallel for simd num_threads(threads_) if (threads_ > 1 && n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = pg[i] * inv;
        pm[i] = adam_t_ == 1 ? gi : mu * pm[i] + gi;
        pw[i] -= lr * pm[i];
        pc[i] = tf32 ? round_tf32(pw[i]) : round_storage(pw[i], st);
      }
    }
  }

  float debug_forward_backward(const Dataset& batch) {
    if (batch.features != spec_.inputs || batch.rows <= 0)
      throw gt::Error("internal: debug batch does not match the model");
    reserve_rows(batch.rows);
    openblas_set_num_threads(threads_);
    std::vector<int32_t> idx(batch.rows);
    for (int64_t i = 0; i < batch.rows; ++i) idx[i] = int32_t(i);
    gather(batch, idx.data(), batch.rows);
    forward(batch.rows, false);
    int64_t c = 0;
    const float loss = softmax_ce(batch, idx.data(), batch.rows, &c, true);
    backward(batch.rows);
    return loss;
  }

  bool naive_;
  ModelSpec spec_;
  OptimizerSpec opt_;
  PrecisionPolicy policy_;
  int batch_ = 0;
  int layers_ = 0;
  int threads_ = 1;
  Dataset train_;
  uint64_t seed_ = 0;
  std::mt19937_64 dropout_rng_;
  Parameters master_, grads_, wcopy_, m_, v_;
  std::vector<std::vector<float>> act_, pre_, mask_;
  std::vector<float> dcur_, dnext_;
  std::vector<int32_t> order_, index_;
  int64_t capacity_ = 0;
  float scale_ = 1.0f, next_scale_ = 1.0f;
  int clean_steps_ = 0;
  int64_t adam_t_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(bool naive_reference) {
  return std::make_unique<CpuBackend>(naive_reference);
}

}  // namespace gt::engine
