// The cuDNN path on a GPU: every convolution op (forward, backward data, backward filter, forward
// fused with bias and ReLU) in every precision over odd sizes, stride 2 with Keras' asymmetric
// "same" padding, 3 input channels padded to the tensor-core multiple, and 1x1 kernels, and
// BatchNorm forward training and backward, each against a float64 CPU reference computed from
// the same (storage-rounded) inputs. A result passes when |gpu − ref| ≤ tol·Σ|terms| (+1e-6),
// Σ|terms| being the sum of the magnitudes the reference added up, with tol per precision:
// fp32 1e-4 (true FP32; and fp32 plans must not use tensor cores), tf32 3e-3 (TF32 inputs),
// fp16 2e-3 and bf16 8e-3 (the output's rounding plus FP32 accumulation). Also: a bound call
// replays bit-identically inside a CUDA graph, and autotune choices come back from the file.
// Skips without a GPU; on a GPU machine a missing cuDNN fails with the places searched.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "engine/backend.h"
#include "engine/cuda/check.h"
#include "engine/cuda/cudnn_library.h"
#include "engine/cuda/cudnn_plans.h"
#include "engine/cuda/device_buffer.h"

namespace gt::engine {
// Readable test parameters in test names and failure messages.
void PrintTo(Precision p, std::ostream* os) { *os << to_string(p); }
}  // namespace gt::engine

