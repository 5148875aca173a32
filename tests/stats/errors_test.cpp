// Bad runs tables and options give one-line errors that name the file, line, column or value:
// a missing column, a non-numeric metric, an unknown baseline level or factor, a single
// configuration, malformed rows.
#include <gtest/gtest.h>

#include <sstream>

#include "common/error.h"
#include "stats/analysis.h"

namespace gt::stats {
namespace {

const char* kHeader =
    "run_id,block,repeat,status,warmup,precision,batch_size,energy_j,test_accuracy\n";

RunsTable read(const std::string& body,
               std::vector<std::string> factors = {"precision", "batch_size"}) {
  std::istringstream in(kHeader + body);
  return read_runs_csv(in, factors, "runs.csv");
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "not one line: " << m;
    return m;
  }
  ADD_FAILURE() << "no exception";
  return {};
}

const char* kGood =
    "1,0,0,ok,0,fp32,32,100,0.9\n2,0,0,ok,0,fp16,32,90,0.91\n"
    "3,1,1,ok,0,fp32,32,101,0.9\n4,1,1,ok,0,fp16,32,91,0.9\n";

TEST(BadInput, MissingFactorColumn) {
  auto m = error_of<gt::Error>([] { read(kGood, {"precision", "neurons"}); });
  EXPECT_NE(m.find("runs.csv:1"), std::string::npos) << m;
  EXPECT_NE(m.find("'neurons' is missing"), std::string::npos) << m;
}

TEST(BadInput, NonNumericMetric) {
  auto m = error_of<gt::Error>([] { read(std::string(kGood) + "5,2,2,ok,0,fp32,32,12 J,0.9\n"); });
  EXPECT_NE(m.find("runs.csv:6"), std::string::npos) << m;
  EXPECT_NE(m.find("energy_j"), std::string::npos) << m;
  EXPECT_NE(m.find("'12 J' is not a number"), std::string::npos) << m;
}

TEST(BadInput, MetricColumnOfText) {
  std::string body = "1,0,0,ok,0,fp32,32,lots,0.9\n2,0,0,ok,0,fp16,32,some,0.91\n";
  RunsTable t = read(body);
  AnalysisOptions opt;
  opt.metrics = {"energy_j"};
  opt.explicit_metrics = true;
  opt.baseline = {{"precision", "fp32"}};
  auto m = error_of<gt::Error>([&] { analyze(t, opt); });
  EXPECT_NE(m.find("'energy_j': the column holds text"), std::string::npos) << m;
}

TEST(BadInput, MissingRequestedMetric) {
  AnalysisOptions opt;
  opt.metrics = {"wall_energy_j"};
  opt.explicit_metrics = true;
  opt.baseline = {{"precision", "fp32"}};
  auto m = error_of<gt::Error>([&] { analyze(read(kGood), opt); });
  EXPECT_NE(m.find("'wall_energy_j' is not a column"), std::string::npos) << m;
}

TEST(BadInput, UnknownBaselineLevelAndFactor) {
  AnalysisOptions opt;
  opt.baseline = {{"precision", "fp64"}};
  auto m = error_of<gt::Error>([&] { analyze(read(kGood), opt); });
  EXPECT_NE(m.find("precision=fp64 is not a level"), std::string::npos) << m;
  EXPECT_NE(m.find("fp16, fp32"), std::string::npos) << m;
  opt.baseline = {{"optimizer", "adam"}};
  m = error_of<gt::UsageError>([&] { analyze(read(kGood), opt); });
  EXPECT_NE(m.find("'optimizer' is not a factor"), std::string::npos) << m;
}

TEST(BadInput, OneLevelOnly) {
  std::string body =
      "1,0,0,ok,0,fp32,32,100,0.9\n2,1,1,ok,0,fp32,32,101,0.91\n"
      "3,1,1,failed,0,fp16,32,,\n";
  AnalysisOptions opt;
  auto m = error_of<gt::Error>([&] { analyze(read(body), opt); });
  EXPECT_NE(m.find("only one configuration"), std::string::npos) << m;
}

TEST(BadInput, WrongCellCountAndBadWarmup) {
  auto m = error_of<gt::Error>([] { read("1,0,0,ok,0,fp32,32,100\n"); });
  EXPECT_NE(m.find("runs.csv:2: 8 cells, expected 9"), std::string::npos) << m;
  m = error_of<gt::Error>([] { read("1,0,0,ok,yes,fp32,32,100,0.9\n"); });
  EXPECT_NE(m.find("'warmup'"), std::string::npos) << m;
}

TEST(BadInput, QuotedFactorLevelsAndEmptyCells) {
  std::istringstream in(
      "run_id,status,neurons,energy_j\n1,ok,\"512,256\",10\n2,ok,128,\n3,ok,128,12\n");
  RunsTable t = read_runs_csv(in, {"neurons"}, "q.csv");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].config[0], "512,256");
  EXPECT_EQ(t.rows[1].metrics.count("energy_j"), 0u);  // empty cell = no value, not zero
}

}  // namespace
}  // namespace gt::stats
