// k-group tests (see anova.h). F and studentized-range probabilities from R's standalone math
// library; sums of squares two-pass and compensated.
#include "stats/anova.h"

#include <Rmath.h>

#include <cmath>
#include <limits>

#include "stats/descriptive.h"
#include "stats/missing.h"

namespace gt::stats {
OneWayAnova oneway_anova(const Groups& groups) {
  OneWayAnova r{kNaN, kNaN, kNaN, kNaN, kNaN, {}};
  const double k = groups.size();
  std::vector<double> all;
  for (const auto& g : groups) all.insert(all.end(), g.begin(), g.end());
  const double n = all.size();
  r.df_between = k - 1;
  r.df_within = n - k;
  if (k < 2) {
    r.undefined_reason = "fewer than two groups";
    return r;
  }
  const double grand = mean(all);
  CompensatedSum ssb, ssw;
  for (const auto& g : groups) {
    if (g.empty()) continue;
    const double m = mean(g);
    ssb.add(g.size() * (m - grand) * (m - grand));
    for (double v : g) ssw.add((v - m) * (v - m));
  }
  const double sst = ssb.value() + ssw.value();
  if (sst > 0) r.eta_sq = ssb.value() / sst;
  if (r.df_within <= 0) {
    r.undefined_reason = "no replicate runs (no within-group degrees of freedom)";
    return r;
  }
  if (!(ssw.value() > 0)) {
    r.undefined_reason = "zero variance within every group";
    return r;
  }
  r.f = (ssb.value() / r.df_between) / (ssw.value() / r.df_within);
  r.p = pf(r.f, r.df_between, r.df_within, 0, 0);
  return r;
}

WelchAnova welch_anova(const Groups& groups) {
  WelchAnova r{kNaN, kNaN, kNaN, kNaN, {}};
  const double k = groups.size();
  if (k < 2) {
    r.undefined_reason = "fewer than two groups";
    return r;
  }
  std::vector<double> w, m, n;
  for (const auto& g : groups) {
    if (g.size() < 2) {
      r.undefined_reason = "a group has fewer than two runs";
      return r;
    }
    const double v = variance(g);
    if (!(v > 0)) {
      r.undefined_reason = "a group has zero variance";
      return r;
    }
    n.push_back(g.size());
    w.push_back(g.size() / v);
    m.push_back(mean(g));
  }
  CompensatedSum sw, swm;
  for (size_t i = 0; i < w.size(); ++i) {
    sw.add(w[i]);
    swm.add(w[i] * m[i]);
  }
  const double W = sw.value(), mw = swm.value() / W;
  CompensatedSum a, lam;
  for (size_t i = 0; i < w.size(); ++i) {
    a.add(w[i] * (m[i] - mw) * (m[i] - mw));
    const double h = 1 - w[i] / W;
    lam.add(h * h / (n[i] - 1));
  }
  const double A = a.value() / (k - 1);
  const double B = 1 + 2 * (k - 2) / (k * k - 1) * lam.value();
  r.f = A / B;
  r.df_num = k - 1;
  r.df_den = (k * k - 1) / (3 * lam.value());
  r.p = pf(r.f, r.df_num, r.df_den, 0, 0);
  return r;
}

Levene brown_forsythe(const Groups& groups) {
  Groups deviations;
  for (const auto& g : groups) {
    const double med = median(g);
    std::vector<double> z;
    for (double v : g) z.push_back(std::abs(v - med));
    deviations.push_back(std::move(z));
  }
  OneWayAnova a = oneway_anova(deviations);
  std::string reason = a.undefined_reason;
  if (reason == "zero variance within every group")
    reason = "the absolute deviations from the group medians are constant";
  return {a.f, a.p, reason};
}

double studentized_range_quantile(double prob, double k, double df) {
  // Bracket, then bisection on ptukey (monotone in q).
  double lo = 0, hi = 1;
  while (ptukey(hi, 1, k, df, 1, 0) < prob && hi < 1e6) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    if (ptukey(mid, 1, k, df, 1, 0) < prob)
      lo = mid;
    else
      hi = mid;
  }
  return (lo + hi) / 2;
}

std::vector<TukeyPair> tukey_hsd(const Groups& groups, std::string* undefined_reason) {
  std::vector<TukeyPair> out;
  const double k = groups.size();
  double n = 0;
  CompensatedSum ssw;
  std::vector<double> means;
  for (const auto& g : groups) {
    n += g.size();
    const double m = mean(g);
    means.push_back(m);
    for (double v : g) ssw.add((v - m) * (v - m));
  }
  const double df = n - k;
  auto fail = [&](const char* why) {
    if (undefined_reason) *undefined_reason = why;
    return out;
  };
  if (k < 2) return fail("fewer than two groups");
  if (df <= 0) return fail("no replicate runs (no within-group degrees of freedom)");
  const double mse = ssw.value() / df;
  if (!(mse > 0)) return fail("zero variance within every group");
  const double q_crit = studentized_range_quantile(0.95, k, df);
  for (size_t a = 0; a < groups.size(); ++a)
    for (size_t b = a + 1; b < groups.size(); ++b) {
      const double diff = means[b] - means[a];
      const double se = std::sqrt(mse / 2 * (1.0 / groups[a].size() + 1.0 / groups[b].size()));
      const double q = std::abs(diff) / se;
      out.push_back(
          {a, b, diff, ptukey(q, 1, k, df, 0, 0), diff - q_crit * se, diff + q_crit * se});
    }
  return out;
}

}  // namespace gt::stats
