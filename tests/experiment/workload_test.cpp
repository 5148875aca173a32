// Workload preparation and metric reading: the exact `greentrain train` command line of a
// builtin run, the substituted shell command and environment of a command run, stdout metric
// lines (good and malformed), and the metrics file (numbers kept, configuration echoes dropped).
#include "experiment/workload.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "common/temp_dir.h"
#include "common/utf8.h"

namespace gt::experiment {
namespace {

using testing::TempDir;

TEST(Workload, BuiltinRunBecomesATrainCommandLine) {
  auto plan = parse_plan(R"(name = "b"
[workload]
kind = "builtin"
dataset = "fashion-mnist"
device = "cpu"
optimizer = "sgd"
lr = 0.01
[factors]
precision = ["fp16"]
batch_size = [64]
neurons = [[512, 256]]
epochs = [3]
)",
                         "b.toml");
  auto d = expand(plan);
  auto p = prepare_run(plan, d.configs[0], d.runs[1], "/tmp/w", "/opt/greentrain");
  const std::vector<std::string> expected = {"/opt/greentrain",
                                             "train",
                                             "--json",
                                             "/tmp/w/metrics.json",
                                             "--no-measure",
                                             "--data",
                                             "fashion-mnist",
                                             "--precision",
                                             "fp16",
                                             "--batch-size",
                                             "64",
                                             "--epochs",
                                             "3",
                                             "--model",
                                             "mlp:512,256",
                                             "--seed",
                                             std::to_string(d.runs[1].seed),
                                             "--device",
                                             "cpu",
                                             "--optimizer",
                                             "sgd",
                                             "--lr",
                                             "0.01"};
  EXPECT_EQ(p.spec.argv, expected);
  EXPECT_EQ(p.command_text.rfind("greentrain train --json", 0), 0u) << p.command_text;
}

TEST(Workload, CnnFactorsCompleteTheModelText) {
  auto plan = parse_plan(R"(name = "c"
[workload]
kind = "builtin"
model = "cnn"
device = "cpu"
[factors]
filters = [[32, 64, 128]]
neurons = [256]
image_size = [32]
)",
                         "c.toml");
  auto d = expand(plan);
  auto p = prepare_run(plan, d.configs[0], d.runs[1], "/tmp/w", "/opt/greentrain");
  const auto& a = p.spec.argv;
  auto after = [&](const std::string& flag) {
    const auto it = std::find(a.begin(), a.end(), flag);
    return it == a.end() || it + 1 == a.end() ? std::string() : *(it + 1);
  };
  EXPECT_EQ(after("--model"), "cnn:32,64,128/256");
  EXPECT_EQ(after("--image-size"), "32");
  EXPECT_EQ(std::find(a.begin(), a.end(), "--filters"), a.end());
  EXPECT_EQ(std::find(a.begin(), a.end(), "--neurons"), a.end());
}

TEST(Workload, MinPhaseReachesTheTrainerAndIsCheckedInThePlan) {
  const std::string text = R"(name = "m"
[workload]
kind = "builtin"
device = "cpu"
min_phase_s = 2
[factors]
precision = ["bf16"]
neurons = [1024]
)";
  auto plan = parse_plan(text, "m.toml");
  auto d = expand(plan);
  const auto a = prepare_run(plan, d.configs[0], d.runs[1], "/tmp/w", "/opt/greentrain").spec.argv;
  const auto it = std::find(a.begin(), a.end(), "--min-phase-s");
  ASSERT_NE(it, a.end());
  EXPECT_EQ(*(it + 1), "2");
  EXPECT_NE(plan.hash(), parse_plan(std::string(text).replace(text.find("min_phase_s = 2"), 15,
                                                              "min_phase_s = 3"),
                                    "m.toml")
                             .hash());  // a different phase length is a different experiment
  try {
    parse_plan(std::string(text).replace(text.find("= 2"), 3, "= -1"), "m.toml");
    ADD_FAILURE() << "min_phase_s = -1 accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("min_phase_s"), std::string::npos) << e.what();
  }
}

