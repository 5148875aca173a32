// Two-sample tests (see two_sample.h). Distributions from R's standalone math library: pt/qt
// for the t-tests, pwilcox for the exact Mann-Whitney p, pnorm for its approximation.
#include "stats/two_sample.h"

#include <Rmath.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "stats/descriptive.h"
#include "stats/missing.h"

namespace gt::stats {
namespace {

TTest undefined_t(double diff, std::string reason) {
  return {kNaN, kNaN, kNaN, diff, kNaN, kNaN, std::move(reason)};
}

double pooled_sd(std::span<const double> x, std::span<const double> y) {
  const double nx = x.size(), ny = y.size();
  if (nx + ny < 3) return kNaN;
  double vx = nx >= 2 ? variance(x) : 0, vy = ny >= 2 ? variance(y) : 0;
  return std::sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2));
}

}  // namespace

TTest welch_t(std::span<const double> x, std::span<const double> y, double alpha) {
  const double nx = x.size(), ny = y.size();
  const double diff = (nx > 0 && ny > 0) ? mean(x) - mean(y) : kNaN;
  if (nx < 2 || ny < 2) return undefined_t(diff, "a group has fewer than two runs");
  const double vx = variance(x) / nx, vy = variance(y) / ny;
  const double se2 = vx + vy;
  if (!(se2 > 0)) return undefined_t(diff, "zero variance in both groups");
  const double se = std::sqrt(se2);
  const double df = se2 * se2 / (vx * vx / (nx - 1) + vy * vy / (ny - 1));
  const double t = diff / se;
  const double p = 2 * pt(-std::abs(t), df, 1, 0);
  const double q = qt(1 - alpha / 2, df, 1, 0);
  return {t, df, std::min(p, 1.0), diff, diff - q * se, diff + q * se, {}};
}

TTest paired_t(std::span<const double> d, double alpha) {
  const double n = d.size();
  const double m = n > 0 ? mean(d) : kNaN;
  if (n < 2) return undefined_t(m, "fewer than two shared blocks");
  const double v = variance(d);
  if (!(v > 0)) return undefined_t(m, "the paired differences have zero variance");
  const double se = std::sqrt(v / n), df = n - 1, t = m / se;
  const double q = qt(1 - alpha / 2, df, 1, 0);
  return {t, df, std::min(2 * pt(-std::abs(t), df, 1, 0), 1.0), m, m - q * se, m + q * se, {}};
}

double cohens_d(std::span<const double> x, std::span<const double> y) {
  double sp = pooled_sd(x, y);
  if (!(sp > 0)) return kNaN;
  return (mean(x) - mean(y)) / sp;
}

double hedges_g(std::span<const double> x, std::span<const double> y) {
  const double n = x.size() + y.size();
  return cohens_d(x, y) * (1 - 3 / (4 * n - 9));
}

MannWhitney mann_whitney(std::span<const double> x, std::span<const double> y) {
  const size_t nx = x.size(), ny = y.size(), n = nx + ny;
  if (nx == 0 || ny == 0) return {kNaN, kNaN, false};
  // NaN has no rank (and would make the sort below undefined): no test.
  for (double v : x)
    if (std::isnan(v)) return {kNaN, kNaN, false};
  for (double v : y)
    if (std::isnan(v)) return {kNaN, kNaN, false};
  // Midranks of the pooled sample.
  std::vector<std::pair<double, size_t>> all;
  all.reserve(n);
  for (size_t i = 0; i < nx; ++i) all.push_back({x[i], i});
  for (size_t i = 0; i < ny; ++i) all.push_back({y[i], nx + i});
  std::sort(all.begin(), all.end());
  CompensatedSum rank_sum_x;
  double tie_term = 0;  // sum of (t^3 - t) over tie groups
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && all[j].first == all[i].first) ++j;
    const double t = static_cast<double>(j - i);
    if (j - i > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    const double midrank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (all[k].second < nx) rank_sum_x.add(midrank);
    i = j;
  }
  const double m = nx, k = ny;
  const double u = rank_sum_x.value() - m * (m + 1) / 2;
  MannWhitney r{u, kNaN, false};
  if (nx < 50 && ny < 50 && !ties) {
    r.exact = true;
    double p = u > m * k / 2 ? pwilcox(u - 1, m, k, 0, 0) : pwilcox(u, m, k, 1, 0);
    r.p = std::min(2 * p, 1.0);
    return r;
  }
  const double nn = m + k;
  const double sigma = std::sqrt((m * k / 12) * ((nn + 1) - tie_term / (nn * (nn - 1))));
  if (!(sigma > 0)) return r;  // every value tied: no test
  double z = u - m * k / 2;
  const double correction = z > 0 ? 0.5 : (z < 0 ? -0.5 : 0.0);
  z = (z - correction) / sigma;
  r.p = std::min(2 * std::min(pnorm(z, 0, 1, 1, 0), pnorm(z, 0, 1, 0, 0)), 1.0);
  return r;
}

std::vector<double> holm(std::span<const double> p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.size(), kNaN);
  const double m = order.size();
  double running = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    running = std::max(running, std::min(1.0, (m - r) * p[order[r]]));
    out[order[r]] = running;
  }
  return out;
}

Tost tost_welch(std::span<const double> x, std::span<const double> y, double margin, double alpha) {
  Tost r{kNaN, false, kNaN, {}};
  const double nx = x.size(), ny = y.size();
  if (nx == 0 || ny == 0) {
    r.undefined_reason = "a group has no runs";
    return r;
  }
  r.diff = mean(x) - mean(y);
  if (nx < 2 || ny < 2) {
    r.undefined_reason = "a group has fewer than two runs";
    return r;
  }
  const double vx = variance(x) / nx, vy = variance(y) / ny, se2 = vx + vy;
  if (!(se2 > 0)) {
    r.equivalent = std::abs(r.diff) < margin;
    r.undefined_reason = "zero variance in both groups (decided on the difference alone)";
    return r;
  }
  const double se = std::sqrt(se2);
  const double df = se2 * se2 / (vx * vx / (nx - 1) + vy * vy / (ny - 1));
  const double p_lower = pt((r.diff + margin) / se, df, 0, 0);  // H0: diff <= -margin
  const double p_upper = pt((r.diff - margin) / se, df, 1, 0);  // H0: diff >= +margin
  r.p = std::max(p_lower, p_upper);
  r.equivalent = r.p < alpha;
  return r;
}

}  // namespace gt::stats
