// The cuDNN path's parts that need no GPU: plan-cache keys (equal problems give equal keys,
// any difference in op, precision, shape, strides, padding or alignment gives another), Keras
// "same" padding and output sizes, the channel padding tensor cores need, pointer alignment,
// the precision rules that refuse engines by their numerical notes, the autotune file, and the
// operation descriptors of every problem kind, finalised by the real cuDNN when it loads here.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/temp_dir.h"
#include "engine/cuda/cudnn_autotune.h"
#include "engine/cuda/cudnn_engines.h"
#include "engine/cuda/cudnn_graphs.h"
#include "engine/cuda/cudnn_library.h"
#include "engine/cuda/cudnn_problem.h"

namespace gt::engine::cuda {
namespace {

constexpr Precision kPrecisions[] = {Precision::fp32, Precision::tf32, Precision::fp16,
                                     Precision::bf16};
constexpr ConvOp kOps[] = {ConvOp::forward, ConvOp::backward_data, ConvOp::backward_filter,
                           ConvOp::forward_bias_relu};

TEST(CudnnPlanKey, EqualProblemsGiveEqualKeys) {
  const ConvProblem a = conv_problem(ConvOp::forward, Precision::fp16, 8, 32, 32, 16, 32, 3, 1);
  const ConvProblem b = conv_problem(ConvOp::forward, Precision::fp16, 8, 32, 32, 16, 32, 3, 1);
  EXPECT_EQ(a, b);
  EXPECT_EQ(plan_key(a), plan_key(b));
  EXPECT_EQ(plan_key(a),
            "conv_fwd fp16 x=8x16x32x32:16384,1,512,16 w=32x16x3x3:144,1,48,16 "
            "y=8x32x32x32:32768,1,1024,32 stride=1,1 pad=1,1,1,1 align=16,16,16");
}

TEST(CudnnPlanKey, EveryDifferenceGivesAnotherKey) {
  std::vector<ConvProblem> problems;
  for (ConvOp op : kOps)
    for (Precision p : kPrecisions)
      problems.push_back(conv_problem(op, p, 8, 32, 32, 16, 32, 3, 1));
  const ConvProblem base = problems.front();
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 4, 32, 32, 16, 32, 3, 1));
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 8, 31, 32, 16, 32, 3, 1));
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 8, 32, 31, 16, 32, 3, 1));
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 8, 32, 32, 8, 32, 3, 1));
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 8, 32, 32, 16, 24, 3, 1));
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 8, 32, 32, 16, 32, 1, 1));
  problems.push_back(conv_problem(ConvOp::forward, Precision::fp32, 8, 32, 32, 16, 32, 3, 2));
  ConvProblem strided = base;  // the same dims, channel-sliced strides
  strided.x.strides = {32 * 32 * 32, 1, 32 * 32, 32};
  problems.push_back(strided);
  ConvProblem padded = base;
  padded.geometry.pad_bottom = 2;
  problems.push_back(padded);
  ConvProblem aligned = base;
  aligned.alignment[1] = 4;
  problems.push_back(aligned);
  std::set<std::string> keys;
  std::set<ConvProblem> distinct;
  for (const ConvProblem& p : problems) {
    keys.insert(plan_key(p));
    distinct.insert(p);
    EXPECT_EQ(plan_key(p).find_first_of("\t\n"), std::string::npos);
  }
  EXPECT_EQ(keys.size(), problems.size());
  EXPECT_EQ(distinct.size(), problems.size());

  std::set<std::string> bn;
  for (Precision p : kPrecisions)
    for (BatchNormOp op : {BatchNormOp::forward_training, BatchNormOp::backward}) {
      bn.insert(plan_key(batchnorm_problem(op, p, 8, 16, 16, 32)));
      bn.insert(plan_key(batchnorm_problem(op, p, 8, 16, 16, 40)));
    }
  EXPECT_EQ(bn.size(), 16u);
  EXPECT_EQ(plan_key(batchnorm_problem(BatchNormOp::backward, Precision::bf16, 2, 3, 4, 8)),
            plan_key(batchnorm_problem(BatchNormOp::backward, Precision::bf16, 2, 3, 4, 8)));
}

