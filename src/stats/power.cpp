// Sample size by search over the exact power function (see power.h): doubling to bracket the
// answer, then bisection over integers; power is increasing in n.
#include "stats/power.h"

#include <Rmath.h>

#include <cmath>

namespace gt::stats {

double two_sample_power(double d, double n, double alpha) {
  const double df = 2 * n - 2;
  const double ncp = std::abs(d) * std::sqrt(n / 2);
  const double crit = qt(1 - alpha / 2, df, 1, 0);
  return pnt(crit, df, ncp, 0, 0) + pnt(-crit, df, ncp, 1, 0);
}

std::optional<long> runs_per_group_for_power(double d, double power, double alpha) {
  if (!std::isfinite(d) || d == 0 || !(power > 0 && power < 1) || !(alpha > 0 && alpha < 1))
    return std::nullopt;
  constexpr long kMax = 10'000'000;
  long lo = 2;
  if (two_sample_power(d, lo, alpha) >= power) return lo;
  long hi = 4;
  while (two_sample_power(d, hi, alpha) < power) {
    lo = hi;
    hi *= 2;
    if (hi > kMax) return std::nullopt;
  }
  while (hi - lo > 1) {  // power(lo) < target <= power(hi)
    long mid = lo + (hi - lo) / 2;
    if (two_sample_power(d, mid, alpha) >= power)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

std::optional<long> runs_per_group_for_equivalence(double diff, double sd_x, double sd_y,
                                                   double margin, double alpha) {
  const double room = margin - std::abs(diff);
  if (!(room > 0) || !std::isfinite(sd_x) || !std::isfinite(sd_y)) return std::nullopt;
  const double vx = sd_x * sd_x, vy = sd_y * sd_y;
  auto shows = [&](long n) {
    if (vx + vy == 0) return true;
    const double df = (vx + vy) * (vx + vy) * (n - 1) / (vx * vx + vy * vy);
    return qt(1 - alpha, df, 1, 0) * std::sqrt((vx + vy) / n) < room;
  };
  constexpr long kMax = 10'000'000;
  long lo = 2;
  if (shows(lo)) return lo;
  long hi = 4;
  while (!shows(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > kMax) return std::nullopt;
  }
  while (hi - lo > 1) {
    long mid = lo + (hi - lo) / 2;
    (shows(mid) ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace gt::stats
