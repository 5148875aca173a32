// The CUDA backend's CNN path on a GPU (each test skips cleanly without one), against the CPU
// backend's naive loops (double accumulation, emulated roundings: an independent implementation
// of the same numerics), every comparison a relative norm error ‖gpu − cpu‖/‖cpu‖ within the
// shared table's norm tolerance per precision (tolerances.h; tf32's gradients three times it, and
// an element that overflows must overflow on both sides, see expect_parity):
//  - per layer: one small network per layer kind around the layer under test (a convolution
//    before it, so its input gradient is checked through that convolution's weight gradient):
//    3×3 and stride-2 convolutions (Keras' asymmetric padding), a 1×1 convolution with bias and
//    ReLU (cuDNN's fused graph), BatchNorm with and without its ReLU, max pooling (odd sizes,
//    overlapping windows), global average pooling, the Dense head with ReLU and dropout; uint8
//    images normalised per channel, 3 channels padded to the tensor-core multiple; the logits,
//    loss and every gradient of one step, then the losses of 3 SGD steps and every tensor after
//    them (running statistics included), with cuDNN's BatchNorm and with the own kernels;
//  - 10 steps of a small CNN (cnn:8,16/16): Adam's losses, SGD's losses and tensors;
//  - evaluation in chunks with a padded last chunk, resident and streamed;
//  - fp16 dynamic loss scaling: an overflowing step leaves every parameter as it was and halves
//    the scale, a clean one applies and keeps it (the LossScaler rule); bf16 never scales;
//  - invariances, bit for bit: CUDA graphs ≡ eager launches, a streamed training set ≡ a
//    resident one, the same seed ≡ the same run (random flips included), flips change the run;
//  - the run's notes say what was chosen, and an MLP still takes the MLP path;
//  - with little free GPU memory the cuDNN workspace is limited (and noted) and training runs;
//  - (no GPU needed) the environment's knobs change the defaults.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/graph/init.h"
#include "engine/graph/model_text.h"
#include "tolerances.h"

