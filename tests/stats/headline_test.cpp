// The analysis's plain-language answers on small hand-built runs tables: the headline when every
// configuration is accuracy-equivalent, when none is, and when a configuration never succeeded;
// the primary metric chosen from the data (train_energy_j when the runs have it); non-finite
// values left out with a note instead of hanging the rank tests; constant metrics said to have
// no variation; ratio intervals of positive quantities that never reach zero.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <limits>

#include "stats/analysis.h"
#include "stats/two_sample.h"

namespace gt::stats {
namespace {

struct Spec {
  std::string level;
  std::vector<double> energy, accuracy;
  int failed = 0;
};

RunsTable table_of(const std::vector<Spec>& specs, const std::string& energy_key = "energy_j") {
  RunsTable t;
  t.factors = {"precision"};
  t.metric_columns = {energy_key, "test_accuracy"};
  int id = 0;
  for (const auto& s : specs) {
    for (size_t i = 0; i < s.energy.size(); ++i) {
      RunRow r;
      r.run_id = std::to_string(++id);
      r.config = {s.level};
      r.block = static_cast<int>(i);
      r.metrics[energy_key] = s.energy[i];
      if (i < s.accuracy.size()) r.metrics["test_accuracy"] = s.accuracy[i];
      t.rows.push_back(r);
    }
    for (int i = 0; i < s.failed; ++i) {
      RunRow r;
      r.run_id = std::to_string(++id);
      r.config = {s.level};
      r.status = "failed";
      t.rows.push_back(r);
    }
  }
  return t;
}

AnalysisOptions baseline_fp32() {
  AnalysisOptions o;
  o.baseline = {{"precision", "fp32"}};
  return o;
}

const std::vector<double> kGoodAccuracy = {0.880, 0.881, 0.879, 0.880, 0.8805, 0.8795};

TEST(Headline, AllEquivalentNamesTheCheapest) {
  const auto a = analyze(table_of({{"fp32", {1000, 1010, 990, 1005, 995, 1000}, kGoodAccuracy},
                                   {"bf16", {800, 810, 790, 805, 795, 800}, kGoodAccuracy},
                                   {"fp16", {900, 910, 890, 905, 895, 900}, kGoodAccuracy}}),
                         baseline_fp32());
  EXPECT_EQ(a.headline.kind, Headline::Kind::winner) << a.headline.title;
  EXPECT_EQ(a.headline.best, Levels{"bf16"});
  EXPECT_NE(a.headline.title.find("bf16 is the best configuration by energy"), std::string::npos)
      << a.headline.title;
  EXPECT_NE(a.headline.title.find("20.0 % less energy than the baseline fp32"), std::string::npos)
      << a.headline.title;
  EXPECT_EQ(a.to_json()["headline"]["kind"], "winner");
}

TEST(Headline, NoneEquivalentIsInconclusiveWithSavingsAndRepeatsNeeded) {
  // bf16 uses 39 % less energy; its accuracy is as good on average but too noisy to show
  // equivalence with three runs: the headline must not crown fp32.
  const auto a = analyze(table_of({{"fp32", {1000, 1010, 990}, {0.880, 0.881, 0.879}},
                                   {"bf16", {610, 600, 620}, {0.870, 0.890, 0.880}}}),
                         baseline_fp32());
  EXPECT_EQ(a.headline.kind, Headline::Kind::inconclusive) << a.headline.title;
  EXPECT_EQ(a.headline.best, Levels{"bf16"});
  EXPECT_NE(a.headline.title.find("Inconclusive: bf16 used 39.0 % less energy"), std::string::npos)
      << a.headline.title;
  EXPECT_NE(a.headline.title.find("accuracy was not shown equivalent"), std::string::npos);
  const EquivalenceResult* e = a.equivalence_of("test_accuracy", {"bf16"});
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->equivalent);
  ASSERT_TRUE(std::isfinite(e->n_needed));
  EXPECT_GT(e->n_needed, 3);
  bool repeats = false;
  for (const auto& d : a.headline.details)
    repeats = repeats || d.find(fmt::format("about {} runs per configuration would show it",
                                            static_cast<long>(e->n_needed))) != std::string::npos;
  EXPECT_TRUE(repeats) << a.to_json()["headline"].dump();
  // Lower accuracy beyond the margin: more runs would not help, and the headline says so.
  const auto worse = analyze(table_of({{"fp32", {1000, 1010, 990}, {0.880, 0.881, 0.879}},
                                       {"bf16", {610, 600, 620}, {0.850, 0.851, 0.849}}}),
                             baseline_fp32());
  EXPECT_EQ(worse.headline.kind, Headline::Kind::inconclusive);
  EXPECT_NE(worse.to_json()["headline"].dump().find("outside the margin"), std::string::npos);
}

TEST(Headline, BaselineBestOnlyWhenNothingUsedLess) {
  const auto a = analyze(table_of({{"fp32", {800, 810, 790}, {0.880, 0.881, 0.879}},
                                   {"bf16", {1000, 1010, 990}, {0.850, 0.851, 0.849}}}),
                         baseline_fp32());
  EXPECT_EQ(a.headline.kind, Headline::Kind::baseline_best) << a.headline.title;
  EXPECT_EQ(a.headline.best, Levels{"fp32"});
}

TEST(Headline, ConfigurationWithEveryRunFailedIsNamedNeverAWinner) {
  const auto a = analyze(table_of({{"fp32", {1000, 1010, 990}, {0.880, 0.881, 0.879}},
                                   {"fp16", {900, 905, 895}, {0.880, 0.881, 0.879}, 1},
                                   {"bf16", {}, {}, 3}}),
                         baseline_fp32());
  EXPECT_NE(a.headline.best, Levels{"bf16"});
  const ConfigRuns* bf16 = a.runs_of({"bf16"});
  ASSERT_NE(bf16, nullptr);
  EXPECT_EQ(bf16->ok, 0u);
  EXPECT_EQ(bf16->failed, 3u);
  const std::string all = a.to_json()["headline"].dump();
  EXPECT_NE(all.find("bf16: 3 of 3 runs failed, no successful run, so it is not compared"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("fp16: 1 of 4 runs failed"), std::string::npos) << all;
  bool verdict = false;
  for (const auto& v : a.verdicts) verdict = verdict || v.config == Levels{"bf16"};
  EXPECT_TRUE(verdict);
  EXPECT_EQ(a.to_json()["configurations"].size(), 3u);
}

TEST(Analysis, PrimaryMetricComesFromTheData) {
  const auto phases =
      table_of({{"fp32", {1000, 1010, 990}, {}}, {"bf16", {800, 810, 790}, {}}}, "train_energy_j");
  EXPECT_EQ(primary_metric(phases), "train_energy_j");
  const auto a = analyze(phases, baseline_fp32());
  EXPECT_EQ(a.primary_metric, "train_energy_j");
  ASSERT_FALSE(a.metrics.empty());
  EXPECT_EQ(a.metrics.front().metric, "train_energy_j");
  EXPECT_EQ(a.headline.metric, "train_energy_j");
  EXPECT_NE(a.headline.title.find("training energy"), std::string::npos) << a.headline.title;
  const auto plain = table_of({{"fp32", {1000, 1010, 990}, {}}, {"bf16", {800, 810, 790}, {}}});
  EXPECT_EQ(primary_metric(plain), "energy_j");
  const auto order = default_metrics(plain);
  EXPECT_EQ(std::vector<std::string>(order.begin(), order.begin() + 4),
            (std::vector<std::string>{"energy_j", "duration_s", "test_accuracy", "avg_power_w"}));
}

TEST(Analysis, NonFiniteValuesAreLeftOutWithANote) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto t = table_of({{"fp32", {1000, nan, 990, 1000}, {}}, {"bf16", {800, 810, 790}, {}}});
  t.rows[3].metrics["energy_j"] = std::numeric_limits<double>::infinity();
  // Once this hung forever (NaN in the Mann-Whitney tie loop): give it a deadline.
  auto done = std::async(std::launch::async, [&] { return analyze(t, baseline_fp32()); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const Analysis a = done.get();
  EXPECT_EQ(a.metric("energy_j")->cell({"fp32"})->n, 2u);
  bool noted = false;
  for (const auto& n : a.notes)
    noted = noted || n.find("energy_j: 2 non-finite values left out (run 2 (nan), 4 (inf))") !=
                         std::string::npos;
  EXPECT_TRUE(noted) << a.to_json()["notes"].dump();
  EXPECT_EQ(a.to_json().dump().find("NaN"), std::string::npos);
  const std::vector<double> with_nan{1, nan, 3}, other{2, 4};
  const MannWhitney mw = mann_whitney(with_nan, other);
  EXPECT_TRUE(std::isnan(mw.p));
}

TEST(Analysis, ConstantMetricSaysNoVariation) {
  auto t = table_of(
      {{"fp32", {1000, 1010, 990}, {0.9, 0.9, 0.9}}, {"bf16", {800, 810, 790}, {0.9, 0.9, 0.9}}});
  AnalysisOptions o = baseline_fp32();
  o.equivalence.clear();
  const auto a = analyze(t, o);
  ASSERT_NE(a.metric("test_accuracy"), nullptr);
  EXPECT_TRUE(a.metric("test_accuracy")->constant);
  EXPECT_FALSE(a.metric("energy_j")->constant);
  bool said = false;
  for (const auto& v : a.verdicts)
    for (const auto& l : v.lines) said = said || l == "accuracy: no variation (0.9 in every run)";
  EXPECT_TRUE(said) << a.to_json()["verdict_lines"].dump();
  const std::string text = render_text(a);
  EXPECT_NE(text.find("No variation: every run has 0.9"), std::string::npos) << text;
}

TEST(Analysis, RatioIntervalOfAPositiveQuantityNeverReachesZero) {
  // Huge spread with three runs: the absolute interval runs far below -100 %.
  const auto a = analyze(table_of({{"fp32", {100, 300, 50}, {}}, {"bf16", {20, 400, 10}, {}}}),
                         baseline_fp32());
  const Comparison* c = a.metric("energy_j")->versus({"bf16"});
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(a.metric("energy_j")->positive);
  EXPECT_LT(c->diff_ci_low / 150.0, -1.0);
  EXPECT_GT(c->ratio_ci_low, 0.0);
  EXPECT_GT(c->ratio_ci_high, c->ratio_ci_low);
  // Accuracy is not a positive quantity in this sense: differences, not ratios.
  const auto b = analyze(
      table_of({{"fp32", {1, 2, 3}, {0.8, 0.81, 0.82}}, {"bf16", {1, 2, 3}, {0.7, 0.71, 0.72}}}),
      baseline_fp32());
  EXPECT_FALSE(b.metric("test_accuracy")->positive);
  EXPECT_TRUE(b.to_json()["metrics"]["test_accuracy"]["versus_baseline"][0]["ratio"].is_null());
}

TEST(Render, DefaultAnswersFirstAndFullAddsEveryTest) {
  const auto a = analyze(table_of({{"fp32", {1000, 1010, 990}, {0.880, 0.881, 0.879}},
                                   {"bf16", {800, 810, 790}, {0.880, 0.881, 0.879}}}),
                         baseline_fp32());
  const std::string brief = render_text(a), full = render_text(a, {true});
  EXPECT_LT(brief.find("Headline"), brief.find("Metric energy_j"));
  EXPECT_LT(brief.find("Metric energy_j"), brief.find("Metric test_accuracy"));
  EXPECT_EQ(brief.find("Tukey"), std::string::npos);
  EXPECT_EQ(brief.find("Factorial ANOVA"), std::string::npos);
  EXPECT_NE(brief.find("ratio of means on the log scale"), std::string::npos);
  EXPECT_NE(full.find("Factorial ANOVA"), std::string::npos);
  EXPECT_NE(full.find("Brown-Forsythe"), std::string::npos);
  EXPECT_NE(full.find("Tukey HSD"), std::string::npos);
  // One verdict per line under its comparison.
  EXPECT_NE(brief.find("  bf16 vs fp32:\n    bf16 used 20.0 % less energy than fp32"),
            std::string::npos)
      << brief;
}

TEST(Render, MarkdownEscapesNamesAndLevels) {
  auto t = table_of({{"fp32", {1000, 1010, 990}, {0.880, 0.881, 0.879}},
                     {"<img src=x onerror=alert(1)>", {800, 810, 790}, {0.880, 0.881, 0.879}}});
  t.factors = {"<script>alert(1)</script>"};
  AnalysisOptions o;
  o.baseline = {{"<script>alert(1)</script>", "fp32"}};
  const std::string md = render_markdown(analyze(t, o), {true});
  EXPECT_EQ(md.find("<img"), std::string::npos) << md;
  EXPECT_EQ(md.find("<script"), std::string::npos) << md;
  EXPECT_NE(md.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << md;
  EXPECT_EQ(markdown_escape("a|b\n[x](javascript:y) *z* `c`"),
            "a\\|b \\[x\\](javascript:y) \\*z\\* \\`c\\`");
}

}  // namespace
}  // namespace gt::stats
