// Ratio-of-means interval (see ratio.h): Welch's t-test on log values, exponentiated.
#include "stats/ratio.h"

#include <Rmath.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "stats/descriptive.h"
#include "stats/missing.h"
#include "stats/two_sample.h"

namespace gt::stats {
namespace {

double to_pct(double log_ratio) { return std::expm1(log_ratio) * 100; }

}  // namespace

RatioInterval log_ratio_interval(std::span<const double> x, std::span<const double> y,
                                 double alpha) {
  RatioInterval r{kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, {}};
  auto positive = [](double v) { return v > 0 && std::isfinite(v); };
  if (!std::all_of(x.begin(), x.end(), positive) || !std::all_of(y.begin(), y.end(), positive)) {
    r.undefined_reason = "a value is not positive";
    return r;
  }
  std::vector<double> lx(x.size()), ly(y.size());
  std::transform(x.begin(), x.end(), lx.begin(), [](double v) { return std::log(v); });
  std::transform(y.begin(), y.end(), ly.begin(), [](double v) { return std::log(v); });
  const TTest t = welch_t(lx, ly, alpha);
  if (std::isfinite(t.diff)) {
    r.ratio = std::exp(t.diff);
    r.pct = to_pct(t.diff);
  }
  if (lx.size() < 2 || ly.size() < 2) {
    r.undefined_reason = t.undefined_reason;
    return r;
  }
  if (!std::isfinite(t.ci_low)) {  // both samples constant: the ratio is exact
    r.pct_low = r.pct_high = r.pct;
    r.halfwidth_pct = 0;
    r.se_log = 0;
    return r;
  }
  r.pct_low = to_pct(t.ci_low);
  r.pct_high = to_pct(t.ci_high);
  r.halfwidth_pct = std::max(r.pct_high - r.pct, r.pct - r.pct_low);
  r.df = t.df;
  r.se_log = std::sqrt(variance(lx) / static_cast<double>(lx.size()) +
                       variance(ly) / static_cast<double>(ly.size()));
  return r;
}

int projected_sample_size(const RatioInterval& r, int n, double target_pct, int limit,
                          double alpha) {
  if (!std::isfinite(r.halfwidth_pct) || n < 2) return 0;
  if (r.halfwidth_pct <= target_pct) return n;
  if (!(r.se_log > 0) || !std::isfinite(r.df)) return limit;
  const double d = std::log(r.ratio);
  for (int m = n + 1; m < limit; ++m) {
    const double se = r.se_log * std::sqrt(static_cast<double>(n) / m);
    const double df = r.df * (m - 1) / (n - 1);
    const double q = qt(1 - alpha / 2, df, 1, 0);
    const double hw = std::max(to_pct(d + q * se) - to_pct(d), to_pct(d) - to_pct(d - q * se));
    if (hw <= target_pct) return m;
  }
  return limit;
}

int optimistic_sample_size(const RatioInterval& r, int n, double target_pct, int limit,
                           double alpha, double confidence) {
  if (!std::isfinite(r.halfwidth_pct) || n < 2) return 0;
  if (r.halfwidth_pct <= target_pct) return n;
  if (!(r.se_log > 0) || !std::isfinite(r.df)) return limit;
  RatioInterval o = r;
  o.se_log = r.se_log * std::sqrt(r.df / qchisq(confidence, r.df, 1, 0));
  const double d = std::log(r.ratio), q = qt(1 - alpha / 2, r.df, 1, 0);
  o.halfwidth_pct =
      std::max(to_pct(d + q * o.se_log) - to_pct(d), to_pct(d) - to_pct(d - q * o.se_log));
  return projected_sample_size(o, n, target_pct, limit, alpha);
}

}  // namespace gt::stats
