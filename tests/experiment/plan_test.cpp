// Plan-file validation: one test per rule, each checking that the error names the file and the
// line at fault and says what was expected; plus the examples parse, the plan hash covers only
// what gives finished runs their meaning and a real difference names its key; the stop rule.
#include "experiment/plan.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/locations.h"
#include "common/temp_dir.h"

namespace gt::experiment {
namespace {

const std::string kHead = R"(name = "t"
[workload]
kind = "command"
command = "train --p {precision} --b {batch_size} --seed {seed}"
)";

const std::string kFactors = R"([factors]
precision = ["fp32", "fp16"]
batch_size = [32, 64]
)";

// Expects parse_plan(text) to throw an error starting with "t.toml:<line>:" and containing `what`.
void expect_error(const std::string& text, int line, const std::string& what) {
  try {
    parse_plan(text, "t.toml");
    ADD_FAILURE() << "no error; expected line " << line << ": " << what;
  } catch (const gt::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(fmt::format("t.toml:{}:", line), 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

TEST(Plan, ParsesAValidPlanWithDefaults) {
  auto p = parse_plan(kHead + kFactors, "t.toml");
  EXPECT_EQ(p.name, "t");
  ASSERT_EQ(p.factors.size(), 2u);
  EXPECT_EQ(p.factors[1].levels, (std::vector<std::string>{"32", "64"}));
  EXPECT_EQ(p.benchmark[0].second, "fp32");  // default benchmark: first levels
  EXPECT_EQ(p.design.repeats, 3);
  EXPECT_EQ(p.design.order, "randomized-blocks");
  EXPECT_TRUE(p.store_samples);
}

TEST(Plan, ExamplesParse) {
  const std::string src = testing::source_dir().string();
  auto paper = load_plan(src + "/examples/paper.toml");
  EXPECT_EQ(paper.design.repeats, 10);
  EXPECT_EQ(paper.factor("neurons")->levels, (std::vector<std::string>{"128", "512"}));
  EXPECT_EQ(paper.factor("precision")->levels.size(), 3u);
  auto quick = load_plan(src + "/examples/quick.toml");
  EXPECT_EQ(quick.workload.kind, "builtin");
}

TEST(Plan, ExampleCnnPlanParses) {
  auto cnn = load_plan(testing::source_dir().string() + "/examples/cnn.toml");
  EXPECT_EQ(cnn.workload.model, "cnn");
  EXPECT_EQ(cnn.factor("filters")->levels, (std::vector<std::string>{"32,64,128", "64,128,256"}));
}

TEST(Plan, CnnFactorsUseTheTrainersModelGrammar) {
  const std::string head = "name = \"t\"\n[workload]\nkind = \"builtin\"\nmodel = \"cnn\"\n";
  EXPECT_NO_THROW(parse_plan(head + "[factors]\nfilters = [[32, 64], \"16,32,64\"]\n"
                                    "neurons = [64]\nimage_size = [32]\n",
                             "t.toml"));
  expect_error(head + "[factors]\nfilters = [\"32,,64\"]\n", 6,
               "factors.filters: level '32,,64' is not valid for the builtin workload; expected "
               "convolution filters");
  expect_error(head + "[factors]\nneurons = [64]\n", 4,
               "workload.model = \"cnn\": expected \"cnn:F1,F2,…[/H]\"");
  expect_error(
      "name = \"t\"\n[workload]\nkind = \"builtin\"\nmodel = \"mlp\"\n[factors]\n"
      "neurons = [64]\nfilters = [\"8\"]\n",
      4, "expected a cnn model with a filters factor");
  expect_error(head + "[factors]\nfilters = [\"8\"]\nimage_size = [0]\n", 7,
               "factors.image_size: level '0'");
  // A whole model text; the neurons factor varies its head.
  EXPECT_NO_THROW(
      parse_plan("name = \"t\"\n[workload]\nkind = \"builtin\"\nmodel = "
                 "\"cnn:32,64/16\"\n[factors]\nneurons = [64, 128]\n",
                 "t.toml"));
}

TEST(Plan, SyntaxErrorGivesLineAndColumn) {
  expect_error(kHead + "[factors\n", 5, "TOML syntax error");
}

TEST(Plan, UnknownTopLevelKey) {
  expect_error("colour = 1\n" + kHead + kFactors, 1, "unknown key 'colour' in the plan");
}

TEST(Plan, UnknownKeyInSection) {
  expect_error(kHead + kFactors + "[design]\nrepeats = 3\nrepeat = 4\n", 10,
               "unknown key 'repeat' in [design]; expected one of: type, repeats");
}

TEST(Plan, WrongType) {
  expect_error(kHead + kFactors + "[design]\nrepeats = \"ten\"\n", 9,
               "design.repeats must be an integer");
}

TEST(Plan, EmptyFactorList) {
  expect_error(kHead + "[factors]\nprecision = []\n", 6, "factors.precision is an empty list");
}

TEST(Plan, NoFactorsAtAll) { expect_error(kHead + "[factors]\n", 5, "[factors] is empty"); }

TEST(Plan, DuplicateLevel) {
  expect_error(kHead + "[factors]\nbatch_size = [32, 64, 32]\n", 6, "level '32' is listed twice");
}

TEST(Plan, BenchmarkValueNotALevel) {
  expect_error(kHead + kFactors + "[benchmark]\nprecision = \"fp32\"\nbatch_size = 128\n", 10,
               "benchmark.batch_size = 128 is not a level of factors.batch_size; expected one "
               "of: 32, 64");
}

TEST(Plan, BenchmarkNamesUnknownFactor) {
  expect_error(kHead + kFactors + "[benchmark]\nneurons = 128\n", 9,
               "benchmark.neurons: not a factor");
}

TEST(Plan, RepeatsBelowTwo) {
  expect_error(kHead + kFactors + "[design]\nrepeats = 1\n", 9,
               "design.repeats = 1: expected an integer in 2 .. 100000 (statistics need at "
               "least two repeats");
}

TEST(Plan, UnknownOrder) {
  expect_error(kHead + kFactors + "[design]\norder = \"random\"\n", 9,
               "expected \"randomized-blocks\" or \"sequential\"");
}

TEST(Plan, UnknownDesignType) {
  expect_error(kHead + kFactors + "[design]\ntype = \"latin\"\n", 9, "design.type");
}

TEST(Plan, UnknownWorkloadKind) {
  expect_error("name = \"t\"\n[workload]\nkind = \"docker\"\n" + kFactors, 3,
               "expected \"builtin\" or \"command\"");
}

TEST(Plan, CommandWorkloadNeedsCommand) {
  expect_error("name = \"t\"\n[workload]\nkind = \"command\"\n" + kFactors, 2, "needs command = ");
}

TEST(Plan, CommandTemplateUnknownPlaceholder) {
  expect_error(
      "name = \"t\"\n[workload]\nkind = \"command\"\ncommand = \"run {neurons}\"\n" + kFactors, 4,
      "unknown placeholder {neurons}; expected one of: {precision}, {batch_size}");
}

TEST(Plan, CommandTemplateUnclosedBrace) {
  expect_error(
      "name = \"t\"\n[workload]\nkind = \"command\"\ncommand = \"run {precision\"\n" + kFactors, 4,
      "unclosed '{'");
}

TEST(Plan, BuiltinRejectsUnknownFactor) {
  expect_error("name = \"t\"\n[workload]\nkind = \"builtin\"\n[factors]\ndropout = [0.1]\n", 5,
               "factor 'dropout' is not known to the builtin workload");
}

TEST(Plan, BuiltinRejectsBadPrecision) {
  expect_error(
      "name = \"t\"\n[workload]\nkind = \"builtin\"\n[factors]\nprecision = [\"fp32\", \"fp8\"]\n",
      5, "level 'fp8' is not valid for the builtin workload; expected one of fp32, tf32");
}

TEST(Plan, BuiltinRejectsBadNeurons) {
  expect_error("name = \"t\"\n[workload]\nkind = \"builtin\"\n[factors]\nneurons = [\"128,x\"]\n",
               5, "hidden layer sizes");
}

TEST(Plan, BuiltinRejectsCommandKey) {
  expect_error("name = \"t\"\n[workload]\nkind = \"builtin\"\ncommand = \"x\"\n", 4,
               "unknown key 'command' in [workload] (kind = \"builtin\")");
}

TEST(Plan, NeuronsListLevelBecomesCommaString) {
  auto p = parse_plan(
      "name = \"t\"\n[workload]\nkind = \"builtin\"\n[factors]\nneurons = [128, [512, 256]]\n",
      "t.toml");
  EXPECT_EQ(p.factors[0].levels, (std::vector<std::string>{"128", "512,256"}));
}

TEST(Plan, CarbonCountryMustBeIso3) {
  expect_error(kHead + kFactors + "[carbon]\ncountry = \"France\"\n", 9, "ISO 3166-1 alpha-3");
}

TEST(Plan, CarbonPueBelowOne) {
  expect_error(kHead + kFactors + "[carbon]\npue = 0.5\n", 9,
               "carbon.pue = 0.5: expected a number in 1 .. 5");
}

TEST(Plan, MetersIntervalRange) {
  expect_error(kHead + kFactors + "[meters]\ninterval_ms = 1\n", 9, "meters.interval_ms = 1");
}

TEST(Plan, AnalysisNamesThePrimaryMetricAndTheTargetAccuracy) {
  const Plan p = parse_plan(kHead + kFactors +
                                "[analysis]\nprimary_metric = \"energy_to_target_j\"\n"
                                "target_accuracy = 0.85\n",
                            "t.toml");
  EXPECT_EQ(p.analysis.primary_metric, "energy_to_target_j");
  EXPECT_EQ(p.analysis.target_accuracy, std::optional<double>(0.85));
  // How runs are judged is not what they measured: the hash stays.
  EXPECT_EQ(p.hash(), parse_plan(kHead + kFactors, "t.toml").hash());
  expect_error(kHead + kFactors + "[analysis]\nprimary = \"energy_j\"\n", 9,
               "unknown key 'primary'");
  expect_error(kHead + kFactors + "[analysis]\ntarget_accuracy = 85\n", 9, "target_accuracy");
  expect_error(kHead + kFactors + "[analysis]\ntarget_accuracy = 0\n", 9,
               "expected an accuracy as a fraction");
  expect_error(kHead + kFactors + "[analysis]\nprimary_metric = \"energy j\"\n", 9,
               "expected a metric name");
  // The stopping rule judges the primary metric unless it names its own: one that can be <= 0
  // is refused before anything runs.
  expect_error(kHead + kFactors + "[design.stop]\n[analysis]\nprimary_metric = \"final_loss\"\n",
               10, "'final_loss' can be zero or negative");
}

TEST(Plan, LabelsNameLevelsForTheReportWithoutChangingTheHash) {
  const Plan p = parse_plan(kHead + kFactors +
                                "[labels.precision]\n"
                                "fp32 = \"TF32 (Keras' default FP32 on Ampere and newer)\"\n",
                            "t.toml");
  EXPECT_EQ(p.labels.at("precision").at("fp32"), "TF32 (Keras' default FP32 on Ampere and newer)");
  EXPECT_EQ(p.hash(), parse_plan(kHead + kFactors, "t.toml").hash());
  expect_error(kHead + kFactors + "[labels.optimizer]\nadam = \"Adam\"\n", 8,
               "labels.optimizer: not a factor of this plan; its factors: precision, batch_size");
  expect_error(kHead + kFactors + "[labels.precision]\nbf16 = \"BF16\"\n", 9,
               "'bf16' is not a level of precision; its levels: fp32, fp16");
  expect_error(kHead + kFactors + "[labels.precision]\nfp16 = 16\n", 9, "must be a string");
  expect_error(kHead + kFactors + "[labels.precision]\nfp16 = \"two\\nlines\"\n", 9,
               "expected one line");
  expect_error(kHead + kFactors + "[labels]\nprecision = \"x\"\n", 9,
               "labels.precision must be a table");
}

TEST(Plan, MissingName) {
  try {
    parse_plan("[workload]\nkind = \"builtin\"\n[factors]\nepochs = [1]\n", "t.toml");
    FAIL();
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.toml"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("missing 'name"), std::string::npos) << e.what();
  }
}

TEST(Plan, HashCoversWhatGivesRunsTheirMeaningOnly) {
  auto a = parse_plan(kHead + kFactors, "a.toml");
  // Comments, layout, the sampling interval, repeats, a stopping rule and an added level keep
  // the meaning of finished runs.
  auto b = parse_plan("# a comment\n" + kHead + "\n\n" + kFactors +
                          "[design]\nrepeats = 7\nmax_failures = 3\n[design.stop]\n"
                          "ci_halfwidth_pct = 1\n[meters]\ninterval_ms = 50\n",
                      "b.toml");
  auto grown = parse_plan(
      kHead + "[factors]\nprecision = [\"fp32\", \"fp16\", \"bf16\"]\nbatch_size = [32, 64]\n",
      "g.toml");
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.hash(), grown.hash());
  EXPECT_EQ(plan_difference(a, b), "");
  EXPECT_EQ(plan_difference(a, grown), "");
  EXPECT_EQ(a.hash().size(), 7u + 64u);
  // A removed level, another seed, carbon or meter setting, or a new factor changes it, and
  // the difference names the key.
  EXPECT_EQ(plan_difference(grown, a),
            "factors.precision: level bf16 is in the database but not in the plan (levels may be "
            "added, not removed)");
  auto seed = parse_plan(kHead + kFactors + "[design]\nseed = 9\n", "s.toml");
  EXPECT_NE(a.hash(), seed.hash());
  EXPECT_EQ(plan_difference(a, seed), "design.seed: 1 in the database, 9 in the plan");
  auto pue = parse_plan(kHead + kFactors + "[carbon]\npue = 1.2\n", "c.toml");
  EXPECT_EQ(plan_difference(a, pue), "carbon.pue: 1.0 in the database, 1.2 in the plan");
  auto gpus = parse_plan(kHead + kFactors + "[meters]\ngpus = \"none\"\n", "m.toml");
  EXPECT_EQ(plan_difference(a, gpus), "meters.gpus: \"\" in the database, \"none\" in the plan");
  auto cmd = parse_plan(kHead + kFactors, "a.toml");
  cmd.workload.command += " --amp";
  EXPECT_NE(plan_difference(a, cmd).find("workload.command: "), std::string::npos);
  auto more = parse_plan(R"(name = "t"
[workload]
kind = "command"
command = "train --p {precision} --b {batch_size} --lr {lr}"
)" + kFactors + "lr = [0.1]\n",
                         "f.toml");
  EXPECT_EQ(plan_difference(a, more), "factors.lr is new (finished runs have no level of it)");
  EXPECT_EQ(plan_difference(more, a), "factors.lr is in the database but not in the plan");
}

TEST(Plan, StopRuleParsesWithDefaults) {
  auto p = parse_plan(kHead + kFactors +
                          "[design]\nrepeats = 4\n[design.stop]\n"
                          "metric = \"train_energy_j\"\nci_halfwidth_pct = 2.5\n",
                      "t.toml");
  ASSERT_TRUE(p.design.stop);
  EXPECT_EQ(p.design.stop->metric, "train_energy_j");
  EXPECT_DOUBLE_EQ(p.design.stop->ci_halfwidth_pct, 2.5);
  EXPECT_EQ(p.design.stop->min_repeats, 4);  // design.repeats
  EXPECT_EQ(p.design.stop->max_repeats, 40);
  EXPECT_EQ(p.design.planned_blocks(), 40);
  EXPECT_EQ(p.design.max_failures, 2);
  auto q = parse_plan(kHead + kFactors + "[design.stop]\n", "t.toml");
  ASSERT_TRUE(q.design.stop);
  EXPECT_EQ(q.design.stop->metric, "");  // data-driven default
  EXPECT_EQ(q.design.stop->min_repeats, 3);
  EXPECT_FALSE(parse_plan(kHead + kFactors, "t.toml").design.stop);
}

TEST(Plan, StopRuleErrorsNameTheLine) {
  const std::string d = kHead + kFactors + "[design.stop]\n";  // [design.stop] is line 8
  expect_error(d + "ci_halfwidth_pct = 0\n", 9, "expected a percentage > 0");
  expect_error(d + "ci_halfwidth_pct = 150\n", 9, "expected a number in 0 .. 100");
  expect_error(d + "min_repeats = 1\n", 9, "at least two repeats");
  expect_error(d + "min_repeats = 5\nmax_repeats = 4\n", 10,
               "max_repeats = 4 is below min_repeats = 5");
  expect_error(d + "metric = \"energy j\"\n", 9, "expected a metric name");
  expect_error(d + "ci = 2\n", 9, "unknown key 'ci' in [design.stop]");
  expect_error(kHead + kFactors + "[design]\nmax_failures = 0\n", 9, "design.max_failures");
  // The layout numbers max_repeats blocks, so the size cap counts them.
  const std::string twelve =
      "[factors]\nprecision = [\"fp32\", \"fp16\", \"bf16\", \"tf32\"]\n"
      "batch_size = [32, 64, 128]\n";
  EXPECT_NO_THROW(parse_plan(kHead + twelve + "[design.stop]\nmax_repeats = 80000\n", "t.toml"));
  expect_error(kHead + twelve + "[design]\nrepeats = 3\n[design.stop]\nmax_repeats = 100000\n", 8,
               "12 configurations x 100000 max_repeats");
}

TEST(Plan, Sha256MatchesKnownVector) {
  // FIPS 180-2 test vector for "abc".
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace gt::experiment
