// Tests across k groups: one-way ANOVA (with eta squared), Welch's ANOVA, the Brown-Forsythe
// (median-centred Levene) test for equal variances, and Tukey's HSD over all pairs (the
// Tukey-Kramer form for unequal sizes, p and interval from the studentized range). Undefined
// results carry NaN and a reason.
#pragma once
#include <span>
#include <string>
#include <vector>

namespace gt::stats {

using Groups = std::vector<std::vector<double>>;

struct OneWayAnova {
  double f, df_between, df_within, p, eta_sq;
  std::string undefined_reason;
};
OneWayAnova oneway_anova(const Groups& groups);

struct WelchAnova {
  double f, df_num, df_den, p;
  std::string undefined_reason;
};
WelchAnova welch_anova(const Groups& groups);

struct Levene {
  double w, p;
  std::string undefined_reason;
};
Levene brown_forsythe(const Groups& groups);

struct TukeyPair {
  size_t a, b;                          // group indices, a < b
  double diff, p_adj, ci_low, ci_high;  // diff = mean(b) - mean(a); 95 % simultaneous interval
};
// Empty with a reason when the pooled variance is zero or there are no error degrees of freedom.
std::vector<TukeyPair> tukey_hsd(const Groups& groups, std::string* undefined_reason = nullptr);

// Upper quantile of the studentized range for 1 - alpha, solved on R's ptukey to 1e-12
// (R's own qtukey stops at 1e-4).
double studentized_range_quantile(double prob, double groups, double df);

}  // namespace gt::stats