namespace gt::engine::cuda {
namespace {

// ---- host data in the storage types --------------------------------------------------------

float round_to(Precision p, float v) {
  if (p == Precision::fp16) return __half2float(__float2half_rn(v));
  if (p == Precision::bf16) return __bfloat162float(__float2bfloat16_rn(v));
  return v;
}

std::vector<float> random_values(size_t n, uint32_t seed, Precision p, float lo = -1,
                                 float hi = 1) {
  std::mt19937 gen(seed);
  std::vector<float> v(n);
  for (float& x : v) x = round_to(p, lo + (hi - lo) * static_cast<float>(gen() >> 8) / 16777216.0f);
  return v;
}

std::vector<char> encode(Precision p, const std::vector<float>& v) {
  std::vector<char> out(v.size() * element_bytes(p));
  for (size_t i = 0; i < v.size(); ++i) {
    if (p == Precision::fp16) {
      const __half h = __float2half_rn(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else if (p == Precision::bf16) {
      const __nv_bfloat16 h = __float2bfloat16_rn(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &v[i], 4);
    }
  }
  return out;
}

std::vector<float> decode(Precision p, const std::vector<char>& raw) {
  std::vector<float> out(raw.size() / element_bytes(p));
  for (size_t i = 0; i < out.size(); ++i) {
    if (p == Precision::fp16) {
      __half h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      out[i] = __half2float(h);
    } else if (p == Precision::bf16) {
      __nv_bfloat16 h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      out[i] = __bfloat162float(h);
    } else {
      std::memcpy(&out[i], raw.data() + 4 * i, 4);
    }
  }
  return out;
}

// A device copy of host values; unwritten outputs start as all-ones bytes (NaN in every type).
DeviceBuffer upload(const std::vector<char>& bytes) {
  DeviceBuffer b(bytes.size(), "test tensor");
  CUDA_CHECK(cudaMemcpy(b.get(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice));
  return b;
}
DeviceBuffer upload(const std::vector<float>& v) {
  std::vector<char> bytes(v.size() * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return upload(bytes);
}
DeviceBuffer output(size_t bytes) {
  DeviceBuffer b(bytes, "test output");
  CUDA_CHECK(cudaMemset(b.get(), 0xFF, bytes));
  return b;
}
std::vector<char> download(const DeviceBuffer& b, size_t bytes) {
  std::vector<char> out(bytes);
  CUDA_CHECK(cudaMemcpy(out.data(), b.get(), bytes, cudaMemcpyDeviceToHost));
  return out;
}
std::vector<float> download_floats(const DeviceBuffer& b, size_t n) {
  const std::vector<char> raw = download(b, n * 4);
  std::vector<float> out(n);
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

// ---- float64 references -----------------------------------------------------------------

struct Reference {
  std::vector<double> value, magnitude;  // magnitude: Σ |terms| of each value
  explicit Reference(size_t n = 0) : value(n), magnitude(n) {}
  void add(size_t i, double term) {
    value[i] += term;
    magnitude[i] += std::fabs(term);
  }
};

int64_t at(const Tensor4d& t, int64_t n, int64_t c, int64_t h, int64_t w) {
  return n * t.strides[0] + c * t.strides[1] + h * t.strides[2] + w * t.strides[3];
}

// Calls f(x index, w index, y index) for every product of the convolution that reads a real
// (not padding) input position.
template <typename F>
void for_each_product(const ConvProblem& pr, F f) {
  const auto& [N, C, H, W] = pr.x.dims;
  const int64_t K = pr.w.dims[0], R = pr.w.dims[2], S = pr.w.dims[3];
  const int64_t P = pr.y.dims[2], Q = pr.y.dims[3];
  const ConvGeometry& g = pr.geometry;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q)
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s) {
              const int64_t ih = p * g.stride_h - g.pad_top + r;
              const int64_t iw = q * g.stride_w - g.pad_left + s;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < C; ++c)
                f(at(pr.x, n, c, ih, iw), at(pr.w, k, c, r, s), at(pr.y, n, k, p, q));
            }
}

// The op's output: y = Σ x·w (then + bias and ReLU when fused), dx = Σ dy·w, dw = Σ dy·x.
Reference conv_reference(const ConvProblem& pr, const std::vector<float>& x,
                         const std::vector<float>& w, const std::vector<float>& y,
                         const std::vector<float>& bias) {
  const bool dgrad = pr.op == ConvOp::backward_data, wgrad = pr.op == ConvOp::backward_filter;
  Reference ref(dgrad ? pr.x.elements() : wgrad ? pr.w.elements() : pr.y.elements());
  for_each_product(pr, [&](int64_t xi, int64_t wi, int64_t yi) {
    if (dgrad)
      ref.add(xi, double(y[yi]) * w[wi]);
    else if (wgrad)
      ref.add(wi, double(y[yi]) * x[xi]);
    else
      ref.add(yi, double(x[xi]) * w[wi]);
  });
  if (pr.op == ConvOp::forward_bias_relu)
    for (int64_t i = 0; i < pr.y.elements(); ++i) {  // NHWC: the channel is i mod K
      ref.add(i, bias[i % pr.y.dims[1]]);
      ref.value[i] = std::max(ref.value[i], 0.0);
    }
  return ref;
}

double tolerance(Precision p) {
  switch (p) {
    case Precision::fp32:
      return 1e-4;
    case Precision::tf32:
      return 3e-3;
    case Precision::fp16:
      return 2e-3;
    case Precision::bf16:
      return 8e-3;
  }
  return 0;
}

// Every value within tol·magnitude + 1e-6; reports the worst.
void expect_close(const std::vector<float>& got, const Reference& ref, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.value.size()) << what;
  double worst = 0;
  size_t worst_at = 0, bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - ref.value[i]);
    const double ratio = err / (tol * ref.magnitude[i] + 1e-6);
    if (!(ratio <= 1)) ++bad;  // NaN (an unwritten output) counts as bad
    if (!(ratio <= worst)) {
      worst = std::isnan(ratio) ? INFINITY : ratio;
      worst_at = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " values off; worst at "
                     << worst_at << ": got " << got[worst_at] << ", reference "
                     << ref.value[worst_at] << " (Σ|terms| " << ref.magnitude[worst_at] << "), "
                     << worst << "× the tolerance";
}

// ---- fixture ------------------------------------------------------------------------------

class CudnnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    if (!cudnn_search().library) FAIL() << cudnn_search().failure();
  }
  // One handle and plan cache for the whole suite, never destroyed: a static destructor would
  // run after the CUDA runtime has shut down.
  static CudnnPlans& plans() {
    static CudnnPlans* instance = new CudnnPlans();
    return *instance;
  }
};

constexpr Precision kPrecisions[] = {Precision::fp32, Precision::tf32, Precision::fp16,
                                     Precision::bf16};
constexpr ConvOp kOps[] = {ConvOp::forward, ConvOp::backward_data, ConvOp::backward_filter,
                           ConvOp::forward_bias_relu};

struct Shape {
  const char* name;
  int64_t n, h, w, real_c, k;
  int kernel, stride;
};
const Shape kShapes[] = {
    {"odd9_3x3_s1", 2, 9, 9, 16, 8, 3, 1},
    {"even10_3x3_s2_asymmetric", 2, 10, 10, 8, 16, 3, 2},
    {"odd11x13_3x3_s2", 3, 11, 13, 8, 8, 3, 2},
    {"rgb3_padded_3x3_s1", 2, 12, 12, 3, 16, 3, 1},
    {"k1_s1", 2, 7, 7, 16, 24, 1, 1},
    {"k1_s2", 2, 7, 7, 16, 24, 1, 2},
};

}  // namespace

