// analyze() against SciPy/statsmodels (tests/stats/reference.py) on generated runs tables: a
// balanced 2x3x2 design, an unbalanced one, an incomplete one (a missing cell), tied values,
// zero variance, a single run in a group and 10^4 runs. Each test prints the worst relative
// error of a statistic and the worst absolute error of a p-value, then one OK line.
#include <gtest/gtest.h>

#include "reference_support.h"
#include "stats/analysis.h"

namespace gt::stats::testing {
namespace {

const char* kBaseline = "precision=fp32,batch_size=32,neurons=128";

json ours_for(const std::string& csv, const std::vector<std::string>& factors,
              const std::string& baseline, const std::vector<std::string>& equivalence = {}) {
  AnalysisOptions opt;
  opt.baseline = parse_baseline(baseline);
  if (!equivalence.empty()) {
    opt.equivalence.clear();
    for (const auto& e : equivalence) opt.equivalence.push_back(parse_equivalence(e));
  }
  return analyze(read_runs_csv(csv, factors), opt).to_json();
}

void check(const std::string& name, const Design& d, const std::string& extra_ref_args = "") {
  const std::string csv = write_csv(d, name + ".csv");
  const json ours = ours_for(csv, d.factors, kBaseline);
  const json ref = reference(csv + " --factors precision,batch_size,neurons --baseline " +
                             kBaseline + " --equivalence test_accuracy:0.005 " + extra_ref_args);
  Worst worst;
  compare(ours, ref, name, worst);
  EXPECT_FALSE(ours.dump().find("NaN") != std::string::npos);
  std::printf("%s: worst relative error %.3g (%s), worst p-value error %.3g (%s)\n", name.c_str(),
              worst.rel, worst.rel_at.c_str(), worst.p_abs, worst.p_at.c_str());
  if (!::testing::Test::HasFailure()) std::printf("%s: OK\n", name.c_str());
}

TEST(AnalysisReference, BalancedTwoByThreeByTwo) {
  Design d;
  check("balanced", d);
  const json ours = ours_for(write_csv(d, "balanced2.csv"), d.factors, kBaseline);
  EXPECT_EQ(ours["runs"]["excluded"], 2);
  EXPECT_EQ(ours["runs"]["used"], 60);
  EXPECT_EQ(ours["metrics"]["energy_j"]["factorial_anova"]["terms"].size(), 7u);
  EXPECT_EQ(ours["verdicts"].size(), 11u);
}

TEST(AnalysisReference, Unbalanced) {
  Design d;
  d.repeats = [](const std::vector<int>& c) { return 2 + (c[0] * 5 + c[1] * 3 + c[2] * 2) % 6; };
  d.seed = 7;
  check("unbalanced", d);
}

TEST(AnalysisReference, IncompleteDesignDropsInestimableInteraction) {
  Design d;
  // fp16 never ran at batch 128: precision:batch_size loses a column and is dropped.
  d.repeats = [](const std::vector<int>& c) { return c[0] == 1 && c[1] == 2 ? 0 : 4; };
  d.seed = 11;
  check("incomplete", d, "--drop precision:batch_size");
  const json ours = ours_for(write_csv(d, "incomplete.csv"), d.factors, kBaseline);
  EXPECT_EQ(ours["metrics"]["energy_j"]["factorial_anova"]["dropped"],
            json::array({"precision:batch_size"}));
}

TEST(AnalysisReference, TiesUseNormalApproximation) {
  Design d;
  d.seed = 3;
  d.values = [](const std::vector<int>& c, int, std::mt19937_64& rng) {
    auto v = default_values(c, 0, rng);
    v["energy_j"] = std::round(v["energy_j"] / 1000) * 1000;  // few distinct values
    v["test_accuracy"] = std::round(v["test_accuracy"] * 100) / 100;
    return v;
  };
  check("ties", d);
}

TEST(AnalysisReference, ZeroVarianceIsNullWithANote) {
  Design d;
  d.levels = {{"fp32", "fp16"}, {"32", "64"}, {"128"}};
  d.values = [](const std::vector<int>& c, int, std::mt19937_64& rng) {
    auto v = default_values(c, 0, rng);
    v["energy_j"] = 1000;               // identical everywhere
    v["duration_s"] = 100 + 10 * c[0];  // constant within each configuration
    v["test_accuracy"] = 0.9;
    return v;
  };
  const std::string csv = write_csv(d, "zero.csv");
  check("zero_variance", d);
  const json ours = ours_for(csv, d.factors, "precision=fp32,batch_size=32");
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

TEST(AnalysisReference, SingleRunInAGroup) {
  Design d;
  d.repeats = [](const std::vector<int>& c) { return c[0] == 1 && c[1] == 1 && c[2] == 0 ? 1 : 4; };
  d.seed = 5;
  check("single_run", d);
}

TEST(AnalysisReference, TenThousandRuns) {
  Design d;
  d.repeats = [](const std::vector<int>& c) { return 833 + (c[1] == 0 && c[2] == 0 ? 2 : 0); };
  d.seed = 99;
  check("ten_thousand", d);
}

}  // namespace
}  // namespace gt::stats::testing
