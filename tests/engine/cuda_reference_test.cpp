// The CUDA backend against the engine's shared PyTorch reference state (tests/engine/reference.h
// and make_reference.py, the same file the CPU backend's reference_test checks): logits, loss,
// every gradient, the losses of the reference's Adam steps and the weights after them, per
// precision with the shared tolerance table, for both fused epilogues and unfused kernels.
// Skips without a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/temp_dir.h"
#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"
#include "reference.h"

namespace gt::engine {
namespace {

using testing::Checker;
using testing::Quantity;

class CudaSharedReference : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaSharedReference, MatchesPyTorch) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  const testing::Reference* ref = &testing::shared_reference();
  const Precision precision = GetParam();
  for (bool fused : {true, false}) {
    CudaOptions options;
    options.fused_epilogues = fused;
    auto backend = make_cuda_backend(0, options);
    backend->setup(ref->spec, ref->optimizer, precision, int(ref->batch.rows), ref->batch, 1);
    backend->set_parameters(ref->initial);
    const StepDebug d = backend->debug_step(ref->batch);
    Checker check(precision, fused ? "cuda fused" : "cuda unfused");
    check.tensor("logits", d.logits, ref->logits, Quantity::logits);
    check.value("loss", d.loss, ref->loss, Quantity::loss);
    check.parameters("grad", d.grads, ref->grads, Quantity::gradient);
    const auto losses = backend->debug_steps(ref->batch, int(ref->adam_losses.size()));
    check.tensor("step_loss", losses, ref->adam_losses, Quantity::step_loss);
    check.parameters("after", backend->parameters(), ref->after_steps, Quantity::parameter);
    check.finish();
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaSharedReference,
                         ::testing::Values(Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace gt::engine
