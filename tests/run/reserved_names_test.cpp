// The one name check for a workload's metrics and phases: an energy column's name is stored
// with a prefix, a name the caller keeps is refused with its reason, and a phase whose columns
// would be the run's own, another phase's or a kept name is refused; names compare without
// regard to case.
#include "run/reserved_names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gt::run {
namespace {

TEST(NameCheck, MetricsNamedLikeEnergyColumnsArePrefixed) {
  const NameCheck check;
  std::string why;
  EXPECT_EQ(check.metric_key("test_accuracy", why), "test_accuracy");
  EXPECT_EQ(check.metric_key("energy_j", why), "workload_energy_j");
  EXPECT_EQ(check.metric_key("GPU_Energy_J", why), "workload_gpu_energy_j");
  EXPECT_EQ(check.metric_key("co2e_g", why), "workload_co2e_g");
  EXPECT_EQ(check.metric_key("duration_s", why), "train_duration_s");
}

TEST(NameCheck, KeptNamesAreRefusedWithTheirReason) {
  const NameCheck check(
      {{"run_id", "a field greentrain sets for each run"}, {"precision", "a factor's name"}});
  std::string why;
  EXPECT_FALSE(check.metric_key("run_id", why));
  EXPECT_EQ(why,
            "ignored metric 'run_id': the name is a field greentrain sets for each run (rename "
            "it in the workload)");
  EXPECT_FALSE(check.metric_key("Precision", why));
  EXPECT_NE(why.find("a factor's name"), std::string::npos);
  EXPECT_EQ(check.metric_key("precision_bits", why), "precision_bits");
}

TEST(NameCheck, PhasesWhoseColumnsCollideAreRefused) {
  const NameCheck check(std::vector<KeptName>{{"train_energy_j", "a factor's name"}});
  for (const char* ok : {"setup", "eval", "epoch_3", "gpus", "network"})
    EXPECT_FALSE(check.phase_problem(ok)) << ok;
  for (const char* component : {"gpu", "cpu", "ram", "wall", "net", "GPU"}) {
    auto why = check.phase_problem(component);
    ASSERT_TRUE(why) << component;
    EXPECT_NE(why->find("the run's own"), std::string::npos) << *why;
  }
  auto why = check.phase_problem("train_gpu");  // train_gpu_energy_j is phase train's
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("gpu figure of a phase 'train'"), std::string::npos) << *why;
  EXPECT_TRUE(check.phase_problem("x_net"));
  why = check.phase_problem("peak_power");  // no: peak_power_energy_j is no column
  EXPECT_FALSE(why);
  why = check.phase_problem("train");  // train_energy_j is kept by the caller
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("a factor's name"), std::string::npos) << *why;
}

}  // namespace
}  // namespace gt::run
