// GPU tests of the CUDA backend (each skips cleanly without a GPU):
//  - reference state against PyTorch (float64): make_cuda_reference.py (a CTest fixture)
//    writes fixed batches, initial weights, logits, loss, every gradient, the losses of 10
//    optimizer steps and the final weights; debug_step/debug_steps must match per precision, |a−b|
//    judged as a relative norm error ‖a−b‖/‖ref‖ against one tolerance table; the worst error is
//    printed;
//  - CUDA graph ≡ eager launches (bit-identical parameters after two epochs);
//  - fused cuBLASLt epilogues ≡ unfused kernels; the fused small-MLP kernel ≡ the cuBLASLt path;
//  - fp16 dynamic loss scaling: an overflowing step is skipped and the scale halves on the
//    device; the scale doubles after 2000 clean steps; bf16/fp32 never scale.
#include "engine/cuda/cuda_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/temp_dir.h"
#include "engine/backend.h"
#include "reference.h"

namespace gt::engine {
namespace {

bool have_gpu() { return cuda_device_count() > 0; }

#define REQUIRE_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device"

// Relative-norm tolerances per precision: the shared table (tolerances.h).
double tolerance(Precision p) { return testing::tolerance(p).norm; }

double rel_error(const std::vector<float>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  EXPECT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

double rel_error(const std::vector<float>& got, const std::vector<float>& ref) {
  return rel_error(got, std::vector<double>(ref.begin(), ref.end()));
}

std::vector<float> flatten(const Parameters& p) {
  std::vector<float> out;
  for (size_t l = 0; l < p.weights.size(); ++l) {
    out.insert(out.end(), p.weights[l].begin(), p.weights[l].end());
    out.insert(out.end(), p.biases[l].begin(), p.biases[l].end());
  }
  return out;
}

Dataset random_dataset(int64_t rows, int features, int classes, uint64_t seed) {
  Dataset d;
  d.rows = rows;
  d.features = features;
  d.classes = classes;
  std::mt19937_64 rng(seed);
  d.u8.resize(size_t(rows) * features);
  // Class-dependent pixels so that training actually learns something.
  d.labels.resize(size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int label = int(rng() % classes);
    d.labels[r] = label;
    for (int j = 0; j < features; ++j) {
      const int base = (j % classes == label) ? 160 : 40;
      d.u8[size_t(r) * features + j] = uint8_t(base + int(rng() % 90));
    }
  }
  return d;
}

Dataset first_rows(const Dataset& d, int64_t count) {
  Dataset out = d;
  out.rows = count;
  out.u8.resize(size_t(count) * d.features);
  out.labels.resize(size_t(count));
  return out;
}

ModelSpec spec(int inputs, std::vector<int> hidden, int classes) {
  ModelSpec m;
  m.inputs = inputs;
  m.hidden = std::move(hidden);
  m.classes = classes;
  return m;
}

Parameters glorot(const ModelSpec& m, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::vector<int> dims{m.inputs};
  dims.insert(dims.end(), m.hidden.begin(), m.hidden.end());
  dims.push_back(m.classes);
  Parameters p;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    const float limit = scale * std::sqrt(6.0f / float(dims[l] + dims[l + 1]));
    std::uniform_real_distribution<float> u(-limit, limit);
    std::vector<float> w(size_t(dims[l]) * dims[l + 1]);
    for (float& x : w) x = u(rng);
    std::vector<float> b(size_t(dims[l + 1]));
    for (float& x : b) x = 0.1f * u(rng);
    p.weights.push_back(w);
    p.biases.push_back(b);
  }
  return p;
}

// ---------------------------------------------------------------- PyTorch reference state

// One case of make_cuda_reference.py: a model, a batch size and an optimizer.
struct RefCase {
  std::string name;
  ModelSpec model;
  int rows;
  std::string optimizer;
  float lr;
};

RefCase ref_case(const nlohmann::json& c) {
  return {
      c["name"].get<std::string>(),
      spec(c["inputs"].get<int>(), c["hidden"].get<std::vector<int>>(), c["classes"].get<int>()),
      c["rows"].get<int>(), c["optimizer"].get<std::string>(), c["lr"].get<float>()};
}

// make_cuda_reference.py's float64 state (written by the engine_reference_cuda fixture),
// loaded once per test process.
const nlohmann::json& reference() {
  static const nlohmann::json cached = nlohmann::json::parse(
      std::ifstream(testing::reference_file("cuda_reference.json", "make_cuda_reference.py")));
  return cached;
}

Parameters params_from(const nlohmann::json& j) {
  Parameters p;
  for (const auto& layer : j) {
    p.weights.push_back(layer[0].get<std::vector<float>>());
    p.biases.push_back(layer[1].get<std::vector<float>>());
  }
  return p;
}

std::vector<double> flat_ref(const nlohmann::json& j) {
  std::vector<double> out;
  for (const auto& layer : j) {
    for (double v : layer[0]) out.push_back(v);
    for (double v : layer[1]) out.push_back(v);
  }
  return out;
}

class CudaReference : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaReference, MatchesPyTorchFloat64) {
  REQUIRE_GPU();
  const nlohmann::json& ref = reference();
  const Precision precision = GetParam();
  const double tol = tolerance(precision);
  double worst = 0;
  for (const nlohmann::json& r : ref) {
    const RefCase c = ref_case(r["case"]);
    Dataset batch;
    batch.rows = c.rows;
    batch.features = c.model.inputs;
    batch.classes = c.model.classes;
    batch.u8 = r["u8"].get<std::vector<uint8_t>>();
    batch.labels = r["labels"].get<std::vector<int32_t>>();
    OptimizerSpec opt;
    opt.kind = c.optimizer == "adam" ? OptimizerSpec::Kind::adam : OptimizerSpec::Kind::sgd;
    opt.lr = c.lr;
    for (int mode = 0; mode < 3; ++mode) {
      // 0: fused MLP kernel where the shape allows, 1: cuBLASLt fused epilogues, 2: unfused.
      const bool fused = mode < 2;
      CudaOptions options;
      options.fused_mlp = mode == 0;
      options.fused_epilogues = fused;
      auto backend = make_cuda_backend(0, options);
      backend->setup(c.model, opt, precision, c.rows, batch, 5);
      backend->set_parameters(params_from(r["init"]));
      const StepDebug d = backend->debug_step(batch);
      const double e_logits = rel_error(d.logits, r["logits"].get<std::vector<double>>());
      const double e_loss = std::abs(d.loss - r["loss"].get<double>()) / r["loss"].get<double>();
      const double e_grads = rel_error(flatten(d.grads), flat_ref(r["grads"]));
      // Per-layer gradients too: a wrong small tensor (a bias) hides in the global norm.
      double e_layer = 0;
      const Parameters ref_grads = params_from(r["grads"]);
      for (size_t l = 0; l < ref_grads.weights.size(); ++l) {
        e_layer = std::max(e_layer, rel_error(d.grads.weights[l], ref_grads.weights[l]));
        e_layer = std::max(e_layer, rel_error(d.grads.biases[l], ref_grads.biases[l]));
      }
      const std::vector<float> losses = backend->debug_steps(batch, 10);
      const double e_losses = rel_error(losses, r["losses"].get<std::vector<double>>());
      const double e_final = rel_error(flatten(backend->parameters()), flat_ref(r["final"]));
      const char* mode_name = mode == 0 ? "fused-mlp" : fused ? "fused" : "unfused";
      const std::string where = c.name + " " + to_string(precision) + " " + mode_name;
      EXPECT_LE(e_logits, tol) << where << " logits";
      EXPECT_LE(e_loss, tol) << where << " loss";
      EXPECT_LE(e_grads, tol) << where << " gradients";
      EXPECT_LE(e_layer, 2 * tol) << where << " per-layer gradients";
      EXPECT_LE(e_losses, tol) << where << " 10-step losses";
      EXPECT_LE(e_final, 5 * tol) << where << " weights after 10 steps";
      worst = std::max({worst, e_logits, e_loss, e_grads, e_layer / 2, e_losses, e_final / 5});
      std::printf(
          "  %-28s %-4s %-7s logits %.2e loss %.2e grads %.2e layer %.2e steps %.2e "
          "final %.2e\n",
          c.name.c_str(), to_string(precision).c_str(), mode_name, e_logits, e_loss, e_grads,
          e_layer, e_losses, e_final);
    }
  }
  std::printf("OK %s: worst relative error %.3g (tolerance %.1g)\n", to_string(precision).c_str(),
              worst, tol);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaReference,
                         ::testing::Values(Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16),
                         [](const auto& info) { return to_string(info.param); });

// ---------------------------------------------------------------- invariances

class CudaInvariance : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaInvariance, GraphEqualsEagerLaunches) {
  REQUIRE_GPU();
  const Precision precision = GetParam();
  const ModelSpec model = spec(100, {64, 32}, 10);
  const Dataset train = random_dataset(1000, 100, 10, 3);  // 31 full batches + a tail of 8
  std::vector<std::vector<float>> params;
  std::vector<EpochStats> stats;
  for (bool graphs : {true, false}) {
    CudaOptions options;
    options.graphs = graphs;
    options.graph_steps = 8;  // chunks, a remainder graph and a tail graph
    auto backend = make_cuda_backend(0, options);
    backend->setup(model, OptimizerSpec{}, precision, 32, train, 9);
    backend->set_parameters(glorot(model, 4));
    backend->train_epoch(0);
    stats.push_back(backend->train_epoch(1));
    params.push_back(flatten(backend->parameters()));
  }
  ASSERT_EQ(params[0].size(), params[1].size());
  size_t differing = 0;
  for (size_t i = 0; i < params[0].size(); ++i) differing += params[0][i] != params[1][i];
  EXPECT_EQ(differing, 0u) << "parameters differ between graph and eager launches";
  EXPECT_EQ(stats[0].steps, 32);
  EXPECT_EQ(stats[0].steps, stats[1].steps);
  EXPECT_EQ(stats[0].skipped_steps, stats[1].skipped_steps);
  EXPECT_NEAR(stats[0].loss, stats[1].loss, 1e-9 * std::abs(stats[1].loss));
  EXPECT_EQ(stats[0].accuracy, stats[1].accuracy);
  std::printf("OK graph == eager (%s): %zu of %zu parameters differ\n",
              to_string(precision).c_str(), differing, params[0].size());
}

