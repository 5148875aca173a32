// The CUDA backend against the engine's shared PyTorch reference state (tests/engine/reference.h
// and make_reference.py, the same file the CPU backend's reference_test checks): logits, loss,
// every gradient, the losses of the reference's Adam steps and the weights after them, per
// precision with the shared tolerance table, for the fused MLP kernel, fused epilogues and
// unfused kernels, on its two-hidden-layer model and on a one-hidden-layer one (the fused MLP
// kernel's shape; reference-one-hidden.json, make_reference.py --hidden 24). Skips without a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"
#include "reference.h"

namespace gt::engine {
namespace {

using testing::Checker;
using testing::Quantity;

// The backend's three ways to run a step: the fused small-MLP kernel (where the shape allows),
// cuBLASLt with fused epilogues, and cuBLASLt with the separate kernels.
struct Mode {
  const char* name;
  bool fused_mlp, fused_epilogues;
};
const std::vector<Mode>& modes() {
  static const std::vector<Mode> all{
      {"fused-mlp", true, true}, {"fused", false, true}, {"unfused", false, false}};
  return all;
}

const testing::Reference& one_hidden_reference() {
  static const testing::Reference ref = testing::load_reference(
      testing::reference_file("reference-one-hidden.json", "make_reference.py --hidden 24"));
  return ref;
}

class CudaSharedReference : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaSharedReference, MatchesPyTorch) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  const Precision precision = GetParam();
  for (const testing::Reference* ref : {&testing::shared_reference(), &one_hidden_reference()}) {
    const std::string shape = ref->spec.hidden.size() == 1 ? "one hidden layer" : "two hidden";
    for (const Mode& mode : modes()) {
      CudaOptions options;
      options.fused_mlp = mode.fused_mlp;
      options.fused_epilogues = mode.fused_epilogues;
      auto backend = make_cuda_backend(0, options);
      backend->setup(ref->spec, ref->optimizer, precision, int(ref->batch.rows), ref->batch, 1);
      backend->set_parameters(ref->initial);
      const StepDebug d = backend->debug_step(ref->batch);
      Checker check(precision, std::string("cuda ") + mode.name + ", " + shape);
      check.tensor("logits", d.logits, ref->logits, Quantity::logits);
      check.value("loss", d.loss, ref->loss, Quantity::loss);
      check.parameters("grad", d.grads, ref->grads, Quantity::gradient);
      const auto losses = backend->debug_steps(ref->batch, int(ref->adam_losses.size()));
      check.tensor("step_loss", losses, ref->adam_losses, Quantity::step_loss);
      check.parameters("after", backend->parameters(), ref->after_steps, Quantity::parameter);
      check.finish();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaSharedReference,
                         ::testing::Values(Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace gt::engine
