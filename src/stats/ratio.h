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
  std::string undefined_reason;  // empty when the interval is defined
};

// x against y. Needs every value > 0 and at least two values in each sample. When both samples
// are constant the ratio is exact: bounds equal pct, halfwidth_pct is 0 and df is NaN.
RatioInterval log_ratio_interval(std::span<const double> x, std::span<const double> y,
                                 double alpha = 0.05);

}  // namespace gt::stats