TEST_P(CudaInvariance, FusedEpiloguesEqualUnfused) {
  REQUIRE_GPU();
  const Precision precision = GetParam();
  const ModelSpec model = spec(784, {256, 128}, 10);
  const Dataset train = random_dataset(640, 784, 10, 5);
  const Dataset batch = first_rows(train, 64);
  std::vector<StepDebug> debug;
  std::vector<std::vector<float>> trained;
  for (bool fused : {true, false}) {
    CudaOptions options;
    options.fused_epilogues = fused;
    auto backend = make_cuda_backend(0, options);
    backend->setup(model, OptimizerSpec{}, precision, 64, train, 9);
    backend->set_parameters(glorot(model, 6));
    debug.push_back(backend->debug_step(batch));
    backend->train_epoch(0);
    trained.push_back(flatten(backend->parameters()));
  }
  // FP32 storage: the epilogue adds the bias in FP32 exactly as the kernel does. Half storage:
  // the unfused path rounds the GEMM result before adding the bias, and cuBLASLt's fused bias-
  // gradient reductions (DRELU_BGRAD, BGRADB) were seen to be less accurate than the FP32
  // bias_grad kernel (1e-2 for fp16, 3.5e-2 for bf16 against 5e-4 unfused, vs float64 PyTorch),
  // so half precisions are held to the reference tolerance.
  const double tol =
      precision == Precision::fp32 || precision == Precision::tf32 ? 1e-6 : tolerance(precision);
  const double e_logits = rel_error(debug[0].logits, debug[1].logits);
  const double e_grads = rel_error(flatten(debug[0].grads), flatten(debug[1].grads));
  const double e_trained = rel_error(trained[0], trained[1]);
  EXPECT_LE(e_logits, tol);
  EXPECT_LE(e_grads, tol);
  EXPECT_LE(e_trained, 20 * tol);
  std::printf("OK fused == unfused (%s): logits %.2e gradients %.2e after an epoch %.2e\n",
              to_string(precision).c_str(), e_logits, e_grads, e_trained);
}

