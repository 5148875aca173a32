// `experiment run --gpus 0,1` against the fake NVML with two boards (100 W and 150 W): two
// children run at once, never two on one lane, each child sees only its board (by UUID), each
// run's GPU energy comes from its own board, the lane is recorded as provenance, and bad
// --gpus values are refused before anything runs.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <thread>

#include "common/locations.h"
#include "common/scoped_env.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "experiment/store.h"

namespace gt::experiment {
namespace {

using gt::testing::read_file;
using gt::testing::run_process;
using gt::testing::ScopedEnv;
using gt::testing::TempDir;
using gt::testing::write_file;

gt::testing::ProcessOptions merged_output() {
  gt::testing::ProcessOptions o;
  o.merge_stderr = true;
  return o;
}

const std::string kA = "GPU-00000000-0000-0000-0000-00000000aaaa";
const std::string kB = "GPU-00000000-0000-0000-0000-00000000bbbb";

struct Fixture {
  TempDir dir{"greentrain-lanes-test"};
  std::string plan;
  ScopedEnv lib{"GREENTRAIN_NVML_LIB", FAKE_NVML_PATH};
  ScopedEnv fake{"GREENTRAIN_FAKE_NVML", dir / "nvml.txt"};
  explicit Fixture(int warmup_runs = 1) {
    write_file(dir / "nvml.txt", fmt::format("gpus=2\ngpu0.uuid={}\ngpu0.power_w=100\n"
                                             "gpu1.uuid={}\ngpu1.power_w=150\n",
                                             kA, kB));
    write_file(dir / "train.sh", R"(#!/bin/sh
d=$1
date +%s.%N > "$d/start-$GREENTRAIN_RUN_ID"
echo "$CUDA_VISIBLE_DEVICES" > "$d/cvd-$GREENTRAIN_RUN_ID"
sleep "${LANES_SLEEP:-0.4}"
date +%s.%N > "$d/end-$GREENTRAIN_RUN_ID"
echo "greentrain-metric test_accuracy=0.9"
)");
    std::filesystem::permissions(dir / "train.sh", std::filesystem::perms::owner_all);
    plan = dir / "plan.toml";
    write_file(plan, fmt::format(R"(name = "lanes"
[workload]
kind = "command"
command = "{} {} {{precision}} {{batch_size}}"
[factors]
precision = ["fp32", "bf16"]
batch_size = [32, 64]
[design]
repeats = 2
warmup_runs = {}
idle_baseline_s = 0.2
[meters]
interval_ms = 50
)",
                                 dir / "train.sh", dir.str(), warmup_runs));
  }
  double time_of(const std::string& what, int run) const {
    return std::stod(read_file(dir / fmt::format("{}-{}", what, run)));
  }
};

TEST(Lanes, TwoBoardsRunTwoChildrenAtOnceEachMeteredOnItsOwnBoard) {
  Fixture f;
  auto r = run_process({gt::testing::greentrain_binary(), "experiment", "run", f.plan, "--db",
                        f.dir / "l.db", "--gpus", "0,1"},
                       merged_output());
  ASSERT_EQ(r.code, 0) << r.out;
  Store s(f.dir / "l.db", Store::Mode::read_only);
  const auto runs = s.runs(s.experiment("").id);
  ASSERT_EQ(runs.size(), 9u);
  std::map<int, int> per_lane;
  const std::map<int, std::string> board = {{0, kA}, {1, kB}};
  const std::map<std::string, double> watts = {{kA, 100.0}, {kB, 150.0}};
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, gt::RunStatus::ok) << run.note;
    ASSERT_TRUE(run.provenance.lane.has_value()) << run.run_index;
    const int lane = *run.provenance.lane;
    ++per_lane[lane];
    EXPECT_EQ(run.provenance.gpu_uuid, board.at(lane));
    EXPECT_EQ(run.provenance.gpu_mapping, "lane");
    // The child saw only its board, by UUID.
    EXPECT_EQ(read_file(f.dir / fmt::format("cvd-{}", run.run_index)), board.at(lane) + "\n");
    // Its GPU energy is its own board's: one GPU component, at that board's power.
    int gpus = 0;
    for (const auto& e : run.energy) gpus += e.component == gt::Component::gpu;
    EXPECT_EQ(gpus, 1) << run.run_index;
    const double w = *run.component_energy_j(gt::Component::gpu) / *run.duration_s;
    EXPECT_NEAR(w, watts.at(board.at(lane)), 0.1 * watts.at(board.at(lane)))
        << "run " << run.run_index << " lane " << lane;
  }
  EXPECT_GT(per_lane[0], 0);
  EXPECT_GT(per_lane[1], 0);
  // Two children at once (on different lanes), never two on one lane.
  bool overlapped = false;
  for (const auto& a : runs)
    for (const auto& b : runs) {
      if (a.run_index >= b.run_index) continue;
      const bool overlap = f.time_of("start", a.run_index) < f.time_of("end", b.run_index) &&
                           f.time_of("start", b.run_index) < f.time_of("end", a.run_index);
      if (*a.provenance.lane == *b.provenance.lane)
        EXPECT_FALSE(overlap) << "runs " << a.run_index << " and " << b.run_index;
      else
        overlapped |= overlap;
    }
  EXPECT_TRUE(overlapped) << "no two runs ran at once";
  // Idle baselines: one per board.
  int gpu_idle = 0;
  for (const auto& b : s.idle_baselines(s.experiment("").id))
    gpu_idle += b.component == gt::Component::gpu;
  EXPECT_EQ(gpu_idle, 2);
}

