// End-to-end tests of `greentrain analyze` and `greentrain stats sample-size` through the
// built binary (GREENTRAIN_BINARY): JSON output equals the library's and agrees with the
// SciPy/statsmodels reference, the table and Markdown renderings carry the verdicts, and
// mistakes exit 2 (usage) or 1 (bad data) with one line on standard error.
#include <gtest/gtest.h>

#include "experiment/store.h"
#include "reference_support.h"

namespace gt::stats::testing {
namespace {

using Result = gt::testing::ProcessResult;

// Runs greentrain with `args` (shell words).
Result run(const std::string& args) {
  return gt::testing::run_shell(gt::testing::greentrain_binary() + " " + args);
}

size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

class Cli : public ::testing::Test {};

TEST_F(Cli, AnalyzeJsonAgreesWithReference) {
  const std::string csv = reference_csv("balanced");  // and its reference, from the fixture
  Result r = run("analyze --input " + csv + " --factors precision,batch_size,neurons --baseline " +
                 std::string(kReferenceBaseline) + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("60 runs used, 2 excluded"), std::string::npos) << r.err;
  const json ours = json::parse(r.out);
  Worst worst;
  compare(ours, reference_case("balanced"), "cli", worst);
  EXPECT_EQ(ours["baseline"]["precision"], "fp32");
}

TEST_F(Cli, AnalyzeTableAndMarkdown) {
  Design d;
  d.levels = {{"fp32", "fp16"}, {"32"}, {"128"}};
  const std::string csv = write_csv(d, "cli2.csv");
  Result t = run("analyze --input " + csv +
                 " --factors precision,batch_size,neurons --baseline precision=fp32 "
                 "--metric energy_j --metric test_accuracy --full");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("fp16 vs fp32"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Factorial ANOVA"), std::string::npos);
  EXPECT_NE(t.out.find("Tukey HSD"), std::string::npos);
  Result m = run("analyze --input " + csv +
                 " --factors precision,batch_size,neurons --baseline precision=fp32 "
                 "--format markdown --equivalence test_accuracy:0.01");
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_NE(m.out.find("| configuration | n | mean |"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("test_accuracy"), std::string::npos);
}

TEST_F(Cli, AnalyzeReadsGreentrainDbByDefault) {
  const auto dir = temp_file("no-db-here");
  std::filesystem::create_directories(dir);
  const Result r = gt::testing::run_shell("cd " + dir.string() + " && " +
                                          gt::testing::greentrain_binary() + " analyze");
  const std::string& err = r.err;
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("--db greentrain.db: no such file"), std::string::npos) << err;
  EXPECT_EQ(lines(err), 1u) << err;
}

TEST_F(Cli, AnalyzeWithANanCellFinishesWithANote) {
  const auto csv = temp_file("nan.csv");
  std::ofstream(csv)
      << "run_id,status,precision,energy_j\n1,ok,fp32,1000\n2,ok,fp32,nan\n3,ok,fp32,"
         "1010\n4,ok,bf16,800\n5,ok,bf16,810\n6,ok,bf16,nan\n";
  // It once spun forever: a deadline turns a hang into a failure (timeout exits 124).
  const Result r = gt::testing::run_shell(
      "timeout 30 " + gt::testing::greentrain_binary() + " analyze --input " + csv.string() +
      " --factors precision --baseline precision=fp32 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["metrics"]["energy_j"]["cells"][0]["n"], 2);
  EXPECT_NE(j["notes"].dump().find("energy_j: 2 non-finite values left out"), std::string::npos)
      << j["notes"].dump();
}

TEST_F(Cli, AnalyzeErrorsAreOneLine) {
  Design d;
  const std::string csv = write_csv(d, "cli3.csv");
  Result r = run("analyze --input " + csv);  // no --factors
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  r = run("analyze --input " + csv + " --factors precision,optimizer");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("'optimizer' is missing"), std::string::npos) << r.err;
  r = run("analyze --input " + csv +
          " --factors precision,batch_size,neurons --baseline precision=fp64,batch_size=32,"
          "neurons=128");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("fp64 is not a level"), std::string::npos) << r.err;
  r = run("analyze --input " + csv + " --factors precision --format yaml");
  EXPECT_EQ(r.code, 2);
  r = run("analyze --db /nonexistent/nowhere.db");
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_EQ(run("analyze --help").code, 0);
}

TEST_F(Cli, SampleSizeMatchesStatsmodels) {
  Result r = run("stats sample-size --cv 0.05 --effect-pct 3 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json ours = json::parse(r.out);
  const json ref = reference_sample_size("cv0.05_e3");
  EXPECT_EQ(ours["runs_per_group"], ref["runs_per_group"]);
  EXPECT_GE(ours["achieved_power"].get<double>(), 0.8);
  r = run("stats sample-size --cv 0.04 --effect-pct 3 --power 0.9 --alpha 0.01");
  ASSERT_EQ(r.code, 0) << r.err;
  const json ref2 = reference_sample_size("cv0.04_e3_p0.9_a0.01");
  EXPECT_EQ(r.out.rfind(std::to_string(ref2["runs_per_group"].get<long>()) + " runs per group", 0),
            0u)
      << r.out;
  // A CV above 1 is most likely a percentage: computed as asked, with a warning saying so.
  r = run("stats sample-size --cv 5 --effect-pct 3");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --cv 5 is read as a fraction, a CV of 500 %; for 5 % give "
                       "--cv 0.05"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run("stats sample-size --cv 0.05 --effect-pct 3").err, "");
  r = run("stats sample-size --cv 0 --effect-pct 3");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_EQ(run("stats sample-size --help").code, 0);
}

}  // namespace
}  // namespace gt::stats::testing

