// `greentrain train` as a child process (as the experiment runner calls it): --json with the keys
// the experiment runner reads and exit 0; bad flags and inputs exit 2 (usage) or 1 (data) with one
// line; GREENTRAIN_TRACE=1 gives a timeline of the metered parent and its child on one clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "nlohmann/json.hpp"

namespace {

using ::testing::HasSubstr;

struct ChildRun {
  int code;
  std::string output;
};

// Runs greentrain with `args` (shell words), standard output and error together.
ChildRun run_child(const std::string& args) {
  gt::testing::ProcessOptions merged;
  merged.merge_stderr = true;
  const auto r = gt::testing::run_shell(gt::testing::greentrain_binary() + " " + args, merged);
  return {r.code, r.out};
}

// A 60-row, two-feature CSV data set in `dir`.
std::string tiny_csv(const gt::testing::TempDir& dir) {
  std::ostringstream out;
  out << "a,b,label\n";
  for (int i = 0; i < 60; ++i)
    out << (i % 2 ? 1.0 : -1.0) + 0.01 * i << "," << i % 7 << "," << i % 2 << "\n";
  gt::testing::write_file(dir / "train.csv", out.str());
  return dir / "train.csv";
}

TEST(CliTrain, WritesJsonWithoutMeasuring) {
  gt::testing::TempDir dir("gt-cli-train");
  const std::string json = dir / "train.json";
  const ChildRun r =
      run_child("train --data csv:" + tiny_csv(dir) +
                " --model mlp:8 --batch-size 8 --epochs 3"
                " --precision bf16 --device cpu --validation 0.25 --no-measure --json " +
                json);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("epoch 3/3"));
  EXPECT_THAT(r.output, HasSubstr("test accuracy n/a"));  // no test file
  const auto j = nlohmann::json::parse(gt::testing::read_file(json));
  EXPECT_EQ(j["precision"], "bf16");
  EXPECT_EQ(j["batch_size"], 8);
  EXPECT_EQ(j["epochs_detail"].size(), 3u);
  EXPECT_TRUE(j["test_accuracy"].is_null());
  EXPECT_TRUE(j["val_accuracy"].is_number());
  EXPECT_FALSE(j.contains("energy"));
}

TEST(CliTrain, TraceIsATimelineOfParentAndChild) {
  gt::testing::TempDir dir("gt-cli-train");
  const std::string args = "train --data csv:" + tiny_csv(dir) +
                           " --model mlp:8 --batch-size 8 --epochs 2 --device cpu -q --json " +
                           (dir / "t.json");
  const auto traced = gt::testing::run_shell(
      "GREENTRAIN_TRACE=1 " + gt::testing::greentrain_binary() + " " + args, {});
  ASSERT_EQ(traced.code, 0) << traced.err;
  struct Point {
    int pid;
    double t;
    std::string what;
  };
  std::vector<Point> points;
  std::istringstream lines(traced.err);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string tag;
    Point p;
    if (!(words >> tag >> p.pid >> p.t) || tag != "greentrain-trace") continue;
    std::getline(words >> std::ws, p.what);
    points.push_back(p);
  }
  ASSERT_FALSE(points.empty()) << traced.err;
  const int parent = points.front().pid;
  std::map<std::string, double> parent_at, child_at;
  std::map<int, double> last;
  for (const auto& p : points) {
    if (last.count(p.pid)) {
      EXPECT_GE(p.t, last[p.pid]) << p.what;  // each process's points in order
    }
    last[p.pid] = p.t;
    (p.pid == parent ? parent_at : child_at)[p.what] = p.t;
  }
  EXPECT_EQ(last.size(), 2u) << "one parent, one child";
  for (const char* what :
       {"main", "meters ready", "window opens", "child exited",
        "window closed (after the counter's next update)", "output written", "main returns"}) {
    EXPECT_TRUE(parent_at.count(what)) << "parent: " << what;
  }
  for (const char* what : {"main", "phase setup begins", "data loaded", "device ready",
                           "phase train begins", "phase train ends", "main returns"}) {
    EXPECT_TRUE(child_at.count(what)) << "child: " << what;
  }
  // One clock for both: the child runs inside the parent's window.
  EXPECT_LE(parent_at["window opens"], child_at["main"]);
  EXPECT_LE(child_at["main returns"], parent_at["child exited"]);
  EXPECT_LE(parent_at["child exited"], parent_at["output written"]);

  const auto quiet = gt::testing::run_shell(gt::testing::greentrain_binary() + " " + args, {});
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("greentrain-trace"), std::string::npos);  // off by default
}

TEST(CliTrain, ErrorsAreOneLineWithExitCodes) {
  gt::testing::TempDir dir("gt-cli-train");
  const std::string data = " --data csv:" + tiny_csv(dir) + " --device cpu --no-measure -q";
  struct Case {
    std::string args;
    int code;
    std::string text;
  } cases[] = {
      {"--batch-size 0", 2, "--batch-size: '0' is out of range"},
      {"--batch-size 1000", 2, "larger than the training set"},
      {"--model rnn:3", 2, "unknown model spec 'rnn:3'"},
      {"--model cnn:3", 2, "cnn:3/128 needs image data"},  // valid text, flat CSV data
      {"--precision fp8", 2, "unknown precision 'fp8'"},
      {"--optimizer rmsprop", 2, "--optimizer 'rmsprop'"},
  };
  for (const auto& c : cases) {
    const ChildRun r = run_child("train" + data + " " + c.args);
    EXPECT_EQ(r.code, c.code) << c.args << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.text)) << c.args;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  const ChildRun missing = run_child("train --data mnist:/nonexistent --no-measure -q");
  EXPECT_EQ(missing.code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("/nonexistent"));
}

}  // namespace
