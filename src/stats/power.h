// Power and sample size of the two-sided two-sample t-test with equal group sizes, from the
// non-central t distribution (R's pnt): how many runs per group an experiment needs before it
// can see a given effect, or show an equivalence. Both rejection tails count towards power, as in
// statsmodels.
#pragma once
#include <optional>

namespace gt::stats {

// Power of the two-sided two-sample t-test, n runs per group, standardized effect d.
double two_sample_power(double d, double n_per_group, double alpha);

// Smallest integer n >= 2 per group whose power reaches `power`; nullopt when d is 0, not
// finite, or the answer exceeds ten million runs.
std::optional<long> runs_per_group_for_power(double d, double power, double alpha);

// Runs per group at which Welch's TOST would show equivalence within +/- margin if the observed
// difference and standard deviations held: the smallest n >= 2 with
// t(1 - alpha, df_n) * sqrt((sd_x^2 + sd_y^2) / n) < margin - |diff|. nullopt when
// |diff| >= margin (no number of runs would show it) or beyond ten million runs.
std::optional<long> runs_per_group_for_equivalence(double diff, double sd_x, double sd_y,
                                                   double margin, double alpha);

}  // namespace gt::stats