// The fused small-MLP kernel (one persistent kernel per epoch) against the cuBLASLt path: one
// debug step (logits, loss, gradients) and two shuffled epochs with a partial last batch (weights,
// loss, accuracy) agree within the precision's tolerance, on the reference shape (bytes, Adam)
// and on one whose sizes are not multiples of 4 (FP32 features, SGD, 2 blocks' worth of units).
TEST_P(CudaInvariance, FusedMlpKernelEqualsCublasLtPath) {
  REQUIRE_GPU();
  const Precision precision = GetParam();
  struct Shape {
    ModelSpec model;
    int64_t rows;
    int batch;
    bool features_f32;
    OptimizerSpec::Kind optimizer;
  };
  const std::vector<Shape> shapes{
      {spec(784, {128}, 10), 1000, 32, false, OptimizerSpec::Kind::adam},
      {spec(50, {7}, 7), 333, 13, true, OptimizerSpec::Kind::sgd},
  };
  const double tol = tolerance(precision);
  for (const Shape& sh : shapes) {
    Dataset train = random_dataset(sh.rows, sh.model.inputs, sh.model.classes, 7);
    if (sh.features_f32) {
      for (uint8_t b : train.u8) train.f32.push_back((float(b) - 100.0f) / 50.0f);
      train.u8.clear();
    }
    Dataset batch = train;
    batch.rows = sh.batch;
    batch.labels.resize(size_t(sh.batch));
    if (sh.features_f32)
      batch.f32.resize(size_t(sh.batch) * sh.model.inputs);
    else
      batch.u8.resize(size_t(sh.batch) * sh.model.inputs);
    OptimizerSpec opt;
    opt.kind = sh.optimizer;
    opt.lr = sh.optimizer == OptimizerSpec::Kind::sgd ? 1e-2f : 1e-3f;
    std::vector<std::string> names;
    std::vector<StepDebug> debug;
    std::vector<std::vector<float>> trained;
    std::vector<EpochStats> stats;
    std::vector<EvalStats> evals;
    for (bool fused : {true, false}) {
      CudaOptions options;
      options.fused_mlp = fused;
      auto backend = make_cuda_backend(0, options);
      backend->setup(sh.model, opt, precision, sh.batch, train, 9);
      names.push_back(backend->describe());
      backend->set_parameters(glorot(sh.model, 6));
      debug.push_back(backend->debug_step(batch));
      backend->train_epoch(0);
      stats.push_back(backend->train_epoch(1));
      trained.push_back(flatten(backend->parameters()));
      evals.push_back(backend->evaluate(train));
    }
    const std::string where = to_string(precision) + " mlp:" + std::to_string(sh.model.hidden[0]);
    EXPECT_NE(names[0].find("fused MLP"), std::string::npos) << where << ": " << names[0];
    EXPECT_EQ(names[1].find("fused MLP"), std::string::npos) << where << ": " << names[1];
    const double e_logits = rel_error(debug[0].logits, debug[1].logits);
    const double e_loss = std::abs(debug[0].loss - debug[1].loss) / std::abs(debug[1].loss);
    const double e_grads = rel_error(flatten(debug[0].grads), flatten(debug[1].grads));
    const double e_trained = rel_error(trained[0], trained[1]);
    EXPECT_LE(e_logits, tol) << where;
    EXPECT_LE(e_loss, tol) << where;
    EXPECT_LE(e_grads, tol) << where;
    EXPECT_LE(e_trained, 5 * tol) << where;
    EXPECT_EQ(stats[0].steps, (sh.rows + sh.batch - 1) / sh.batch) << where;
    EXPECT_EQ(stats[0].steps, stats[1].steps) << where;
    EXPECT_EQ(stats[0].skipped_steps, stats[1].skipped_steps) << where;
    EXPECT_NEAR(stats[0].loss, stats[1].loss, 5 * tol * std::abs(stats[1].loss)) << where;
    EXPECT_NEAR(stats[0].accuracy, stats[1].accuracy, 0.02) << where;
    EXPECT_NEAR(evals[0].loss, evals[1].loss, 5 * tol * std::abs(evals[1].loss)) << where;
    EXPECT_NEAR(evals[0].accuracy, evals[1].accuracy, 0.02) << where;
    std::printf(
        "OK fused MLP kernel == cuBLASLt (%s): logits %.2e loss %.2e gradients %.2e after two "
        "epochs %.2e, eval loss %.5f vs %.5f\n",
        where.c_str(), e_logits, e_loss, e_grads, e_trained, evals[0].loss, evals[1].loss);
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaInvariance,
                         ::testing::Values(Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16),
                         [](const auto& info) { return to_string(info.param); });

// ---------------------------------------------------------------- loss scaling

TEST(CudaLossScaling, OverflowSkipsTheStepAndHalvesTheScale) {
  REQUIRE_GPU();
  const ModelSpec model = spec(100, {64}, 10);
  const Dataset train = random_dataset(256, 100, 10, 7);
  const Dataset batch = first_rows(train, 2);
  auto backend = make_cuda_backend(0);
  backend->setup(model, OptimizerSpec{}, Precision::fp16, 2, train, 1);
  EXPECT_EQ(backend->loss_scale(), 65536.0f);
  // Huge weights: hidden activations in the thousands, so 65536-scaled gradients overflow fp16.
  const Parameters huge = glorot(model, 2, 30.0f);
  backend->set_parameters(huge);
  const Parameters rounded = backend->parameters();
  backend->debug_steps(batch, 1);
  EXPECT_EQ(backend->loss_scale(), 32768.0f);
  EXPECT_EQ(flatten(backend->parameters()), flatten(rounded)) << "a skipped step changed weights";
  // In an epoch the overflowing steps are counted and the scale keeps falling until they fit.
  backend->set_parameters(huge);
  const EpochStats stats = backend->train_epoch(0);
  EXPECT_GE(stats.skipped_steps, 1);
  EXPECT_LT(backend->loss_scale(), 65536.0f);
  EXPECT_EQ(stats.steps, 128);
  std::printf("OK fp16 overflow: %lld of %lld steps skipped, scale now %g\n",
              (long long)stats.skipped_steps, (long long)stats.steps, backend->loss_scale());
}

TEST(CudaLossScaling, ScaleGrowsAfterTheInterval) {
  REQUIRE_GPU();
  const ModelSpec model = spec(16, {8}, 4);
  const Dataset train = random_dataset(64, 16, 4, 8);
  const Dataset batch = first_rows(train, 16);
  OptimizerSpec opt;
  opt.lr = 1e-4f;
  auto backend = make_cuda_backend(0);
  backend->setup(model, opt, Precision::fp16, 16, train, 1);
  backend->set_parameters(glorot(model, 3));
  const int interval = policy_for(Precision::fp16).growth_interval;
  backend->debug_steps(batch, interval - 1);
  EXPECT_EQ(backend->loss_scale(), 65536.0f);
  backend->debug_steps(batch, 1);
  EXPECT_EQ(backend->loss_scale(), 131072.0f);
}

TEST(CudaLossScaling, OnlyFp16Scales) {
  REQUIRE_GPU();
  const ModelSpec model = spec(16, {8}, 4);
  const Dataset train = random_dataset(64, 16, 4, 8);
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::bf16}) {
    auto backend = make_cuda_backend(0);
    backend->setup(model, OptimizerSpec{}, p, 16, train, 1);
    EXPECT_EQ(backend->loss_scale(), 1.0f) << to_string(p);
    EXPECT_EQ(backend->train_epoch(0).skipped_steps, 0) << to_string(p);
  }
}

