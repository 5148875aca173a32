// Descriptive statistics over one sample: n, mean, sd, se, 95 % t-interval, median, min, max,
// CV. Sums are compensated (Neumaier) and the variance is two-pass, so nothing is lost on
// large, nearly equal energies (1e5 J runs that differ in the fifth digit).
#pragma once
#include <cstddef>
#include <span>
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

}  // namespace gt::stats
