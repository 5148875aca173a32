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
#include <map>
#include <random>

#include "common/error.h"
#include "stats/analysis.h"
#include "stats/descriptive.h"
#include "stats/two_sample.h"

namespace gt::stats {
namespace {

using json = nlohmann::json;

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
      r.status = gt::RunStatus::failed;
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
  EXPECT_NE(a.headline.cheapest.find("bf16 is the best configuration by energy"), std::string::npos)
      << a.headline.cheapest;
  EXPECT_NE(a.headline.cheapest.find("20.0 % less energy than the baseline fp32"),
            std::string::npos)
      << a.headline.cheapest;
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
  EXPECT_NE(a.headline.cheapest.find("Inconclusive: bf16 used 39.0 % less energy"),
            std::string::npos)
      << a.headline.cheapest;
  EXPECT_NE(a.headline.cheapest.find("accuracy was not shown equivalent"), std::string::npos);
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

// A two-factor table: precision x batch_size, with energy, accuracy and any extra columns.
RunsTable two_factor_table(int repeats, const std::map<std::string, double>& energy_of,
                           double spread, std::uint64_t seed = 1) {
  RunsTable t;
  t.factors = {"precision", "batch_size"};
  t.metric_columns = {"energy_j", "test_accuracy"};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0, 1);
  int id = 0;
  for (const char* p : {"fp32", "bf16"})
    for (const char* b : {"256", "512"})
      for (int k = 1; k <= repeats; ++k) {
        RunRow r;
        r.run_id = std::to_string(++id);
        r.config = {p, b};
        r.block = k;
        r.metrics["energy_j"] = energy_of.at(std::string(p) + "/" + b) * (1 + spread * z(rng));
        r.metrics["test_accuracy"] = 0.88 + 0.0005 * z(rng);
        t.rows.push_back(r);
      }
  return t;
}

AnalysisOptions bench_fp32_256() {
  AnalysisOptions o;
  o.baseline = {{"precision", "fp32"}, {"batch_size", "256"}};
  return o;
}

TEST(Headline, AnswersThePlansQuestionFactorByFactorPrecisionFirst) {
  // bf16 saves 20 %, batch 512 saves 5 %, both with accuracy kept.
  const auto t = two_factor_table(
      6, {{"fp32/256", 1000}, {"fp32/512", 950}, {"bf16/256", 800}, {"bf16/512", 760}}, 0.005);
  const auto a = analyze(t, bench_fp32_256());
  ASSERT_EQ(a.headline.effects.size(), 2u) << a.to_json()["headline"].dump(2);
  const FactorEffect& precision = a.headline.effects[0];
  EXPECT_EQ(precision.factor, "precision");
  EXPECT_EQ(precision.level, "bf16");
  EXPECT_EQ(precision.config, (Levels{"bf16", "256"}));
  EXPECT_EQ(precision.verdict, "saves_accuracy_kept");
  EXPECT_EQ(precision.accuracy_kept, std::optional<bool>(true));
  EXPECT_EQ(a.headline.effects[1].factor, "batch_size");
  EXPECT_EQ(a.headline.effects[1].level, "512");
  // The title answers "fp32 or bf16?", not "which configuration was cheapest".
  EXPECT_EQ(a.headline.title.rfind("bf16 versus fp32: 20.", 0), 0u) << a.headline.title;
  EXPECT_NE(a.headline.title.find("accuracy"), std::string::npos) << a.headline.title;
  EXPECT_NE(a.headline.title.find("a real saving, with accuracy kept"), std::string::npos);
  ASSERT_GE(a.headline.details.size(), 2u);
  EXPECT_EQ(a.headline.details[0].rfind("batch 512 versus batch 256: ", 0), 0u)
      << a.headline.details[0];
  EXPECT_EQ(a.headline.details[1].rfind("Cheapest that kept accuracy: bf16 \u00b7 batch 512", 0),
            0u)
      << a.headline.details[1];
  // One label scheme: the JSON carries the readable label beside the factor values.
  const auto j = a.to_json();
  EXPECT_EQ(j["headline"]["effects"][0]["label"], "bf16 \u00b7 batch 256");
  EXPECT_EQ(j["headline"]["effects"][0]["config"],
            json({{"precision", "bf16"}, {"batch_size", "256"}}));
  EXPECT_EQ(j["headline"]["best_label"], "bf16 \u00b7 batch 512");
  for (const auto& cell : j["metrics"]["energy_j"]["cells"])
    if (cell["config"] == json({{"precision", "fp32"}, {"batch_size", "256"}})) {
      EXPECT_EQ(cell["label"], "fp32 \u00b7 batch 256");
    }
  EXPECT_EQ(a.comparison_label({"bf16", "512"}), "bf16 \u00b7 batch 512 vs fp32 \u00b7 batch 256");
  EXPECT_EQ(a.comparison_label({"bf16", "256"}), "bf16 vs fp32 (batch 256)");
  const std::string text = render_text(a);
  EXPECT_EQ(text.find("fp32/256"), std::string::npos) << text;
  EXPECT_EQ(text.find("precision=bf16"), std::string::npos) << text;
}

TEST(Headline, NoDifferenceShownSaysSoWithTheRunsItWouldTake) {
  const auto t = two_factor_table(
      3, {{"fp32/256", 1000}, {"fp32/512", 990}, {"bf16/256", 970}, {"bf16/512", 960}}, 0.03, 5);
  const auto a = analyze(t, bench_fp32_256());
  ASSERT_FALSE(a.headline.effects.empty());
  const FactorEffect& e = a.headline.effects[0];
  ASSERT_TRUE(e.versus);
  EXPECT_GE(e.versus->ratio_p_holm, 0.05);
  EXPECT_EQ(e.verdict, "no_difference_shown");
  // Advice from the verdict's own test and correction, in whole runs, more than it has now.
  ASSERT_TRUE(std::isfinite(e.versus->runs_needed));
  EXPECT_GT(e.versus->runs_needed, 3);
  EXPECT_EQ(e.versus->runs_needed, std::floor(e.versus->runs_needed));
  EXPECT_NE(e.sentence.find(fmt::format("about {} runs per configuration would show one",
                                        static_cast<long>(e.versus->runs_needed))),
            std::string::npos)
      << e.sentence;
  for (const auto& c : a.metric("energy_j")->versus_baseline)
    if (c.ratio_p_holm < 0.05) {
      EXPECT_TRUE(std::isnan(c.runs_needed));
    }
}

TEST(Analysis, PrimaryMetricIsChosenInOnePlaceAndAnyMetricCanBeHeadlined) {
  // A script that marks only `epoch` windows: epoch_energy_j, no train_energy_j.
  auto t = table_of(
      {{"fp32", {1000, 1010, 990}, kGoodAccuracy}, {"bf16", {800, 810, 790}, kGoodAccuracy}});
  t.metric_columns.push_back("epoch_energy_j");
  for (auto& r : t.rows) r.metrics["epoch_energy_j"] = 0.9 * r.metrics["energy_j"];
  const auto a = analyze(t, baseline_fp32());
  EXPECT_EQ(a.primary_metric, "energy_j");
  EXPECT_NE(a.metric("epoch_energy_j"), nullptr);  // every phase energy is analysed
  EXPECT_NE(a.headline.kind, Headline::Kind::unavailable) << a.headline.title;
  AnalysisOptions only = baseline_fp32();
  only.metrics = {"epoch_energy_j"};
  only.explicit_metrics = true;
  const auto b = analyze(t, only);
  EXPECT_EQ(b.primary_metric, "epoch_energy_j");
  EXPECT_EQ(b.headline.metric, "epoch_energy_j");
  EXPECT_NE(b.headline.kind, Headline::Kind::unavailable) << b.headline.title;
  AnalysisOptions named = baseline_fp32();
  named.primary_metric = "epoch_energy_j";
  EXPECT_EQ(analyze(t, named).metrics.front().metric, "epoch_energy_j");
  named.primary_metric = "no_such_metric_j";
  EXPECT_THROW(analyze(t, named), gt::Error);
}

TEST(Analysis, IntervalOfAPositiveQuantityNeverCrossesZero) {
  // Three durations with a large spread: the t interval of the mean would run below zero.
  const auto a =
      analyze(table_of({{"fp32", {0.2, 8.0, 16.0}, {}}, {"bf16", {7, 8, 9}, {}}}, "duration_s"),
              baseline_fp32());
  const CellStats* c = a.metric("duration_s")->cell({"fp32"});
  ASSERT_NE(c, nullptr);
  EXPECT_LT(describe(std::vector<double>{0.2, 8.0, 16.0}).ci95_low, 0);
  EXPECT_GT(c->ci95_low, 0);
  EXPECT_GT(c->ci95_high, c->mean);
  EXPECT_TRUE(c->cox_interval);
  EXPECT_EQ(a.to_json()["metrics"]["duration_s"]["cells"][0]["ci95_method"], "cox-lognormal");
}

TEST(Analysis, UnequalRepeatsAreNamedNeverSilent) {
  const auto a = analyze(table_of({{"fp32", {1000, 1010, 990, 1000, 1005, 995, 1002, 998}, {}},
                                   {"bf16", {800, 810, 790}, {}}}),
                         baseline_fp32());
  EXPECT_EQ(a.min_runs, 3u);
  EXPECT_EQ(a.max_runs, 8u);
  EXPECT_EQ(a.to_json()["balance"]["balanced"], false);
  bool noted = false;
  for (const auto& n : a.notes)
    noted = noted || n.find(
                         "unbalanced: configurations have 3 to 8 successful runs; fewer "
                         "than 8: bf16 (3)") != std::string::npos;
  EXPECT_TRUE(noted) << a.to_json()["notes"].dump();
}

TEST(Analysis, ContendedRunsAndABusyIdleBaselineAreMarked) {
  auto t = table_of({{"fp32", {1000, 1010, 990}, {}}, {"bf16", {800, 810, 790}, {}}});
  t.metric_columns.push_back("outside_cpu_share");
  t.metric_columns.push_back("idle_cpu_busy_share");
  for (auto& r : t.rows) {
    r.metrics["outside_cpu_share"] = 0.02;
    r.metrics["idle_cpu_busy_share"] = 0.05;
  }
  auto a = analyze(t, baseline_fp32());
  EXPECT_TRUE(a.contended.empty());
  EXPECT_TRUE(a.idle_baseline_valid());
  t.rows[4].metrics["outside_cpu_share"] = 0.45;  // a CPU hog beside run 5
  t.rows[0].metrics["idle_cpu_busy_share"] = 0.6;
  a = analyze(t, baseline_fp32());
  ASSERT_EQ(a.contended.size(), 1u);
  EXPECT_EQ(a.contended[0].run_id, "5");
  EXPECT_FALSE(a.idle_baseline_valid());
  const auto j = a.to_json();
  EXPECT_EQ(j["contended_runs"][0]["run_id"], "5");
  EXPECT_EQ(j["contended_runs"][0]["label"], "bf16");
  EXPECT_EQ(j["idle_baseline"]["valid"], false);
  const std::string notes = j["notes"].dump();
  EXPECT_NE(notes.find("contended: 1 run had more than 20 % of the machine's CPU busy outside "
                       "the run"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("run 5 (bf16, 45 %)"), std::string::npos) << notes;
  EXPECT_NE(notes.find("the idle baseline was measured while the machine was 60 % busy"),
            std::string::npos)
      << notes;
}

}  // namespace
}  // namespace gt::stats