namespace gt::stats::testing {
namespace {

// analyze --db: factors and benchmark from the stored plan; the result equals analysing the
// store's own runs table with --input and the benchmark as --baseline.
TEST_F(Cli, AnalyzeFromDatabaseUsesPlanFactorsAndBenchmark) {
  const auto db = temp_file("runs.db");
  std::filesystem::remove(db);
  {
    experiment::Store store(db.string());
    experiment::ExperimentRecord e;
    e.name = "mp";
    e.plan_text = "name = \"mp\"\n";
    e.plan_hash = "sha256:test";
    e.workload_kind = "builtin";
    e.factor_names = {"precision", "batch_size"};
    e.factors = {{"precision", {"fp32", "fp16"}}, {"batch_size", {"32", "64"}}};
    e.benchmark = {{"precision", "fp32"}, {"batch_size", "32"}};
    e.planned_runs = 16;
    const auto id = store.create_experiment(e);
    experiment::SessionRecord s;
    s.experiment_id = id;
    s.started_at = "2026-11-27T00:00:00Z";
    const auto sid = store.add_session(s);
    std::mt19937_64 rng(1);
    std::normal_distribution<double> z(0, 1);
    int index = 0;
    for (int rep = 1; rep <= 4; ++rep)
      for (int p = 0; p < 2; ++p)
        for (int b = 0; b < 2; ++b) {
          experiment::RunRecord r;
          r.experiment_id = id;
          r.session_id = sid;
          r.run_index = ++index;
          r.config_index = p * 2 + b;
          r.block = rep;
          r.repeat = rep;
          r.factors = {{"precision", p ? "fp16" : "fp32"}, {"batch_size", b ? "64" : "32"}};
          r.status = gt::RunStatus::ok;
          r.duration_s = 100 * (p ? 0.8 : 1.0) * (1 + 0.02 * z(rng));
          r.energy_j = 30000 * (p ? 0.85 : 1.0) * (b ? 0.9 : 1.0) * (1 + 0.02 * z(rng));
          r.avg_power_w = *r.energy_j / *r.duration_s;
          r.co2e_g = *r.energy_j / 3.6e6 * 481;
          r.metrics["test_accuracy"] = 0.88 + 0.003 * z(rng);
          store.record_run(r);
        }
  }
  Result from_db = run("analyze --db " + db.string() + " --format json");
  ASSERT_EQ(from_db.code, 0) << from_db.err;
  const json a = json::parse(from_db.out);
  EXPECT_EQ(a["baseline"], json({{"precision", "fp32"}, {"batch_size", "32"}}));
  EXPECT_EQ(a["runs"]["used"], 16);
  const auto csv = temp_file("from_db.csv");
  {
    experiment::Store store(db.string(), experiment::Store::Mode::read_only);
    std::ofstream(csv) << experiment::runs_csv(store, "mp");
  }
  Result from_csv = run("analyze --input " + csv.string() +
                        " --factors precision,batch_size --baseline precision=fp32,batch_size=32"
                        " --format json");
  ASSERT_EQ(from_csv.code, 0) << from_csv.err;
  EXPECT_EQ(a["metrics"], json::parse(from_csv.out)["metrics"]);
  // export writes the runs table to standard output unless --csv names a file.
  Result exported = run("export --db " + db.string());
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_EQ(exported.out, gt::testing::read_file(csv.string()));
  // Results and the summary line in one stream: the whole analysis first, then the summary
  // (the analysis is longer than a pipe's buffer, so a stray write would land inside it).
  Result merged = run("analyze --db " + db.string() + " --full 2>&1");
  ASSERT_EQ(merged.code, 0) << merged.out;
  Result alone = run("analyze --db " + db.string() + " --full 2>/dev/null");
  ASSERT_GT(alone.out.size(), 4096u);
  EXPECT_EQ(merged.out.substr(0, alone.out.size()), alone.out);
  EXPECT_EQ(merged.out.substr(alone.out.size()).rfind("analyze: 16 runs used", 0), 0u)
      << merged.out.substr(alone.out.size());
  Result missing = run("analyze --db " + db.string() + " --experiment nope");
  EXPECT_NE(missing.code, 0);
  EXPECT_EQ(lines(missing.err), 1u) << missing.err;
}

}  // namespace
}  // namespace gt::stats::testing
