// log_ratio_interval against SciPy/statsmodels (tests/stats/ratio_reference.py: Welch interval
// on log values) over generated positive samples of several sizes, spreads and alphas; the
// undefined cases; the projected sample size against intervals of samples of that size.
// Prints the worst relative error, then one OK line.
#include "stats/ratio.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace gt::stats {
namespace {

using json = nlohmann::json;

json scipy_ratio(const std::vector<double>& x, const std::vector<double>& y, double alpha) {
  gt::testing::TempDir dir("ratio-test");
  gt::testing::write_file(dir / "input.json", json{{"x", x}, {"y", y}, {"alpha", alpha}}.dump());
  const auto r = gt::testing::run_shell(
      "/usr/bin/python3 " +
      (gt::testing::source_dir() / "tests/stats/ratio_reference.py").string() + " < " +
      (dir / "input.json"));
  EXPECT_EQ(r.code, 0) << r.err;
  return json::parse(r.out);
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

TEST(LogRatioInterval, MatchesSciPyWelchOnLogs) {
  std::mt19937_64 rng(42);
  struct Case {
    int nx, ny;
    double mx, my, sx, sy, alpha;
  };
  const std::vector<Case> cases = {
      {3, 3, 700, 650, 20, 25, 0.05},    {12, 12, 665, 410, 5, 40, 0.05},
      {5, 9, 1.0, 1.3, 0.2, 0.01, 0.05}, {40, 7, 1e6, 1e6, 1e4, 3e4, 0.1},
      {2, 2, 10, 20, 1, 1, 0.01},        {20, 20, 100, 100, 0.5, 0.5, 0.05},
  };
  double worst = 0;
  for (const Case& c : cases) {
    std::normal_distribution<double> nx(c.mx, c.sx), ny(c.my, c.sy);
    std::vector<double> x, y;
    for (int i = 0; i < c.nx; ++i) x.push_back(std::abs(nx(rng)));
    for (int i = 0; i < c.ny; ++i) y.push_back(std::abs(ny(rng)));
    const RatioInterval ours = log_ratio_interval(x, y, c.alpha);
    const json ref = scipy_ratio(x, y, c.alpha);
    ASSERT_TRUE(ours.undefined_reason.empty()) << ours.undefined_reason;
    for (auto [name, a, b] : {std::tuple{"pct", ours.pct, ref["pct"].get<double>()},
                              {"pct_low", ours.pct_low, ref["pct_low"].get<double>()},
                              {"pct_high", ours.pct_high, ref["pct_high"].get<double>()},
                              {"df", ours.df, ref["df"].get<double>()}}) {
      EXPECT_LT(rel(a, b), 1e-9) << name << " n=" << c.nx << "," << c.ny << ": " << a << " vs "
                                 << b;
      worst = std::max(worst, rel(a, b));
    }
    EXPECT_LE(ours.pct_low, ours.pct);
    EXPECT_GE(ours.pct_high, ours.pct);
    EXPECT_GT(ours.pct_low, -100.0);  // never below zero of the benchmark quantity
    EXPECT_DOUBLE_EQ(ours.halfwidth_pct,
                     std::max(ours.pct_high - ours.pct, ours.pct - ours.pct_low));
    EXPECT_NEAR(ours.ratio, 1 + ours.pct / 100, 1e-12);
  }
  std::printf("log-ratio interval: worst relative error %.3g\n", worst);
  if (!::testing::Test::HasFailure()) std::printf("log-ratio interval: OK\n");
}

TEST(LogRatioInterval, SmallerAlphaWidensTheInterval) {
  const std::vector<double> x = {10, 11, 12, 10.5}, y = {9, 9.5, 9.2, 9.9};
  const RatioInterval a95 = log_ratio_interval(x, y, 0.05), a99 = log_ratio_interval(x, y, 0.01);
  EXPECT_LT(a99.pct_low, a95.pct_low);
  EXPECT_GT(a99.pct_high, a95.pct_high);
  EXPECT_DOUBLE_EQ(a95.pct, a99.pct);
}

TEST(LogRatioInterval, UndefinedCasesSayWhy) {
  const std::vector<double> ok = {1, 2, 3};
  const RatioInterval neg = log_ratio_interval(std::vector<double>{1, -2, 3}, ok);
  EXPECT_TRUE(std::isnan(neg.pct_low));
  EXPECT_EQ(neg.undefined_reason, "a value is not positive");
  const RatioInterval zero = log_ratio_interval(ok, std::vector<double>{0, 1, 2});
  EXPECT_EQ(zero.undefined_reason, "a value is not positive");
  const RatioInterval one = log_ratio_interval(std::vector<double>{4}, ok);
  EXPECT_TRUE(std::isnan(one.pct_high));
  EXPECT_FALSE(one.undefined_reason.empty());
  EXPECT_NEAR(one.pct, (4.0 / std::cbrt(6.0) - 1) * 100, 1e-9);  // geometric mean of 1,2,3
}

TEST(LogRatioInterval, ConstantSamplesGiveAnExactRatio) {
  const RatioInterval r =
      log_ratio_interval(std::vector<double>{6, 6, 6}, std::vector<double>{4, 4});
  EXPECT_TRUE(r.undefined_reason.empty());
  EXPECT_NEAR(r.pct, 50, 1e-12);
  EXPECT_EQ(r.pct_low, r.pct);
  EXPECT_EQ(r.pct_high, r.pct);
  EXPECT_EQ(r.halfwidth_pct, 0);
}

// m values whose logs have exactly this mean and sample standard deviation.
std::vector<double> with_log_moments(int m, double mean_log, double sd_log) {
  std::vector<double> z(m);
  for (int i = 0; i < m; ++i) z[i] = std::sin(1.0 + 2.3 * i);  // any spread-out pattern
  double mu = 0, ss = 0;
  for (double v : z) mu += v / m;
  for (double v : z) ss += (v - mu) * (v - mu);
  const double sd = std::sqrt(ss / (m - 1));
  std::vector<double> x;
  for (double v : z) x.push_back(std::exp(mean_log + sd_log * (v - mu) / sd));
  return x;
}

TEST(LogRatioInterval, ProjectedSampleSizeIsTheFirstThatMeetsTheTarget) {
  for (double target : {1.0, 2.0, 5.0}) {
    const int n = 3;
    const auto x = with_log_moments(n, std::log(80.0), 0.04);
    const auto y = with_log_moments(n, std::log(100.0), 0.03);
    const RatioInterval now = log_ratio_interval(x, y);
    const int m = projected_sample_size(now, n, target, 100000);
    ASSERT_GT(m, n) << now.halfwidth_pct;
    // Samples of m (and m - 1) values with the same log moments: the first meets the target.
    const auto at_m = log_ratio_interval(with_log_moments(m, std::log(80.0), 0.04),
                                         with_log_moments(m, std::log(100.0), 0.03));
    const auto before = log_ratio_interval(with_log_moments(m - 1, std::log(80.0), 0.04),
                                           with_log_moments(m - 1, std::log(100.0), 0.03));
    EXPECT_LE(at_m.halfwidth_pct, target) << "m = " << m;
    EXPECT_GT(before.halfwidth_pct, target) << "m = " << m;
  }
  const RatioInterval met =
      log_ratio_interval(std::vector<double>{10, 10.1, 9.9}, std::vector<double>{10, 10.1, 9.9});
  EXPECT_EQ(projected_sample_size(met, 3, 50, 1000), 3);
  EXPECT_EQ(projected_sample_size(
                log_ratio_interval(std::vector<double>{1}, std::vector<double>{2}), 1, 2, 1000),
            0);
}

}  // namespace
}  // namespace gt::stats