namespace gt::engine {
void PrintTo(Precision p, std::ostream* os) { *os << to_string(p); }

namespace {

using graph::BatchNorm;
using graph::Conv2D;
using graph::Dense;
using graph::Dropout;
using graph::Flatten;
using graph::GlobalAvgPool;
using graph::MaxPool2D;
using graph::ReLU;
using graph::Shape;

#define REQUIRE_GPU() \
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device"

double rel_error(const std::vector<float>& got, const std::vector<float>& ref) {
  EXPECT_EQ(got.size(), ref.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    // An overflow (fp16's scaled gradients) must happen in the same elements on both sides;
    // the elements that overflowed on both are left out of the norm.
    if (!std::isfinite(got[i]) || !std::isfinite(ref[i])) {
      const bool same = std::isnan(got[i]) ? std::isnan(ref[i]) : got[i] == ref[i];
      if (!same) return INFINITY;
      continue;
    }
    num += double(got[i] - ref[i]) * (got[i] - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Per slot of `layout`, the relative norm error; the worst one and its name.
double worst_slot_error(const graph::ParamLayout& layout, const std::vector<float>& got,
                        const std::vector<float>& ref, bool trainable_only, std::string& name) {
  double worst = 0;
  for (const graph::TensorSlot& s : layout.slots) {
    if (trainable_only && !s.trainable) continue;
    const auto slice = [&](const std::vector<float>& v) {
      return std::vector<float>(v.begin() + s.offset, v.begin() + s.offset + s.size);
    };
    const double e = rel_error(slice(got), slice(ref));
    if (e >= worst) {
      worst = e;
      name = s.name;
    }
  }
  return worst;
}

// uint8 images whose class decides where a bright patch lies, with per-channel normalisation.
Dataset images(int rows, const Shape& shape, int classes, uint64_t seed) {
  Dataset d;
  d.rows = rows;
  d.height = shape.height;
  d.width = shape.width;
  d.channels = shape.channels;
  d.features = int(shape.size());
  d.classes = classes;
  std::mt19937_64 rng(seed);
  for (int r = 0; r < rows; ++r) {
    const int label = int(rng() % uint64_t(classes));
    d.labels.push_back(label);
    for (int h = 0; h < shape.height; ++h)
      for (int w = 0; w < shape.width; ++w)
        for (int c = 0; c < shape.channels; ++c) {
          const bool patch = (h + w + c) % classes == label;
          d.u8.push_back(uint8_t((patch ? 150 : 30) + rng() % 100));
        }
  }
  for (int c = 0; c < shape.channels; ++c) {
    d.mean.push_back(0.35f + 0.05f * float(c));
    d.stddev.push_back(0.25f + 0.02f * float(c));
  }
  return d;
}

// The one initialiser's values with non-trivial biases, γ, β and running statistics.
std::vector<float> start_values(const graph::ParamLayout& layout, uint64_t seed) {
  std::vector<float> v = graph::initial_values(layout, seed);
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (const graph::TensorSlot& s : layout.slots) {
    if (s.role == graph::TensorRole::weight) continue;
    for (int64_t i = 0; i < s.size; ++i) {
      float& x = v[size_t(s.offset + i)];
      x += s.role == graph::TensorRole::running_var ? 0.5f + u(rng) : u(rng);
    }
  }
  return v;
}

CudaOptions options(bool cudnn_batchnorm = true) {
  CudaOptions o;
  o.cudnn_batchnorm = cudnn_batchnorm;
  o.deterministic = true;
  return o;
}

OptimizerSpec sgd() {
  OptimizerSpec o;
  o.kind = OptimizerSpec::Kind::sgd;
  o.lr = 1e-2f;
  return o;
}

struct LayerCase {
  const char* name;
  Shape input;
  std::vector<graph::LayerSpec> layers;
};

std::vector<LayerCase> layer_cases() {
  const Shape odd{9, 9, 3}, even{8, 8, 3};
  return {
      {"conv3x3", odd, {Conv2D{4, 3, 1, false}, Conv2D{6, 3, 1, false}, Flatten{}, Dense{5}}},
      {"conv_stride2_asymmetric",
       even,
       {Conv2D{4, 3, 1, false}, Conv2D{6, 3, 2, true}, Flatten{}, Dense{5}}},
      {"conv1x1_bias_relu",
       odd,
       {Conv2D{4, 3, 1, false}, Conv2D{6, 1, 1, true}, ReLU{}, Flatten{}, Dense{5}}},
      {"batchnorm_relu",
       odd,
       {Conv2D{4, 3, 1, false}, BatchNorm{}, ReLU{}, GlobalAvgPool{}, Dense{5}}},
      {"batchnorm", odd, {Conv2D{4, 3, 1, false}, BatchNorm{}, Flatten{}, Dense{5}}},
      {"maxpool_odd", odd, {Conv2D{4, 3, 1, false}, MaxPool2D{2, 2}, Flatten{}, Dense{5}}},
      {"maxpool_overlapping", odd, {Conv2D{4, 3, 1, false}, MaxPool2D{3, 2}, Flatten{}, Dense{5}}},
      {"global_avg_pool_head",
       odd,
       {Conv2D{4, 3, 1, false}, GlobalAvgPool{}, Dense{8}, ReLU{}, Dense{5}}},
      {"dense_relu_dropout",
       even,
       {Conv2D{4, 3, 1, false}, GlobalAvgPool{}, Dense{8}, ReLU{}, Dropout{0.3f}, Dense{5}}},
  };
}

// A network against the CPU's naive loops: one debug step, then `steps` optimizer steps.
void expect_parity(const graph::Network& net, const Dataset& batch, Precision p,
                   const CudaOptions& o, const OptimizerSpec& opt, int steps,
                   const std::string& label) {
  const double tol = testing::tolerance(p).norm;
  const graph::ParamLayout layout = graph::layout_of(net);
  const std::vector<float> start = start_values(layout, 3);
  auto cpu = make_cpu_backend(true);
  auto gpu = make_cuda_backend(0, o);
  cpu->setup(net, opt, p, int(batch.rows), batch, 1);
  gpu->setup(net, opt, p, int(batch.rows), batch, 1);
  cpu->set_values(start);
  gpu->set_values(start);
  const StepDebug a = cpu->debug_step(batch), b = gpu->debug_step(batch);
  std::string grad_name, after_name;
  const double e_logits = rel_error(b.logits, a.logits);
  const double e_loss = std::abs(double(b.loss) - a.loss) / std::abs(double(a.loss));
  const double e_grads = worst_slot_error(layout, b.grad_values, a.grad_values, true, grad_name);
  EXPECT_EQ(gpu->values(), start) << label << ": a debug step changed the values";
  const std::vector<float> la = cpu->debug_steps(batch, steps), lb = gpu->debug_steps(batch, steps);
  const double e_losses = rel_error(lb, la);
  const double e_after = worst_slot_error(layout, gpu->values(), cpu->values(), false, after_name);
  EXPECT_LE(e_logits, tol) << label;
  EXPECT_LE(e_loss, tol) << label;
  // cuDNN's TF32 convolutions round inside the tensor cores, which the CPU's emulation (inputs
  // rounded to nearest) does not reproduce; a weight gradient behind BatchNorm (whose backward
  // pass hands back a mean-free gradient that cancels heavily in the sum) keeps that rounding's
  // bias: 5.0e-2 measured on an H100 for cnn:8,16/16's first convolution.
  const double grad_tol = p == Precision::tf32 ? 3 * tol : tol;
  EXPECT_LE(e_grads, grad_tol) << label << " (" << grad_name << ")";
  EXPECT_LE(e_losses, tol) << label;
  // The tensors after the steps under SGD, whose update follows the gradient's error; Adam
  // divides each gradient by its own magnitude, so a near-zero gradient moves its weight by up
  // to lr per step in a direction rounding decides (the losses above still cover Adam).
  if (opt.kind == OptimizerSpec::Kind::sgd) {
    EXPECT_LE(e_after, 5 * tol) << label << " (" << after_name << ")";
  }
  std::printf("  %-34s %s: logits %.1e loss %.1e grads %.1e (%s) steps %.1e after %.1e (%s)\n",
              label.c_str(), to_string(p).c_str(), e_logits, e_loss, e_grads, grad_name.c_str(),
              e_losses, e_after, after_name.c_str());
}

class CnnLayerParity : public ::testing::TestWithParam<Precision> {};

TEST_P(CnnLayerParity, EveryLayerMatchesTheCpu) {
  REQUIRE_GPU();
  const Precision p = GetParam();
  for (const LayerCase& c : layer_cases()) {
    const graph::Network net = graph::make_network(c.name, c.input, 5, c.layers);
    const Dataset batch = images(8, c.input, 5, 11);
    for (bool cudnn_bn : {true, false}) {
      const bool has_bn = std::string(c.name).find("batchnorm") != std::string::npos;
      if (!cudnn_bn && !has_bn) continue;
      expect_parity(net, batch, p, options(cudnn_bn), sgd(), 3,
                    std::string(c.name) + (cudnn_bn ? "" : " (own BN)"));
    }
  }
  std::printf("OK cuda cnn layers == cpu (%s)\n", to_string(p).c_str());
}

TEST_P(CnnLayerParity, SmallCnnStepsMatchTheCpu) {
  REQUIRE_GPU();
  const Precision p = GetParam();
  const Shape shape{12, 12, 3};
  const graph::Network net = graph::parse_network("cnn:8,16/16", shape, 4);
  const Dataset batch = images(16, shape, 4, 21);
  for (bool cudnn_bn : {true, false}) {
    const std::string bn = cudnn_bn ? "" : " (own BN)";
    expect_parity(net, batch, p, options(cudnn_bn), OptimizerSpec{}, 10, "cnn:8,16/16 adam" + bn);
    expect_parity(net, batch, p, options(cudnn_bn), sgd(), 10, "cnn:8,16/16 sgd" + bn);
  }
  std::printf("OK cuda cnn steps == cpu (%s)\n", to_string(p).c_str());
}

TEST_P(CnnLayerParity, EvaluationMatchesTheCpu) {
  REQUIRE_GPU();
  const Precision p = GetParam();
  const Shape shape{6, 6, 3};
  const graph::Network net = graph::parse_network("cnn:8/8", shape, 3);
  const Dataset train = images(64, shape, 3, 31);
  const Dataset test = images(1031, shape, 3, 32);  // more than one chunk, a partial last one
  auto cpu = make_cpu_backend(true);
  cpu->setup(net, OptimizerSpec{}, p, 16, train, 1);
  cpu->set_values(start_values(graph::layout_of(net), 5));
  const EvalStats want = cpu->evaluate(test);
  for (CudaOptions::Data where : {CudaOptions::Data::resident, CudaOptions::Data::streamed}) {
    CudaOptions o = options();
    o.data = where;
    auto gpu = make_cuda_backend(0, o);
    gpu->setup(net, OptimizerSpec{}, p, 16, train, 1);
    gpu->set_values(start_values(graph::layout_of(net), 5));
    const EvalStats got = gpu->evaluate(test);
    EXPECT_NEAR(got.loss, want.loss, testing::tolerance(p).norm * want.loss);
    EXPECT_NEAR(got.accuracy, want.accuracy, 3.0 / 1031);  // a few near-ties may flip
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CnnLayerParity,
                         ::testing::Values(Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16),
                         [](const auto& info) { return to_string(info.param); });

// ---- loss scaling --------------------------------------------------------------------------

TEST(CnnLossScaling, OverflowSkipsAndHalvesCleanStepsApply) {
  REQUIRE_GPU();
  const Shape shape{8, 8, 3};
  const graph::Network net = graph::parse_network("cnn:8/16", shape, 4);
  const Dataset batch = images(16, shape, 4, 41);
  const graph::ParamLayout layout = graph::layout_of(net);
  std::vector<float> start = start_values(layout, 7);
  // A large classifier: at the initial scale (65536) the scaled gradient of its input,
  // 65536/16 · (p − y)·W, passes fp16's 65504; a few halvings later it does not.
  const graph::TensorSlot& classifier = layout.slot("dense2.weight");
  for (int64_t i = 0; i < classifier.size; ++i) start[size_t(classifier.offset + i)] *= 100.0f;
  // The trainable tensors (a skipped step's forward pass still moves the running statistics).
  const auto trainable = [&](const std::vector<float>& v) {
    return std::vector<float>(v.begin(), v.begin() + layout.trainable_elements);
  };
  auto gpu = make_cuda_backend(0, options());
  gpu->setup(net, OptimizerSpec{}, Precision::fp16, 16, batch, 1);
  gpu->set_values(start);
  EXPECT_EQ(gpu->loss_scale(), 65536.0f);
  int skipped = 0, applied = 0;
  for (int s = 0; s < 30 && applied < 3; ++s) {
    const std::vector<float> before = trainable(gpu->values());
    const float scale = gpu->loss_scale();
    gpu->debug_steps(batch, 1);
    const std::vector<float> after = trainable(gpu->values());
    if (after == before) {  // skipped: no parameter moved
      ++skipped;
      EXPECT_EQ(gpu->loss_scale(), scale * 0.5f) << "step " << s;
    } else {
      ++applied;
      EXPECT_EQ(gpu->loss_scale(), scale) << "step " << s;
      for (float v : after) ASSERT_TRUE(std::isfinite(v)) << "step " << s;
    }
  }
  EXPECT_GT(skipped, 0);
  EXPECT_EQ(applied, 3);
  std::printf("OK fp16 loss scaling: %d skipped steps halved the scale to %g, then %d applied\n",
              skipped, double(gpu->loss_scale()), applied);

  auto bf16 = make_cuda_backend(0, options());
  bf16->setup(net, OptimizerSpec{}, Precision::bf16, 16, batch, 1);
  bf16->set_values(start);
  bf16->debug_steps(batch, 2);
  EXPECT_EQ(bf16->loss_scale(), 1.0f);
}

// ---- invariances ---------------------------------------------------------------------------

struct TrainedRun {
  std::vector<float> values;
  std::vector<double> losses;
  std::vector<std::string> notes;
};

TrainedRun train_run(const CudaOptions& o, Precision p, uint64_t seed = 1) {
  const Shape shape{10, 10, 3};
  const graph::Network net = graph::parse_network("cnn:8,16/16", shape, 4, 0.25f);
  static const Dataset train = images(100, shape, 4, 51);  // 6 batches of 16 and one of 4
  auto gpu = make_cuda_backend(0, o);
  gpu->setup(net, OptimizerSpec{}, p, 16, train, seed);
  gpu->set_values(graph::initial_values(gpu->layout(), seed));
  TrainedRun r;
  for (int e = 0; e < 2; ++e) {
    const EpochStats st = gpu->train_epoch(e);
    EXPECT_EQ(st.steps, 7);
    r.losses.push_back(st.loss);
  }
  r.values = gpu->values();
  r.notes = gpu->notes();
  return r;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

class CnnInvariance : public ::testing::TestWithParam<Precision> {};

TEST_P(CnnInvariance, GraphsStreamingAndSeedsAreBitIdentical) {
  REQUIRE_GPU();
  const Precision p = GetParam();
  CudaOptions graphs = options(), eager = options(), streamed = options();
  eager.graphs = false;
  streamed.data = CudaOptions::Data::streamed;
  const TrainedRun a = train_run(graphs, p), b = train_run(eager, p), c = train_run(streamed, p);
  std::printf("notes (%s):\n%s", to_string(p).c_str(), joined(a.notes).c_str());
  EXPECT_EQ(a.values, b.values) << "CUDA graphs != eager";
  EXPECT_EQ(a.losses, b.losses) << "CUDA graphs != eager";
  EXPECT_EQ(a.values, c.values) << "streamed != resident";
  EXPECT_EQ(a.losses, c.losses) << "streamed != resident";
  EXPECT_EQ(train_run(graphs, p).values, a.values) << "the same seed gave another run";
  EXPECT_NE(train_run(graphs, p, 2).values, a.values);
  for (double l : a.losses) EXPECT_TRUE(std::isfinite(l));

  CudaOptions flip = options();
  flip.random_flip = true;
  CudaOptions flip_streamed = flip;
  flip_streamed.data = CudaOptions::Data::streamed;
  const TrainedRun f = train_run(flip, p);
  EXPECT_NE(f.values, a.values) << "flips changed nothing";
  EXPECT_EQ(train_run(flip, p).values, f.values) << "flips are not seeded";
  EXPECT_EQ(train_run(flip_streamed, p).values, f.values) << "streamed flips differ";
  std::printf("OK cuda cnn invariances (%s)\n", to_string(p).c_str());
}

INSTANTIATE_TEST_SUITE_P(Precisions, CnnInvariance,
                         ::testing::Values(Precision::fp32, Precision::fp16),
                         [](const auto& info) { return to_string(info.param); });

// No GPU needed: the environment's knobs change the defaults, and a bad value is one line.
TEST(CnnPath, EnvironmentChangesTheDefaults) {
  ::setenv("GREENTRAIN_CNN_BATCHNORM", "own", 1);
  ::setenv("GREENTRAIN_CUDNN_AUTOTUNE", "/tmp/gt-autotune.txt", 1);
  CudaOptions o = with_environment(CudaOptions{});
  EXPECT_FALSE(o.cudnn_batchnorm);
  EXPECT_TRUE(o.cudnn_autotune);
  EXPECT_EQ(o.autotune_file, "/tmp/gt-autotune.txt");
  ::setenv("GREENTRAIN_CUDNN_AUTOTUNE", "memory", 1);
  EXPECT_EQ(with_environment(CudaOptions{}).autotune_file, "");
  ::setenv("GREENTRAIN_CNN_BATCHNORM", "fast", 1);
  try {
    with_environment(CudaOptions{});
    ADD_FAILURE() << "a bad GREENTRAIN_CNN_BATCHNORM was accepted";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("GREENTRAIN_CNN_BATCHNORM='fast'"), std::string::npos);
  }
  ::unsetenv("GREENTRAIN_CNN_BATCHNORM");
  ::unsetenv("GREENTRAIN_CUDNN_AUTOTUNE");
  o = with_environment(CudaOptions{});
  EXPECT_TRUE(o.cudnn_batchnorm);
  EXPECT_FALSE(o.cudnn_autotune);
}

TEST(CnnPath, NotesSayWhatWasChosenAndMlpsKeepTheirPath) {
  REQUIRE_GPU();
  const Shape shape{10, 10, 3};
  const TrainedRun r = train_run(options(), Precision::bf16);
  const std::string notes = joined(r.notes);
  EXPECT_NE(notes.find("channels padded to multiples of 8"), std::string::npos) << notes;
  EXPECT_NE(notes.find("training set resident on the GPU"), std::string::npos) << notes;
  EXPECT_NE(notes.find("CUDA graphs"), std::string::npos) << notes;
  CudaOptions streamed = options();
  streamed.data = CudaOptions::Data::streamed;
  EXPECT_NE(joined(train_run(streamed, Precision::bf16).notes).find("streamed from pinned"),
            std::string::npos);

  ModelSpec mlp;
  mlp.inputs = int(shape.size());
  mlp.hidden = {32};
  mlp.classes = 4;
  const Dataset train = images(64, shape, 4, 61);
  auto gpu = make_cuda_backend(0);
  gpu->setup(mlp, OptimizerSpec{}, Precision::fp32, 16, train, 1);
  EXPECT_EQ(gpu->describe().find("cuDNN"), std::string::npos) << gpu->describe();
  EXPECT_TRUE(gpu->notes().empty());
}

// A small GPU, played by holding all but 1.5 GiB of this one: the cuDNN workspace limit drops to
// an eighth of what is free, the notes say so, and the network still trains.
TEST(CnnPath, LittleFreeMemoryLimitsTheWorkspaceAndStillTrains) {
  REQUIRE_GPU();
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  const size_t keep_free = size_t(3) << 29;
  if (free_bytes < 2 * keep_free) GTEST_SKIP() << "this GPU is small already";
  void* held = nullptr;
  ASSERT_EQ(cudaMalloc(&held, free_bytes - keep_free), cudaSuccess);
  const TrainedRun r = train_run(options(), Precision::fp32);
  ASSERT_EQ(cudaFree(held), cudaSuccess);
  const std::string notes = joined(r.notes);
  EXPECT_NE(notes.find("cuDNN workspace limited to"), std::string::npos) << notes;
  for (double l : r.losses) EXPECT_TRUE(std::isfinite(l));
  EXPECT_LT(r.losses.back(), r.losses.front());
  EXPECT_EQ(joined(train_run(options(), Precision::fp32).notes).find("workspace limited"),
            std::string::npos)
      << "a GPU with room still limited the workspace";
}

}  // namespace
}  // namespace gt::engine
