// The ratio of means of two positive samples as a relative difference with its interval:
// Welch's t interval on the log values, back-transformed. exp(mean(log x) - mean(log y)) is the
// ratio of geometric means; its interval can never cross zero, which an absolute-difference
// interval of a positive quantity (energy, duration, power, CO2e) can. Reported as percent:
// x is `pct` % above (negative: below) y, with bounds [pct_low, pct_high].
#pragma once
#include <span>
#include <string>

namespace gt::stats {

struct RatioInterval {
  double ratio;              // exp(mean(log x) - mean(log y)); NaN when undefined
  double pct;                // (ratio - 1) * 100
  double pct_low, pct_high;  // the (1 - alpha) interval in percent; NaN when undefined
  double halfwidth_pct;      // the larger distance from pct to a bound (the interval is asymmetric)
  double df;                 // Welch-Satterthwaite degrees of freedom on the log scale
  double se_log;             // standard error of the mean-log difference
  std::string undefined_reason;  // empty when the interval is defined
};

// x against y. Needs every value > 0 and at least two values in each sample. When both samples
// are constant the ratio is exact: bounds equal pct, halfwidth_pct is 0 and df is NaN.
RatioInterval log_ratio_interval(std::span<const double> x, std::span<const double> y,
                                 double alpha = 0.05);

// The sample size per group at which `r` (computed from groups of at least n values) would have
// halfwidth_pct <= target_pct if both groups grew alike and the spread on the log scale stayed
// as observed: the standard error shrinks as sqrt(n / m) and the degrees of freedom grow as
// (m - 1) / (n - 1) (exact for groups of equal size). Returns n when r already meets the target,
// `limit` when it cannot within it, 0 when r is undefined.
int projected_sample_size(const RatioInterval& r, int n, double target_pct, int limit,
                          double alpha = 0.05);

// The same projection with an optimistic spread: the log-scale variance at its lower one-sided
// `confidence` bound, df * s^2 / chi2(confidence, df) with the interval's Welch df (about 0.43
// s^2 at 2 df, 0.6 s^2 at 6 df, for 90 %). A sample size this projection still puts beyond
// reach is out of reach unless the spread was badly overestimated.
int optimistic_sample_size(const RatioInterval& r, int n, double target_pct, int limit,
                           double alpha = 0.05, double confidence = 0.9);

}  // namespace gt::stats
