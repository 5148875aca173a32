// Accumulator: counter difference, trapezoid integration of instant power, rectangle rule for
// interval-average power, missed samples and peak power, checked against closed-form integrals.
#include <gtest/gtest.h>

#include <cmath>

#include "energy/meter.h"

namespace gt::energy {
namespace {

Reading power(double w, bool average = false) {
  Reading r;
  r.power_w = w;
  r.power_is_average = average;
  return r;
}

TEST(Accumulator, TrapezoidIsExactForLinearPower) {
  Accumulator a;  // P(t) = 10 + 4t on [0, 3]: ∫ = 30 + 2·9 = 48 J
  for (int i = 0; i <= 30; ++i) a.add(i * 0.1, power(10 + 4 * i * 0.1));
  EXPECT_NEAR(a.energy_j(), 48.0, 1e-9);
  EXPECT_NEAR(a.peak_power_w(), 22.0, 1e-9);
}

TEST(Accumulator, TrapezoidConvergesForSine) {
  Accumulator a;  // P(t) = 100 + 50 sin t on [0, π]: ∫ = 100π + 100
  const int n = 2000;
  for (int i = 0; i <= n; ++i) {
    double t = M_PI * i / n;
    a.add(t, power(100 + 50 * std::sin(t)));
  }
  EXPECT_NEAR(a.energy_j(), 100 * M_PI + 100, 1e-3);
}

TEST(Accumulator, RectangleForIntervalAverages) {
  Accumulator a;  // averages over (t_{i-1}, t_i]: 5 W for 1 s, then 15 W for 2 s
  a.add(0, Reading{});
  a.add(1, power(5, true));
  a.add(3, power(15, true));
  EXPECT_NEAR(a.energy_j(), 35.0, 1e-12);
}

TEST(Accumulator, CounterDifferenceWinsOverPower) {
  Accumulator a;
  Reading r;
  r.energy_j = 1000;
  r.power_w = 50;
  a.add(0, r);
  r.energy_j = 1100;
  r.power_w = 300;
  a.add(1, r);
  EXPECT_NEAR(a.energy_j(), 100.0, 1e-12);
  EXPECT_NEAR(a.peak_power_w(), 300.0, 1e-12);
}

TEST(Accumulator, CounterOnlyDerivesPower) {
  Accumulator a;
  Reading r;
  r.energy_j = 0;
  a.add(0, r);
  r.energy_j = 40;
  a.add(0.5, r);
  EXPECT_NEAR(a.last_power_w(), 80.0, 1e-12);
  EXPECT_NEAR(a.peak_power_w(), 80.0, 1e-12);
}

TEST(Accumulator, MissedSamplesAreBridged) {
  Accumulator a;  // constant 20 W with a gap at t = 1 and 2
  a.add(0, power(20));
  a.add(1, Reading{});
  a.add(2, Reading{});
  a.add(3, power(20));
  EXPECT_NEAR(a.energy_j(), 60.0, 1e-12);
  Accumulator empty;
  empty.add(0, Reading{});
  EXPECT_FALSE(empty.has_data());
}

}  // namespace
}  // namespace gt::energy
