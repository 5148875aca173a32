// Descriptive statistics over one sample: n, mean, sd, se, 95 % t-interval (or the Cox interval
// of a positive quantity), median, min, max, CV. Sums are compensated (Neumaier) and the variance
// is two-pass, so nothing is lost on large, nearly equal energies (1e5 J runs that differ in the
// fifth digit).
#pragma once
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

namespace gt::stats {

// Neumaier-compensated running sum.
class CompensatedSum {
 public:
  void add(double x);
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0, compensation_ = 0;
};

double sum(std::span<const double> x);
double mean(std::span<const double> x);
// Sample variance (n - 1 denominator), two-pass; NaN when n < 2.
double variance(std::span<const double> x);
double median(std::span<const double> x);

struct Description {
  std::size_t n = 0;
  double mean, sd, se, ci95_low, ci95_high, median, min, max, cv;  // NaN where undefined
};

// sd/se/CI need n >= 2, cv needs a non-zero mean; undefined values are NaN.
Description describe(std::span<const double> x);

// The 95 % interval of the mean of a positive, roughly log-normal sample by the modified Cox
// method (Olsson 2005): exp(m + s^2/2 +- t(0.975, n - 1) * sqrt(s^2/n + s^4/(2(n - 1)))), m and
// s the mean and sd of the log values. Unlike the t interval it never reaches zero. {NaN, NaN}
// when n < 2 or a value is not positive.
std::pair<double, double> cox_interval(std::span<const double> x);

}  // namespace gt::stats