// ---------------------------------------------------------------- training and errors

TEST(CudaTraining, LearnsAndEvaluates) {
  REQUIRE_GPU();
  const ModelSpec model = spec(100, {64}, 10);
  const Dataset train = random_dataset(2000, 100, 10, 21);
  const Dataset test = random_dataset(500, 100, 10, 22);
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::fp16, Precision::bf16}) {
    auto backend = make_cuda_backend(0);
    backend->setup(model, OptimizerSpec{}, p, 50, train, 3);
    const EvalStats before = backend->evaluate(test);
    EpochStats last;
    for (int e = 0; e < 3; ++e) last = backend->train_epoch(e);
    const EvalStats after = backend->evaluate(test);
    EXPECT_EQ(last.steps, 40);
    EXPECT_LT(after.loss, before.loss) << to_string(p);
    EXPECT_GT(after.accuracy, 0.9) << to_string(p);
    EXPECT_GT(last.accuracy, 0.9) << to_string(p);
    EXPECT_GT(last.seconds, 0.0);
  }
}

TEST(CudaTraining, ShuffleVisitsEverySampleOnce) {
  REQUIRE_GPU();
  // With lr 0 the model is fixed, so an epoch's training loss and accuracy equal those of
  // evaluate() on the same set exactly when the on-GPU permutation visits every row once (a
  // repeated or missed row would change both sums).
  const ModelSpec model = spec(32, {16}, 10);
  const Dataset train = random_dataset(777, 32, 10, 5);
  OptimizerSpec opt;
  opt.kind = OptimizerSpec::Kind::sgd;
  opt.lr = 0.0f;
  auto backend = make_cuda_backend(0);
  backend->setup(model, opt, Precision::fp32, 20, train, 3);
  const EvalStats eval = backend->evaluate(train);
  const EpochStats epoch = backend->train_epoch(0);
  EXPECT_EQ(epoch.steps, 39);
  EXPECT_NEAR(epoch.accuracy, eval.accuracy, 1e-12);
  EXPECT_NEAR(epoch.loss, eval.loss, 1e-5 * eval.loss);
}

TEST(CudaErrors, BadSetupIsAClearError) {
  REQUIRE_GPU();
  const Dataset train = random_dataset(64, 16, 4, 8);
  auto backend = make_cuda_backend(0);
  EXPECT_THROW(backend->setup(spec(16, {8}, 4), OptimizerSpec{}, Precision::fp32, 0, train, 1),
               gt::Error);
  auto other = make_cuda_backend(0);
  EXPECT_THROW(other->setup(spec(16, {8}, 4), OptimizerSpec{}, Precision::fp32, 65, train, 1),
               gt::Error);
  auto third = make_cuda_backend(0);
  EXPECT_THROW(third->setup(spec(17, {8}, 4), OptimizerSpec{}, Precision::fp32, 8, train, 1),
               gt::Error);
}

}  // namespace
}  // namespace gt::engine