// Outside the anonymous namespace: gtest finds PrintTo by argument-dependent lookup.
void PrintTo(ConvOp op, std::ostream* os) { *os << to_string(op); }

namespace {

struct ConvData {
  std::vector<float> x, w, y, bias;
};

// Inputs of a problem in its precision; channels at and past `real_c` are zero (padding).
ConvData conv_inputs(const ConvProblem& pr, int64_t real_c, uint32_t seed) {
  ConvData d;
  const Precision p = pr.precision;
  d.x = random_values(pr.x.elements(), seed, p);
  d.w = random_values(pr.w.elements(), seed + 1, p);
  d.y = random_values(pr.y.elements(), seed + 2, p);
  d.bias = random_values(pr.y.dims[1], seed + 3, p, -0.5f, 0.5f);
  const int64_t C = pr.x.dims[1];
  for (int64_t i = 0; i < static_cast<int64_t>(d.x.size()); ++i)
    if (i % C >= real_c) d.x[i] = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(d.w.size()); ++i)
    if (i % C >= real_c) d.w[i] = 0;
  return d;
}

// Runs one convolution problem through its plan; returns the output (x, w or y by op).
std::vector<float> run_conv(CudnnPlans& plans, const CudnnPlan& plan, const ConvProblem& pr,
                            const ConvData& d) {
  const Precision p = pr.precision;
  const size_t bytes = element_bytes(p);
  const bool writes_x = pr.op == ConvOp::backward_data, writes_w = pr.op == ConvOp::backward_filter;
  const bool writes_y = !writes_x && !writes_w;
  DeviceBuffer x = writes_x ? output(pr.x.elements() * bytes) : upload(encode(p, d.x));
  DeviceBuffer w = writes_w ? output(pr.w.elements() * bytes) : upload(encode(p, d.w));
  DeviceBuffer y = writes_y ? output(pr.y.elements() * bytes) : upload(encode(p, d.y));
  DeviceBuffer bias = upload(encode(p, d.bias));
  DeviceBuffer workspace(plan.workspace_bytes(), "cuDNN workspace");
  ConvTensors t{x.get(), w.get(), y.get(),
                pr.op == ConvOp::forward_bias_relu ? bias.get() : nullptr};
  plans.execute(plan, t, workspace.get(), plan.workspace_bytes(), nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  const DeviceBuffer& out = writes_x ? x : writes_w ? w : y;
  const int64_t n = writes_x ? pr.x.elements() : writes_w ? pr.w.elements() : pr.y.elements();
  return decode(p, download(out, n * bytes));
}

using ConvCase = std::tuple<int, ConvOp, Precision>;

class CudnnConv : public CudnnGpu, public ::testing::WithParamInterface<ConvCase> {};

TEST_P(CudnnConv, MatchesFloat64Reference) {
  const auto [shape_index, op, precision] = GetParam();
  const Shape& s = kShapes[shape_index];
  const int64_t c = padded_channels(s.real_c, precision);
  const ConvProblem pr = conv_problem(op, precision, s.n, s.h, s.w, c, s.k, s.kernel, s.stride);
  const CudnnPlan* plan = plans().find(pr);
  if (!plan && op == ConvOp::forward_bias_relu)
    GTEST_SKIP() << "no fused engine: " << plans().why_unsupported(plan_key(pr));
  ASSERT_NE(plan, nullptr) << plans().why_unsupported(plan_key(pr));
  if (precision == Precision::fp32) {
    EXPECT_EQ(plan->engine().find("tensor cores"), std::string::npos) << plan->engine();
  }
  const ConvData d = conv_inputs(pr, s.real_c, 1000 + shape_index);
  const std::vector<float> got = run_conv(plans(), *plan, pr, d);
  expect_close(got, conv_reference(pr, d.x, d.w, d.y, d.bias), tolerance(precision),
               plan_key(pr) + " on " + plan->engine());
}

INSTANTIATE_TEST_SUITE_P(
    AllOpsShapesPrecisions, CudnnConv,
    ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kShapes))),
                       ::testing::ValuesIn(kOps), ::testing::ValuesIn(kPrecisions)),
    [](const ::testing::TestParamInfo<ConvCase>& info) {
      return std::string(kShapes[std::get<0>(info.param)].name) + "_" +
             to_string(std::get<1>(info.param)) + "_" + to_string(std::get<2>(info.param));
    });

