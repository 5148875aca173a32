// The CPU backend against PyTorch (make_reference.py): logits, loss, every gradient and the
// losses of 10 Adam steps, for the naive and the OpenBLAS paths in every precision policy,
// each tensor checked with the shared tolerance table (tolerances.h).
#include "reference.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "engine/backend.h"

namespace gt::engine {
namespace {

using testing::Checker;
using testing::Quantity;

struct Case {
  bool naive;
  Precision precision;
};

class ReferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceTest, MatchesPyTorch) {
  const testing::Reference* ref = &testing::shared_reference();
  const Case c = GetParam();
  const std::string label = c.naive ? "cpu-naive" : "cpu";
  auto be = make_cpu_backend(c.naive);
  be->setup(ref->spec, ref->optimizer, c.precision, int(ref->batch.rows), ref->batch, 7);
  be->set_parameters(ref->initial);

  const StepDebug d = be->debug_step(ref->batch);
  Checker check(c.precision, label);
  check.tensor("logits", d.logits, ref->logits, Quantity::logits);
  check.value("loss", d.loss, ref->loss, Quantity::loss);
  check.parameters("grad", d.grads, ref->grads, Quantity::gradient);
  // debug_step must not have changed the parameters.
  check.parameters("param", be->parameters(), ref->initial, Quantity::parameter);

  const std::vector<float> losses = be->debug_steps(ref->batch, int(ref->adam_losses.size()));
  check.tensor("adam_loss", losses, ref->adam_losses, Quantity::step_loss);
  check.parameters("after_adam", be->parameters(), ref->after_steps, Quantity::parameter);
  check.finish();
}

INSTANTIATE_TEST_SUITE_P(
    Precisions, ReferenceTest,
    ::testing::Values(Case{true, Precision::fp32}, Case{false, Precision::fp32},
                      Case{true, Precision::tf32}, Case{false, Precision::tf32},
                      Case{true, Precision::fp16}, Case{false, Precision::fp16},
                      Case{true, Precision::bf16}, Case{false, Precision::bf16}),
    [](const auto& info) {
      return std::string(info.param.naive ? "naive_" : "blas_") + to_string(info.param.precision);
    });

}  // namespace
}  // namespace gt::engine
