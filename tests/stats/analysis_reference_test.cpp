// analyze() against SciPy/statsmodels (tests/stats/reference.py) on generated runs tables: a
// balanced 2x3x2 design, an unbalanced one, an incomplete one (a missing cell), tied values,
// zero variance, a single run in a group and 10^4 runs. The references are computed once per
// test run by the stats_reference fixture (reference_support.h: reference_cases()); each test
// analyses the same runs table, prints the worst relative error of a statistic and the worst
// absolute error of a p-value, then one OK line.
#include <gtest/gtest.h>

#include "reference_support.h"
#include "stats/analysis.h"

namespace gt::stats::testing {
namespace {

json ours_for(const std::string& csv, const std::vector<std::string>& factors,
              const std::string& baseline) {
  AnalysisOptions opt;
  opt.baseline = parse_baseline(baseline);
  return analyze(read_runs_csv(csv, factors), opt).to_json();
}

// Our analysis of reference case `name` compared with the fixture's reference; returns ours.
json check(const std::string& name) {
  const std::vector<std::string> factors = {"precision", "batch_size", "neurons"};
  const json ours = ours_for(reference_csv(name), factors, kReferenceBaseline);
  Worst worst;
  compare(ours, reference_case(name), name, worst);
  EXPECT_FALSE(ours.dump().find("NaN") != std::string::npos);
  std::printf("%s: worst relative error %.3g (%s), worst p-value error %.3g (%s)\n", name.c_str(),
              worst.rel, worst.rel_at.c_str(), worst.p_abs, worst.p_at.c_str());
  if (!::testing::Test::HasFailure()) std::printf("%s: OK\n", name.c_str());
  return ours;
}

TEST(AnalysisReference, BalancedTwoByThreeByTwo) {
  const json ours = check("balanced");
  EXPECT_EQ(ours["runs"]["excluded"], 2);
  EXPECT_EQ(ours["runs"]["used"], 60);
  EXPECT_EQ(ours["metrics"]["energy_j"]["factorial_anova"]["terms"].size(), 7u);
  EXPECT_EQ(ours["verdicts"].size(), 11u);
}

TEST(AnalysisReference, Unbalanced) { check("unbalanced"); }

TEST(AnalysisReference, IncompleteDesignDropsInestimableInteraction) {
  // fp16 never ran at batch 128: precision:batch_size loses a column and is dropped.
  const json ours = check("incomplete");
  EXPECT_EQ(ours["metrics"]["energy_j"]["factorial_anova"]["dropped"],
            json::array({"precision:batch_size"}));
}

TEST(AnalysisReference, TiesUseNormalApproximation) { check("ties"); }

TEST(AnalysisReference, ZeroVarianceIsNullWithANote) {
  check("zero_variance");
  const json ours = ours_for(reference_csv("zero_variance"), {"precision", "batch_size", "neurons"},
                             "precision=fp32,batch_size=32");
  const auto& e = ours["metrics"]["energy_j"];
  EXPECT_TRUE(e["versus_baseline"][0]["welch_p"].is_null());
  EXPECT_TRUE(e["oneway_anova"]["f"].is_null());
  bool noted = false;
  for (const auto& n : ours["notes"])
    noted = noted || (n.get<std::string>().find("energy_j") != std::string::npos &&
                      n.get<std::string>().find("zero variance") != std::string::npos);
  EXPECT_TRUE(noted) << ours["notes"].dump();
  EXPECT_EQ(ours.dump().find("NaN"), std::string::npos);
  // Identical accuracy is equivalent within any margin, decided on the difference alone.
  for (const auto& q : ours["equivalence"]) EXPECT_TRUE(q["equivalent"].get<bool>());
}

TEST(AnalysisReference, SingleRunInAGroup) { check("single_run"); }

TEST(AnalysisReference, TenThousandRuns) { check("ten_thousand"); }

}  // namespace
}  // namespace gt::stats::testing