// With every input carrying a full 24-bit mantissa and only 8 products per output, TF32 inputs
// (10-bit mantissas) would miss by ~1e-4 of Σ|terms|; true FP32 stays near 1e-7.
TEST_F(CudnnGpu, Fp32IsNotTf32) {
  for (ConvOp op : {ConvOp::forward, ConvOp::backward_data}) {
    const ConvProblem pr = conv_problem(op, Precision::fp32, 2, 8, 8, 8, 16, 1, 1);
    const CudnnPlan& plan = plans().plan(pr);
    const ConvData d = conv_inputs(pr, 8, 77);
    expect_close(run_conv(plans(), plan, pr, d), conv_reference(pr, d.x, d.w, d.y, d.bias), 2e-6,
                 plan_key(pr) + " on " + plan.engine());
  }
}

TEST_F(CudnnGpu, PlansAreCachedByKey) {
  const ConvProblem pr = conv_problem(ConvOp::forward, Precision::fp16, 4, 16, 16, 16, 32, 3, 1);
  const size_t before = plans().size();
  const CudnnPlan& a = plans().plan(pr);
  const CudnnPlan& b = plans().plan(pr);
  EXPECT_EQ(&a, &b);
  EXPECT_LE(plans().size(), before + 1);
  EXPECT_GE(plans().max_workspace_bytes(), a.workspace_bytes());
}

TEST_F(CudnnGpu, BindRefusesSmallWorkspaceAndWrongBuffers) {
  const ConvProblem pr = conv_problem(ConvOp::forward, Precision::fp16, 2, 9, 9, 8, 8, 3, 1);
  const CudnnPlan& plan = plans().plan(pr);
  DeviceBuffer x(pr.x.elements() * 2, "x"), w(pr.w.elements() * 2, "w"),
      y(pr.y.elements() * 2, "y");
  DeviceBuffer ws(plan.workspace_bytes(), "cuDNN workspace");
  const size_t n = plan.workspace_bytes();
  if (n > 0) {
    EXPECT_THROW(plans().bind(plan, ConvTensors{x.get(), w.get(), y.get()}, ws.get(), n - 1),
                 gt::Error);
  }
  EXPECT_NO_THROW(plans().bind(plan, ConvTensors{x.get(), w.get(), y.get()}, ws.get(), n));
  EXPECT_THROW(plans().bind(plan, BatchNormBackwardTensors{}, ws.get(), n), gt::Error);
  EXPECT_THROW(plans().bind(plan, ConvTensors{x.bytes_at(2), w.get(), y.get()}, ws.get(), n),
               gt::Error);
}

