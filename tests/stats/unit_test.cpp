// Unit tests of the statistics building blocks against SciPy/statsmodels (through
// tests/stats/reference.py or short inline scripts) and of the option parsers.
#include <gtest/gtest.h>

#include "common/error.h"
#include "reference_support.h"
#include "stats/analysis.h"
#include "stats/descriptive.h"
#include "stats/power.h"
#include "stats/two_sample.h"

namespace gt::stats::testing {
namespace {

json python(const std::string& code) {
  int rc = 0;
  const auto path = temp_file("snippet.py");
  std::ofstream(path) << code;
  std::string out = capture("/usr/bin/python3 " + path.string(), &rc);
  EXPECT_EQ(rc, 0) << code;
  return json::parse(out);
}

TEST(Power, RunsPerGroupMatchesStatsmodels) {
  for (const auto& [name, q] : reference_sample_sizes()) {
    const auto [cv, effect, power, alpha] = q;
    const json ref = reference_sample_size(name);
    auto n = runs_per_group_for_power(effect / 100 / cv, power, alpha);
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, ref["runs_per_group"].get<long>()) << name;
  }
  EXPECT_FALSE(runs_per_group_for_power(0, 0.8, 0.05).has_value());
}

TEST(TwoSample, MannWhitneyExactAndApproximateMatchScipy) {
  const std::vector<double> x = {1.1, 2.5, 3.7, 4.2, 9.9, 0.3}, y = {5.5, 6.1, 7.2, 8.8, 0.7};
  const std::vector<double> xt = {1, 2, 2, 3, 4, 4, 4}, yt = {2, 3, 5, 5, 6, 4};
  const json ref = python(R"(
import json
from scipy import stats
a = stats.mannwhitneyu([1.1,2.5,3.7,4.2,9.9,0.3],[5.5,6.1,7.2,8.8,0.7],alternative='two-sided',method='exact')
b = stats.mannwhitneyu([1,2,2,3,4,4,4],[2,3,5,5,6,4],alternative='two-sided',method='asymptotic',use_continuity=True)
print(json.dumps({"u1":a.statistic,"p1":a.pvalue,"u2":b.statistic,"p2":b.pvalue}))
)");
  auto a = mann_whitney(x, y), b = mann_whitney(xt, yt);
  EXPECT_TRUE(a.exact);
  EXPECT_FALSE(b.exact);
  EXPECT_DOUBLE_EQ(a.u, ref["u1"].get<double>());
  EXPECT_NEAR(a.p, ref["p1"].get<double>(), 1e-12);
  EXPECT_DOUBLE_EQ(b.u, ref["u2"].get<double>());
  EXPECT_NEAR(b.p, ref["p2"].get<double>(), 1e-12);
}

TEST(TwoSample, HolmMatchesStatsmodelsAndKeepsNaN) {
  const std::vector<double> p = {0.01, 0.04, NAN, 0.03, 0.2};
  const json ref = python(R"(
import json
from statsmodels.stats.multitest import multipletests
print(json.dumps(list(multipletests([0.01,0.04,0.03,0.2], method='holm')[1])))
)");
  auto h = holm(p);
  EXPECT_NEAR(h[0], ref[0].get<double>(), 1e-15);
  EXPECT_NEAR(h[1], ref[1].get<double>(), 1e-15);
  EXPECT_TRUE(std::isnan(h[2]));
  EXPECT_NEAR(h[3], ref[2].get<double>(), 1e-15);
  EXPECT_NEAR(h[4], ref[3].get<double>(), 1e-15);
}

TEST(Descriptive, TwoPassCompensatedOnLargeNearlyEqualValues) {
  // 1e8 +/- 0.5 + 0.25: every value exact in double; a one-pass sum of squares loses it all.
  std::vector<double> x;
  for (int i = 0; i < 100001; ++i) x.push_back(1e8 + (i % 2 ? 0.5 : -0.5) + 0.25);
  const double n = x.size();
  const double exact_mean = 1e8 + 0.25 - 0.5 / n;  // one more -0.5 than +0.5
  EXPECT_NEAR(mean(x), exact_mean, 2e-8);
  // sum (x - m)^2 = n/4 - 1/(4n) over n - 1
  EXPECT_NEAR(variance(x), (n / 4 - 1 / (4 * n)) / (n - 1), 1e-12);
  const Description d = describe(x);
  EXPECT_EQ(d.n, x.size());
  EXPECT_DOUBLE_EQ(d.min, 1e8 - 0.25);
  EXPECT_DOUBLE_EQ(d.max, 1e8 + 0.75);
}

TEST(Parsers, BaselineAndEquivalence) {
  auto b = parse_baseline("precision=fp32,batch_size=32,neurons=512,256");
  EXPECT_EQ(b.at("precision"), "fp32");
  EXPECT_EQ(b.at("batch_size"), "32");
  EXPECT_EQ(b.at("neurons"), "512,256");
  EXPECT_EQ(parse_baseline("neurons=\"512,256\",precision=fp16").at("neurons"), "512,256");
  EXPECT_THROW(parse_baseline("precision"), gt::UsageError);
  EXPECT_THROW(parse_baseline("a=1,a=2"), gt::UsageError);
  auto e = parse_equivalence("test_accuracy:0.005");
  EXPECT_EQ(e.metric, "test_accuracy");
  EXPECT_DOUBLE_EQ(e.margin, 0.005);
  EXPECT_THROW(parse_equivalence("test_accuracy"), gt::UsageError);
  EXPECT_THROW(parse_equivalence("test_accuracy:-1"), gt::UsageError);
}

}  // namespace
}  // namespace gt::stats::testing
