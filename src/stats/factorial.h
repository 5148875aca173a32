// Factorial ANOVA with Type II sums of squares over categorical factors: main effects and all
// two-way interactions, treatment-coded, fitted by least squares through LAPACK's pivoted QR
// (dgeqp3), so rank deficiency is detected rather than divided by. Each term's sum of squares
// is the drop in residual sum of squares when the term joins every term that does not contain
// it (the principle of marginality), as car::Anova(type = 2) and statsmodels anova_lm(typ=2).
// Terms that an incomplete design cannot estimate (they would add fewer independent columns
// than they have) are dropped and named. Sums of squares below 1e-12 of the total sum of squares
// are rounding noise and are reported as exact zeros (so constant data give no F, not 1e29).
#pragma once
#include <span>
#include <string>
#include <vector>

namespace gt::stats {

struct FactorialTerm {
  std::string term;                         // "precision" or "precision:batch_size"
  double df, sum_sq, f, p, partial_eta_sq;  // f/p NaN without residual degrees of freedom
};

struct FactorialAnova {
  std::vector<FactorialTerm> terms;
  double residual_df = 0, residual_ss = 0;
  std::vector<std::string> dropped;   // terms the design cannot estimate
  std::vector<std::string> constant;  // factors with a single level, left out
  std::string undefined_reason;       // set when no F test is possible
};

// names[f] is factor f's name; levels[i][f] the level index (0-based) of observation i.
FactorialAnova factorial_anova_type2(const std::vector<std::string>& names,
                                     const std::vector<std::vector<int>>& levels,
                                     std::span<const double> y);

}  // namespace gt::stats
