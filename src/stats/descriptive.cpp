// Descriptive statistics (see descriptive.h). The t quantile for the interval comes from R's
// standalone math library.
#include "stats/descriptive.h"

#include <Rmath.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/missing.h"

namespace gt::stats {

void CompensatedSum::add(double x) {
  double t = sum_ + x;
  if (std::abs(sum_) >= std::abs(x))
    compensation_ += (sum_ - t) + x;
  else
    compensation_ += (x - t) + sum_;
  sum_ = t;
}

double sum(std::span<const double> x) {
  CompensatedSum s;
  for (double v : x) s.add(v);
  return s.value();
}

double mean(std::span<const double> x) {
  if (x.empty()) return kNaN;
  double m = sum(x) / static_cast<double>(x.size());
  // One correction pass: the mean of the residuals recovers what rounding lost.
  CompensatedSum r;
  for (double v : x) r.add(v - m);
  return m + r.value() / static_cast<double>(x.size());
}

double variance(std::span<const double> x) {
  if (x.size() < 2) return kNaN;
  double m = mean(x);
  CompensatedSum ss;
  for (double v : x) ss.add((v - m) * (v - m));
  return ss.value() / static_cast<double>(x.size() - 1);
}

double median(std::span<const double> x) {
  if (x.empty()) return kNaN;
  std::vector<double> v(x.begin(), x.end());
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

Description describe(std::span<const double> x) {
  Description d;
  d.n = x.size();
  d.mean = mean(x);
  d.sd = std::sqrt(variance(x));
  d.se = d.n >= 2 ? d.sd / std::sqrt(static_cast<double>(d.n)) : kNaN;
  if (d.n >= 2) {
    double q = qt(0.975, static_cast<double>(d.n - 1), 1, 0);
    d.ci95_low = d.mean - q * d.se;
    d.ci95_high = d.mean + q * d.se;
  } else {
    d.ci95_low = d.ci95_high = kNaN;
  }
  d.median = median(x);
  d.min = x.empty() ? kNaN : *std::min_element(x.begin(), x.end());
  d.max = x.empty() ? kNaN : *std::max_element(x.begin(), x.end());
  d.cv = (d.n >= 2 && d.mean != 0) ? d.sd / std::abs(d.mean) : kNaN;
  return d;
}

std::pair<double, double> cox_interval(std::span<const double> x) {
  const size_t n = x.size();
  if (n < 2) return {kNaN, kNaN};
  std::vector<double> logs;
  for (double v : x) {
    if (!(v > 0)) return {kNaN, kNaN};
    logs.push_back(std::log(v));
  }
  const double m = mean(logs), s2 = variance(logs);
  const double nn = static_cast<double>(n);
  const double centre = m + s2 / 2;
  const double half = qt(0.975, nn - 1, 1, 0) * std::sqrt(s2 / nn + s2 * s2 / (2 * (nn - 1)));
  return {std::exp(centre - half), std::exp(centre + half)};
}

}  // namespace gt::stats