TEST(Lanes, BadGpuListsAreRefusedBeforeAnythingRuns) {
  Fixture f;
  for (const char* spec : {"0,0", "0,7", ","}) {
    auto r = run_process({gt::testing::greentrain_binary(), "experiment", "run", f.plan, "--db",
                          f.dir / "bad.db", "--gpus", spec});
    EXPECT_EQ(r.code, 2) << spec << ": " << r.err;
    EXPECT_NE(r.err.find("--gpus"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(f.dir / "start-1")) << spec;
  }
}

TEST(Lanes, InterruptStopsEveryLaneAndResumeRunsOnlyWhatIsMissing) {
  Fixture f(/*warmup_runs=*/0);  // runs 1 and 2 (block 1) start together
  const std::string db = f.dir / "i.db";
  pid_t pid;
  {
    ScopedEnv slow("LANES_SLEEP", "30");
    pid = gt::testing::spawn_process({gt::testing::greentrain_binary(), "experiment", "run", f.plan,
                                      "--db", db, "--gpus", "0,1"},
                                     f.dir / "log.txt");
  }
  for (int i = 0; i < 300 && !(std::filesystem::exists(f.dir / "start-1") &&
                               std::filesystem::exists(f.dir / "start-2"));
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(std::filesystem::exists(f.dir / "start-2")) << read_file(f.dir / "log.txt");
  kill(pid, SIGINT);
  auto r = gt::testing::wait_process(pid);
  EXPECT_EQ(r.code, 130) << read_file(f.dir / "log.txt");
  {
    Store s(db, Store::Mode::read_only);
    const auto runs = s.runs(s.experiment("").id);
    ASSERT_EQ(runs.size(), 2u) << read_file(f.dir / "log.txt");
    for (const auto& run : runs) EXPECT_EQ(run.status, gt::RunStatus::aborted) << run.run_index;
  }
  ScopedEnv fast("LANES_SLEEP", "0.1");
  auto again = run_process(
      {gt::testing::greentrain_binary(), "experiment", "run", f.plan, "--db", db, "--gpus", "0,1"},
      merged_output());
  ASSERT_EQ(again.code, 0) << again.out;
  Store s(db, Store::Mode::read_only);
  const auto runs = s.runs(s.experiment("").id);
  ASSERT_EQ(runs.size(), 8u);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].run_index, static_cast<int>(i) + 1);
    EXPECT_EQ(runs[i].status, gt::RunStatus::ok);
  }
}

}  // namespace
}  // namespace gt::experiment