// A call bound once replays inside a captured CUDA graph with the same bits as run eagerly (a
// deterministic plan, so the bits can be compared).
TEST_F(CudnnGpu, BoundCallReplaysInACudaGraph) {
  CudnnPlanOptions options;
  options.deterministic = true;
  CudnnPlans deterministic(options);
  const ConvProblem pr = conv_problem(ConvOp::forward, Precision::bf16, 4, 16, 16, 16, 32, 3, 2);
  const CudnnPlan& plan = deterministic.plan(pr);
  const ConvData d = conv_inputs(pr, 16, 5);
  const std::vector<float> eager = run_conv(deterministic, plan, pr, d);
  DeviceBuffer x = upload(encode(pr.precision, d.x)), w = upload(encode(pr.precision, d.w));
  DeviceBuffer y = output(pr.y.elements() * 2);
  DeviceBuffer workspace(plan.workspace_bytes(), "cuDNN workspace");
  const CudnnCall call = plans().bind(plan, ConvTensors{x.get(), w.get(), y.get()}, workspace.get(),
                                      plan.workspace_bytes());
  cudaStream_t stream = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  call.run(stream);
  CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_CHECK(cudaGraphLaunch(exec, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  const std::vector<float> replayed = decode(pr.precision, download(y, pr.y.elements() * 2));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
  ASSERT_EQ(replayed.size(), eager.size());
  EXPECT_EQ(std::memcmp(replayed.data(), eager.data(), eager.size() * 4), 0);
}

TEST_F(CudnnGpu, AutotuneChoiceComesBackFromItsFile) {
  gt::testing::TempDir dir;
  CudnnPlanOptions options;
  options.autotune = true;
  options.autotune_file = dir / "cudnn-autotune.txt";
  const ConvProblem pr = conv_problem(ConvOp::forward, Precision::fp16, 8, 32, 32, 32, 64, 3, 1);
  std::string first;
  {
    CudnnPlans tuner(options);
    const CudnnPlan& plan = tuner.plan(pr);
    first = plan.engine();
    ASSERT_TRUE(plan.autotuned()) << "only one engine built for " << plan_key(pr);
    const ConvData d = conv_inputs(pr, 32, 9);
    expect_close(run_conv(tuner, plan, pr, d), conv_reference(pr, d.x, d.w, d.y, d.bias),
                 tolerance(pr.precision), "tuned " + plan.engine());
  }
  ASSERT_TRUE(std::filesystem::exists(options.autotune_file));
  CudnnPlans again(options);
  const CudnnPlan& plan = again.plan(pr);
  EXPECT_TRUE(plan.autotuned());
  EXPECT_EQ(plan.engine(), first);
  EXPECT_EQ(again.notes(), "");
}

// ---- BatchNorm ----------------------------------------------------------------------------

struct BnShape {
  const char* name;
  int64_t n, h, w, c;
};
const BnShape kBnShapes[] = {{"n4_5x5_c16", 4, 5, 5, 16}, {"n8_6x6_c24", 8, 6, 6, 24}};

using BnCase = std::tuple<int, Precision>;
class CudnnBatchNorm : public CudnnGpu, public ::testing::WithParamInterface<BnCase> {};

void expect_near_all(const std::vector<float>& got, const std::vector<double>& ref, double rtol,
                     double scale, const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  size_t bad = 0, worst_at = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double ratio = std::fabs(got[i] - ref[i]) / (rtol * (std::fabs(ref[i]) + scale) + 1e-7);
    if (!(ratio <= 1)) ++bad;
    if (!(ratio <= worst)) {
      worst = std::isnan(ratio) ? INFINITY : ratio;
      worst_at = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " off; worst at " << worst_at
                     << ": got " << got[worst_at] << ", reference " << ref[worst_at] << ", "
                     << worst << "× the tolerance";
}

TEST_P(CudnnBatchNorm, ForwardTrainingAndBackwardMatchFloat64Reference) {
  const auto [shape_index, p] = GetParam();
  const BnShape& s = kBnShapes[shape_index];
  const BatchNormProblem fwd =
      batchnorm_problem(BatchNormOp::forward_training, p, s.n, s.h, s.w, s.c);
  const BatchNormProblem bwd = batchnorm_problem(BatchNormOp::backward, p, s.n, s.h, s.w, s.c);
  const CudnnPlan* fplan = plans().find(fwd);
  const CudnnPlan* bplan = plans().find(bwd);
  if (!fplan || !bplan)
    GTEST_SKIP() << "no BatchNorm engine: " << plans().why_unsupported(plan_key(fplan ? bwd : fwd));
  const int64_t C = s.c, M = s.n * s.h * s.w;
  const size_t bytes = element_bytes(p);
  const std::vector<float> x = random_values(M * C, 31, p, -2, 3);
  const std::vector<float> dy = random_values(M * C, 32, p);
  const std::vector<float> scale = random_values(C, 33, Precision::fp32, 0.5f, 1.5f);
  const std::vector<float> bias = random_values(C, 34, Precision::fp32);
  const std::vector<float> mean_in = random_values(C, 35, Precision::fp32);
  const std::vector<float> var_in = random_values(C, 36, Precision::fp32, 0.5f, 2);
  const float epsilon = 1e-5f, momentum = 0.1f;

  // Reference (PyTorch's training-mode BatchNorm).
  std::vector<double> mean(C), var(C), inv(C), y_ref(M * C), mean_out(C), var_out(C);
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < M; ++i) sum += x[i * C + c];
    mean[c] = sum / M;
    for (int64_t i = 0; i < M; ++i) sq += (x[i * C + c] - mean[c]) * (x[i * C + c] - mean[c]);
    var[c] = sq / M;
    inv[c] = 1 / std::sqrt(var[c] + double(epsilon));
    for (int64_t i = 0; i < M; ++i)
      y_ref[i * C + c] = scale[c] * (x[i * C + c] - mean[c]) * inv[c] + bias[c];
    mean_out[c] = (1 - double(momentum)) * mean_in[c] + double(momentum) * mean[c];
    var_out[c] = (1 - double(momentum)) * var_in[c] + double(momentum) * var[c] * M / (M - 1);
  }
  std::vector<double> dbias(C), dscale(C), dx_ref(M * C);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < M; ++i) {
      dbias[c] += dy[i * C + c];
      dscale[c] += dy[i * C + c] * (x[i * C + c] - mean[c]) * inv[c];
    }
    for (int64_t i = 0; i < M; ++i) {
      const double xhat = (x[i * C + c] - mean[c]) * inv[c];
      dx_ref[i * C + c] = scale[c] * inv[c] / M * (M * dy[i * C + c] - dbias[c] - xhat * dscale[c]);
    }
  }

  DeviceBuffer x_buf = upload(encode(p, x)), y_buf = output(M * C * bytes);
  DeviceBuffer scale_buf = upload(scale), bias_buf = upload(bias);
  DeviceBuffer mean_in_buf = upload(mean_in), var_in_buf = upload(var_in);
  DeviceBuffer mean_out_buf = output(C * 4), var_out_buf = output(C * 4);
  DeviceBuffer saved_mean = output(C * 4), saved_inv = output(C * 4);
  DeviceBuffer workspace(std::max(fplan->workspace_bytes(), bplan->workspace_bytes()), "ws");
  BatchNormForwardTensors f;
  f.x = x_buf.get();
  f.y = y_buf.get();
  f.scale = scale_buf.get<float>();
  f.bias = bias_buf.get<float>();
  f.running_mean_in = mean_in_buf.get<float>();
  f.running_var_in = var_in_buf.get<float>();
  f.running_mean_out = mean_out_buf.get<float>();
  f.running_var_out = var_out_buf.get<float>();
  f.saved_mean = saved_mean.get<float>();
  f.saved_inv_std = saved_inv.get<float>();
  f.epsilon = epsilon;
  f.momentum = momentum;
  plans().execute(*fplan, f, workspace.get(), workspace.size(), nullptr);

  DeviceBuffer dy_buf = upload(encode(p, dy)), dx_out = output(M * C * bytes);
  DeviceBuffer dscale_buf = output(C * 4), dbias_buf = output(C * 4);
  BatchNormBackwardTensors b;
  b.x = x_buf.get();
  b.dy = dy_buf.get();
  b.scale = scale_buf.get<float>();
  b.saved_mean = saved_mean.get<float>();
  b.saved_inv_std = saved_inv.get<float>();
  b.dx = dx_out.get();
  b.dscale = dscale_buf.get<float>();
  b.dbias = dbias_buf.get<float>();
  plans().execute(*bplan, b, workspace.get(), workspace.size(), nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());

  const double data_tol = p == Precision::fp16 ? 4e-3 : p == Precision::bf16 ? 3e-2 : 1e-4;
  const std::string what = plan_key(fwd) + " on " + fplan->engine();
  expect_near_all(decode(p, download(y_buf, M * C * bytes)), y_ref, data_tol, 1, what + ": y");
  expect_near_all(download_floats(saved_mean, C), mean, 2e-4, 1, what + ": saved mean");
  expect_near_all(download_floats(saved_inv, C), inv, 2e-4, 0, what + ": saved inverse std");
  expect_near_all(download_floats(mean_out_buf, C), mean_out, 2e-4, 1, what + ": running mean");
  expect_near_all(download_floats(var_out_buf, C), var_out, 2e-4, 0, what + ": running variance");
  const std::string bwhat = plan_key(bwd) + " on " + bplan->engine();
  double dx_scale = 0;
  for (double v : dx_ref) dx_scale = std::max(dx_scale, std::fabs(v));
  expect_near_all(decode(p, download(dx_out, M * C * bytes)), dx_ref, data_tol, dx_scale,
                  bwhat + ": dx");
  expect_near_all(download_floats(dbias_buf, C), dbias, 2e-4, std::sqrt(double(M)),
                  bwhat + ": dbias");
  expect_near_all(download_floats(dscale_buf, C), dscale, 2e-4, std::sqrt(double(M)),
                  bwhat + ": dscale");
}

INSTANTIATE_TEST_SUITE_P(
    ShapesPrecisions, CudnnBatchNorm,
    ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kBnShapes))),
                       ::testing::ValuesIn(kPrecisions)),
    [](const ::testing::TestParamInfo<BnCase>& info) {
      return std::string(kBnShapes[std::get<0>(info.param)].name) + "_" +
             to_string(std::get<1>(info.param));
    });

}  // namespace
}  // namespace gt::engine::cuda
