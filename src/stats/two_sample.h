// Two-sample comparisons: Welch's t-test (with its confidence interval), Hedges' g, the
// Mann-Whitney U test (exact / normal approximation as R's wilcox.test and SciPy), the paired
// t-test, Holm's step-down adjustment and the TOST equivalence test in Welch form. Every
// function compares x against y (x minus y); an undefined result is NaN, with the reason in
// `undefined_reason` where one is returned, so callers can say it plainly.
#pragma once
#include <span>
#include <string>
#include <vector>

namespace gt::stats {

struct TTest {
  double t, df, p;               // NaN when undefined
  double diff, ci_low, ci_high;  // x - y and its (1 - alpha) interval (NaN when undefined)
  std::string undefined_reason;  // empty when defined
};

TTest welch_t(std::span<const double> x, std::span<const double> y, double alpha = 0.05);
// One-sample t-test of the differences against zero (paired t over blocks).
TTest paired_t(std::span<const double> differences, double alpha = 0.05);

// Hedges' g of x minus y: pooled sd, small-sample correction J = 1 - 3 / (4 (nx + ny) - 9).
double hedges_g(std::span<const double> x, std::span<const double> y);
// Cohen's d of x minus y from the pooled sd (no correction).
double cohens_d(std::span<const double> x, std::span<const double> y);

struct MannWhitney {
  double u, p;  // U of x; two-sided p
  bool exact;
};
// Exact when both samples have fewer than 50 values and there are no ties, else the normal
// approximation with tie and continuity corrections. A NaN in either sample gives NaN u and p.
MannWhitney mann_whitney(std::span<const double> x, std::span<const double> y);

// Holm-adjusted p-values; NaN inputs stay NaN and do not count towards the number of tests.
std::vector<double> holm(std::span<const double> p);

struct Tost {
  double p;         // max of the two one-sided Welch p-values; NaN when undefined
  bool equivalent;  // p < alpha (or, with zero variance, |diff| < margin)
  double diff;
  std::string undefined_reason;
};
// Is x - y within (-margin, +margin)?
Tost tost_welch(std::span<const double> x, std::span<const double> y, double margin, double alpha);

}  // namespace gt::stats