TEST(CudnnProblem, SamePaddingFollowsKeras) {
  // Stride 1, odd kernel: symmetric. Stride 2 on an even size: the extra row goes after.
  EXPECT_EQ(same_padding(9, 9, 3, 1), (ConvGeometry{1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(same_padding(10, 10, 3, 2), (ConvGeometry{2, 2, 0, 0, 1, 1}));
  EXPECT_EQ(same_padding(11, 10, 3, 2), (ConvGeometry{2, 2, 1, 0, 1, 1}));
  EXPECT_EQ(same_padding(7, 7, 1, 2), (ConvGeometry{2, 2, 0, 0, 0, 0}));
  for (int64_t size : {7, 8, 9, 10, 11, 32})
    for (int stride : {1, 2})
      for (int kernel : {1, 3}) {
        const ConvProblem p =
            conv_problem(ConvOp::forward, Precision::fp32, 2, size, size, 3, 8, kernel, stride);
        EXPECT_EQ(p.y.dims[2], (size + stride - 1) / stride) << size << " " << stride;
        EXPECT_EQ(p.y.dims[3], (size + stride - 1) / stride);
        EXPECT_EQ(p.y.dims[1], 8);
      }
}

TEST(CudnnProblem, LayoutsAreNhwcAndKrsc) {
  const ConvProblem p = conv_problem(ConvOp::forward, Precision::fp32, 2, 5, 7, 3, 4, 3, 1);
  EXPECT_EQ(p.x.strides, (std::array<int64_t, 4>{5 * 7 * 3, 1, 7 * 3, 3}));
  EXPECT_EQ(p.w.dims, (std::array<int64_t, 4>{4, 3, 3, 3}));
  EXPECT_EQ(p.w.strides, (std::array<int64_t, 4>{27, 1, 9, 3}));
  EXPECT_EQ(p.x.elements(), 2 * 5 * 7 * 3);
  EXPECT_EQ(p.y.elements(), 2 * 5 * 7 * 4);
}

TEST(CudnnProblem, BadSizesAreOneLineErrors) {
  for (auto make :
       {+[] { conv_problem(ConvOp::forward, Precision::fp32, 0, 8, 8, 3, 8, 3, 1); },
        +[] { conv_problem(ConvOp::forward, Precision::fp32, 2, 8, 8, 3, 8, 3, 0); },
        +[] { conv_problem(ConvOp::forward, Precision::fp32, 2, 2, 2, 3, 8, 5, ConvGeometry{}); },
        +[] { batchnorm_problem(BatchNormOp::backward, Precision::fp16, 2, 2, 2, 0); }}) {
    try {
      make();
      ADD_FAILURE() << "expected gt::Error";
    } catch (const gt::Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
}

TEST(CudnnProblem, ChannelsPadToSixteenBytesForTensorCores) {
  EXPECT_EQ(padded_channels(3, Precision::fp16), 8);
  EXPECT_EQ(padded_channels(3, Precision::bf16), 8);
  EXPECT_EQ(padded_channels(1, Precision::bf16), 8);
  EXPECT_EQ(padded_channels(3, Precision::tf32), 4);
  EXPECT_EQ(padded_channels(3, Precision::fp32), 3);
  EXPECT_EQ(padded_channels(16, Precision::fp16), 16);
  EXPECT_EQ(padded_channels(17, Precision::fp16), 24);
  EXPECT_EQ(padded_channels(6, Precision::tf32), 8);
  for (Precision p : kPrecisions)
    EXPECT_EQ(padded_channels(5, p) * element_bytes(p) % (p == Precision::fp32 ? 4 : 16), 0);
}

TEST(CudnnProblem, PointerAlignmentIsTheLargestPowerOfTwo) {
  alignas(256) static char block[512];
  EXPECT_EQ(pointer_alignment(block), 256);
  EXPECT_EQ(pointer_alignment(block + 16), 16);
  EXPECT_EQ(pointer_alignment(block + 2), 2);
  EXPECT_EQ(pointer_alignment(block + 3), 1);
  EXPECT_EQ(pointer_alignment(block + 48), 16);
}

TEST(CudnnEngineRules, Fp32RefusesTensorCoresOthersAllowThem) {
  const std::vector<cudnnBackendNumericalNote_t> tensor_core = {CUDNN_NUMERICAL_NOTE_TENSOR_CORE};
  EXPECT_NE(engine_refusal(Precision::fp32, false, tensor_core), "");
  EXPECT_EQ(engine_refusal(Precision::tf32, false, tensor_core), "");
  EXPECT_EQ(engine_refusal(Precision::fp16, false, tensor_core), "");
  EXPECT_EQ(engine_refusal(Precision::bf16, false, tensor_core), "");
  EXPECT_EQ(engine_refusal(Precision::fp32, false, {}), "");
  EXPECT_EQ(engine_refusal(Precision::fp32, false, {CUDNN_NUMERICAL_NOTE_WINOGRAD}), "");
}

TEST(CudnnEngineRules, EveryPrecisionAccumulatesInFp32WithoutDownConversion) {
  for (Precision p : kPrecisions) {
    EXPECT_NE(engine_refusal(p, false, {CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS}), "");
    EXPECT_NE(engine_refusal(p, false,
                             {CUDNN_NUMERICAL_NOTE_TENSOR_CORE,
                              CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION}),
              "");
    EXPECT_EQ(engine_refusal(p, false, {CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC}), "");
    EXPECT_NE(engine_refusal(p, true, {CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC}), "");
  }
}

TEST(CudnnAutotuneFile, ChoicesSurviveARewriteAndAReread) {
  gt::testing::TempDir dir;
  const std::string path = dir / "cudnn-autotune.txt";
  {
    AutotuneFile file(path, "cuDNN 9.19.0, GPU (sm_90)");
    EXPECT_EQ(file.size(), 0u);
    EXPECT_FALSE(file.choice("conv_fwd a"));
    file.record("conv_fwd a", "eng12 k2=1", 0.25);
    file.record("conv_dgrad b", "eng3", 1.5);
    file.record("conv_fwd a", "eng7 k1=0", 0.125);  // a later choice replaces the earlier
  }
  AutotuneFile again(path, "cuDNN 9.19.0, GPU (sm_90)");
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(again.choice("conv_fwd a"), "eng7 k1=0");
  EXPECT_EQ(again.choice("conv_dgrad b"), "eng3");
  EXPECT_EQ(again.note(), "");
}

TEST(CudnnAutotuneFile, AnotherGpuOrCudnnIsSetAside) {
  gt::testing::TempDir dir;
  const std::string path = dir / "cudnn-autotune.txt";
  AutotuneFile(path, "cuDNN 9.19.0, GPU A (sm_90)").record("k", "eng1", 1);
  AutotuneFile other(path, "cuDNN 9.10.2, GPU A (sm_90)");
  EXPECT_EQ(other.size(), 0u);
  EXPECT_NE(other.note().find("cuDNN 9.19.0, GPU A (sm_90)"), std::string::npos) << other.note();
  other.record("k", "eng2", 1);
  EXPECT_EQ(AutotuneFile(path, "cuDNN 9.10.2, GPU A (sm_90)").choice("k"), "eng2");
}

TEST(CudnnAutotuneFile, MalformedLinesAreSkippedAndForeignFilesReplaced) {
  gt::testing::TempDir dir;
  const std::string path = dir / "cudnn-autotune.txt";
  gt::testing::write_file(path,
                          "# greentrain cuDNN autotune v1\n# context: C\ngood\teng1\t0.5\n"
                          "no tabs here\nhalf\teng2\n\tempty key\t1\nbad ms\teng3\tfast\n");
  AutotuneFile file(path, "C");
  EXPECT_EQ(file.size(), 1u);
  EXPECT_EQ(file.choice("good"), "eng1");
  gt::testing::write_file(path, "something else\n");
  AutotuneFile foreign(path, "C");
  EXPECT_EQ(foreign.size(), 0u);
  EXPECT_NE(foreign.note().find("not a greentrain cuDNN autotune file"), std::string::npos);
}

TEST(CudnnAutotuneFile, UnwritablePlaceIsAOneLineError) {
  gt::testing::TempDir dir;
  AutotuneFile file(dir / "no/such/folder/tune.txt", "C");
  try {
    file.record("k", "eng1", 1);
    FAIL() << "expected gt::Error";
  } catch (const gt::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot write the cuDNN autotune file"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  EXPECT_THROW(AutotuneFile(dir.str(), "C"), gt::Error);  // a folder, not a file
}

// The descriptors of every problem kind in every precision, finalised by the real cuDNN (no
// handle, so no GPU, is needed for these): a wrong attribute name or type fails here.
TEST(CudnnDescriptors, EveryProblemKindBuildsItsOperations) {
  if (!cudnn_search().library) GTEST_SKIP() << cudnn_search().failure();
  for (Precision p : kPrecisions) {
    for (ConvOp op : kOps) {
      const OperationSet set = operations(conv_problem(op, p, 2, 9, 9, 8, 16, 3, 2));
      EXPECT_EQ(set.ops.size(), op == ConvOp::forward_bias_relu ? 3u : 1u);
      EXPECT_EQ(set.uids.size(), op == ConvOp::forward_bias_relu ? 4u : 3u);
    }
    EXPECT_EQ(
        operations(batchnorm_problem(BatchNormOp::forward_training, p, 2, 5, 5, 8)).uids.size(),
        12u);
    EXPECT_EQ(operations(batchnorm_problem(BatchNormOp::backward, p, 2, 5, 5, 8)).uids.size(), 8u);
  }
}

TEST(CudnnDescriptors, CallsCheckTheirBuffers) {
  const ConvProblem p =
      conv_problem(ConvOp::forward_bias_relu, Precision::fp16, 2, 9, 9, 8, 16, 3, 1);
  alignas(256) static char block[1024];
  ConvTensors t{block, block + 256, block + 512, nullptr};
  EXPECT_THROW(variant_pointers(p, t), gt::Error);  // no bias
  t.bias = block + 768;
  EXPECT_EQ(variant_pointers(p, t).size(), 4u);
  t.w = block + 258;  // 2-byte aligned, the plan promised 16
  try {
    variant_pointers(p, t);
    FAIL() << "expected gt::Error";
  } catch (const gt::Error& e) {
    EXPECT_STREQ(e.what(),
                 "cuDNN call: the buffer for w is aligned to 2 bytes; its plan assumed 16");
  }
  const BatchNormProblem bn = batchnorm_problem(BatchNormOp::backward, Precision::fp16, 2, 3, 3, 8);
  EXPECT_THROW(variant_pointers(bn, BatchNormForwardTensors{}), gt::Error);
}

}  // namespace
}  // namespace gt::engine::cuda