TEST(Workload, CommandRunSubstitutesAndSetsEnvironment) {
  auto plan = parse_plan(R"(name = "c"
[workload]
kind = "command"
command = "python3 train.py --precision {precision} --seed {seed} --out {metrics_file} --run {run_id}"
workdir = "/tmp"
[factors]
precision = ["bf16"]
)",
                         "c.toml");
  auto d = expand(plan);
  auto p = prepare_run(plan, d.configs[0], d.runs[2], "/w", "/gt");
  ASSERT_EQ(p.spec.argv.size(), 3u);
  EXPECT_EQ(p.spec.argv[0], "/bin/sh");
  EXPECT_EQ(p.spec.argv[2], fmt::format("python3 train.py --precision bf16 --seed {} --out "
                                        "/w/metrics.json --run 3",
                                        d.runs[2].seed));
  EXPECT_EQ(p.spec.workdir, "/tmp");
  auto has = [&](const std::string& k, const std::string& v) {
    for (const auto& e : p.spec.env)
      if (e.first == k) return e.second == v;
    return false;
  };
  EXPECT_TRUE(has("GREENTRAIN_RUN_ID", "3"));
  EXPECT_TRUE(has("GREENTRAIN_METRICS_FILE", "/w/metrics.json"));
  EXPECT_TRUE(has("GREENTRAIN_FACTOR_PRECISION", "bf16"));
}

TEST(Workload, StdoutMetricLines) {
  std::vector<std::string> notes;
  auto m = parse_metric_lines(
      "epoch 1\ngreentrain-metric test_accuracy=0.91\r\ngreentrain-metric  loss = 1e-3\n"
      "greentrain-metric broken\ngreentrain-metric x=abc\nnot greentrain-metric y=1\n",
      notes);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_DOUBLE_EQ(m.at("test_accuracy"), 0.91);
  EXPECT_DOUBLE_EQ(m.at("loss"), 1e-3);
  EXPECT_EQ(notes.size(), 2u);
}

TEST(Workload, StdoutMetricNamesFollowTheMarkRulesAndNotesAreValidUtf8) {
  std::vector<std::string> notes;
  // A name that is no UTF-8, one with a comma (a CSV column of its own) and 'é' cut by a note.
  auto m = parse_metric_lines(
      "greentrain-metric \xff\xfe=1\ngreentrain-metric a,b=2\n"
      "greentrain-metric " +
          std::string(61, 'x') + "\xC3\xA9=3\n",
      notes);
  EXPECT_TRUE(m.empty());
  ASSERT_EQ(notes.size(), 3u);
  for (const auto& n : notes) EXPECT_TRUE(is_valid_utf8(n)) << n;
}

TEST(Workload, MetricsFileKeepsNumbersAndDropsConfigurationEchoes) {
  TempDir dir;
  auto plan = parse_plan(
      "name = \"b\"\n[workload]\nkind = \"builtin\"\nmodel = \"mlp:16\"\n[factors]\n"
      "precision = [\"fp32\"]\n",
      "b.toml");
  testing::write_file(dir / "m.json",
                      R"({"precision": "fp32", "batch_size": 32, "epochs": 1, "duration_s": 2.5,
                          "test_accuracy": 0.8, "val_accuracy": null, "ok": true,
                          "epochs_detail": [{"epoch": 1}]})");
  auto m = collect_metrics(plan, dir / "m.json", dir / "none.txt");
  EXPECT_TRUE(m.file_read);
  EXPECT_EQ(m.values.count("batch_size"), 0u);
  EXPECT_EQ(m.values.count("val_accuracy"), 0u);  // null = no value, never zero
  EXPECT_DOUBLE_EQ(m.values.at("train_duration_s"), 2.5);
  EXPECT_DOUBLE_EQ(m.values.at("test_accuracy"), 0.8);
  EXPECT_DOUBLE_EQ(m.values.at("ok"), 1);
  testing::write_file(dir / "bad.json", "[1, 2]");
  auto bad = collect_metrics(plan, dir / "bad.json", dir / "none.txt");
  EXPECT_FALSE(bad.file_read);
  EXPECT_EQ(bad.notes.size(), 1u);
}

}  // namespace
}  // namespace gt::experiment
