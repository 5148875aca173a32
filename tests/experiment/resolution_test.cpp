// The stopping rule against the meter's resolution: a phase whose stated uncertainty is large
// against its energy makes a tight interval unreachable within max_repeats (refused with the
// phase's length, its uncertainty and the remedies); a well-resolved phase, a metric that is not
// a phase's energy, or no phase at all give no refusal; the blocks formula.
#include "experiment/resolution.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gt::experiment {
namespace {

RunRecord run_with_phase(int config, double duration_s, double energy_j, double uncertainty_j) {
  RunRecord r;
  r.status = gt::RunStatus::ok;
  r.config_index = config;
  PhaseRecord p;
  p.name = "train";
  p.duration_s = duration_s;
  p.energy_j = energy_j;
  p.uncertainty_j = uncertainty_j;
  r.phases = {p};
  return r;
}

TEST(Resolution, BlocksForAnIntervalOfADifference) {
  // 2 (1.96 cv / t)^2: cv 5 %, target 1 % -> 192.08 -> 193 blocks.
  EXPECT_EQ(blocks_for_interval(0.05, 0.01), 193);
  EXPECT_EQ(blocks_for_interval(0.001, 0.03), 1);
  EXPECT_EQ(blocks_for_interval(0.05, 0), 0);
}

TEST(Resolution, AShortPhaseCannotReachATightIntervalAndSaysWhy) {
  StopRule rule;
  rule.ci_halfwidth_pct = 1;
  // 39 ms, 6.5 J +- 0.83 J (what an H200 gave for mlp:1024, batch 256, 3 epochs).
  std::vector<RunRecord> runs = {run_with_phase(0, 0.039, 6.5, 0.83),
                                 run_with_phase(1, 0.25, 40, 0.75)};
  auto c = check_resolution(rule, "train_energy_j", runs, 15);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->reachable);
  EXPECT_EQ(c->phase, "train");
  EXPECT_NEAR(c->duration_s, 0.039, 1e-12);  // the least resolved configuration
  EXPECT_EQ(c->blocks_needed, blocks_for_interval(0.83 / 6.5 / std::sqrt(3.0), 0.01));
  EXPECT_GT(c->blocks_needed, 15);
  for (const char* part :
       {"cannot be met", "train phase lasts 39 ms", "+-12.8 %", "max_repeats 15", "min_phase_s"})
    EXPECT_NE(c->message.find(part), std::string::npos) << part << ": " << c->message;
  // The same phase against a loose target, or the whole rule on a well-resolved phase: reachable.
  rule.ci_halfwidth_pct = 10;
  EXPECT_TRUE(check_resolution(rule, "train_energy_j", runs, 15)->reachable);
  rule.ci_halfwidth_pct = 1;
  std::vector<RunRecord> long_phase = {run_with_phase(0, 2.0, 320, 0.8)};
  EXPECT_TRUE(check_resolution(rule, "train_gpu_energy_j", long_phase, 15)->reachable);
}

TEST(Resolution, ShortestPhaseBeforeAnyRun) {
  // A phase of exactly that length has cv = kBoundaryPower_s / D and needs max_blocks blocks.
  const double d = shortest_resolvable_phase_s(1, 15);
  EXPECT_NEAR(blocks_for_interval(kBoundaryPower_s / d, 0.01), 15, 1);
  EXPECT_LT(shortest_resolvable_phase_s(3, 15), d);   // a looser target needs less
  EXPECT_LT(shortest_resolvable_phase_s(1, 100), d);  // more blocks need less
  EXPECT_EQ(shortest_resolvable_phase_s(0, 15), 0);
}

TEST(Resolution, NothingToJudgeWithoutAPhaseMetric) {
  StopRule rule;
  std::vector<RunRecord> runs = {run_with_phase(0, 0.039, 6.5, 0.83)};
  EXPECT_FALSE(check_resolution(rule, "energy_j", runs, 15));       // not a phase's energy
  EXPECT_FALSE(check_resolution(rule, "eval_energy_j", runs, 15));  // no such phase recorded
  runs[0].status = gt::RunStatus::failed;
  EXPECT_FALSE(check_resolution(rule, "train_energy_j", runs, 15));
}

}  // namespace
}  // namespace gt::experiment
