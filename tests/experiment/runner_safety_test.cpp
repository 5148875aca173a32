// What one experiment must never suffer from a workload, a second runner or the place its
// database lives, through the real binary: metric and phase names a workload sends over the
// mark channel or stdout cannot take a run field's, a factor's or a measured column's name (the
// export has no duplicate column and analyze reads it); SIGTERM stops a run as aborted and exits
// 143; a second `experiment run` on the same database is refused naming the first one's pid,
// host and start, and a lock left by a dead runner is taken over; a database in a folder that
// cannot be written is still read by status, export, analyze and report; --until-ci refuses
// what is not a number.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "experiment/environment.h"
#include "experiment/store.h"

namespace gt::experiment {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::wait_for;
using testing::write_file;

// A command workload that touches started-<run> in `dir`, sleeps `sleep_s`, then sends the
// marks of `marks` (lines for the channel) and prints `stdout` lines.
std::string workload_plan(const TempDir& dir, double sleep_s, const std::string& marks = "",
                          const std::string& stdout_lines = "", int repeats = 2) {
  write_file(dir / "work.sh", fmt::format(R"(#!/bin/bash
touch "{}/started-$GREENTRAIN_RUN_ID"
sleep {}
printf '{}' >&$GREENTRAIN_MARK_FD
printf '{}'
)",
                                          dir.str(), sleep_s, marks, stdout_lines));
  const std::string plan = dir / "p.toml";
  write_file(plan, fmt::format(R"(name = "safety"
[workload]
kind = "command"
command = "bash {} {{precision}}"
[factors]
precision = ["fp32", "bf16"]
[design]
repeats = {}
[meters]
gpus = "none"
interval_ms = 50
)",
                               dir / "work.sh", repeats));
  return plan;
}

testing::ProcessResult gt_run(const std::vector<std::string>& args,
                              const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  argv.push_back(testing::greentrain_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_process(argv);
}

pid_t spawn_gt(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {testing::greentrain_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::spawn_process(argv, log);
}

class RunnerSafety : public ::testing::Test {
 protected:
  RunnerSafety() {
    setenv("GREENTRAIN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    setenv("GREENTRAIN_POWERCAP_ROOT", (dir / "no-powercap").c_str(), 1);
  }
  TempDir dir;
};

TEST_F(RunnerSafety, WorkloadNamesCannotTakeColumnsFromAnySource) {
  const auto plan = workload_plan(dir, 0,
                                  "metric energy_j=5\\nmetric precision=3\\nmetric run_id=9\\n"
                                  "phase gpu begin\\nphase gpu end\\nphase train begin\\n"
                                  "phase train end\\nmetric acc=0.5\\n",
                                  "greentrain-metric status=1\\ngreentrain-metric co2e_g=7\\n");
  const std::string db = dir / "r.db";
  auto r = gt_run({"experiment", "run", plan, "--db", db});
  ASSERT_EQ(r.code, 0) << r.out << r.err;

  auto csv = gt_run({"export", "--db", db, "--csv", "-"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  const std::string header = csv.out.substr(0, csv.out.find('\n'));
  std::set<std::string> columns;
  std::stringstream ss(header);
  for (std::string c; std::getline(ss, c, ',');)
    EXPECT_TRUE(columns.insert(c).second) << "duplicate column " << c << " in " << header;
  for (const char* c : {"workload_energy_j", "workload_co2e_g", "acc", "train_energy_j"})
    EXPECT_TRUE(columns.count(c)) << c << " missing from " << header;
  EXPECT_FALSE(columns.count("gpu_duration_s")) << header;

  Store s(db, Store::Mode::read_only);
  for (const auto& run : s.runs(s.experiment("").id)) {
    EXPECT_EQ(run.metrics.at("workload_energy_j"), 5);
    EXPECT_NE(run.energy_j, 5);
    EXPECT_EQ(run.phases.size(), 1u);
    for (const char* why : {"ignored metric 'precision': the name is a factor's name",
                            "ignored metric 'run_id': the name is a field greentrain sets",
                            "ignored metric 'status'", "ignored phase 'gpu'"})
      EXPECT_NE(run.note.find(why), std::string::npos) << why << " not in: " << run.note;
  }
  auto analysis = gt_run({"analyze", "--db", db, "--format", "json"});
  EXPECT_EQ(analysis.code, 0) << analysis.err;
}

TEST_F(RunnerSafety, SigtermAbortsTheRunAndExits143) {
  const auto plan = workload_plan(dir, 3);
  const std::string db = dir / "t.db";
  const pid_t pid = spawn_gt({"experiment", "run", plan, "--db", db}, dir / "log.txt");
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "started-1"); }, 30))
      << read_file(dir / "log.txt");
  kill(pid, SIGTERM);
  const auto r = testing::wait_process(pid);
  EXPECT_EQ(r.code, 143) << read_file(dir / "log.txt");
  Store s(db, Store::Mode::read_only);
  const auto runs = s.runs(s.experiment("").id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, gt::RunStatus::aborted);
}

TEST_F(RunnerSafety, ASecondRunnerOnTheSameDatabaseIsRefused) {
  const auto plan = workload_plan(dir, 0.5);
  const std::string db = dir / "r.db";
  const pid_t first = spawn_gt({"experiment", "run", plan, "--db", db}, dir / "log.txt");
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "started-1"); }, 30))
      << read_file(dir / "log.txt");
  auto second = gt_run({"experiment", "run", plan, "--db", db});
  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(second.err.find(fmt::format("greentrain: {} is being run by pid {} on {} since 20", db,
                                        first, host_name())),
            0u)
      << second.err;
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;
  const auto done = testing::wait_process(first);
  EXPECT_EQ(done.code, 0) << read_file(dir / "log.txt");
  Store s(db, Store::Mode::read_only);
  EXPECT_EQ(s.runs(s.experiment("").id).size(), 5u);      // 2 x 2 and the warm-up, once each
  EXPECT_EQ(s.sessions(s.experiment("").id).size(), 1u);  // the second never began one
  EXPECT_FALSE(std::filesystem::exists(db + ".lock"));    // released
}

TEST_F(RunnerSafety, TheLockOfADeadRunnerIsTakenOver) {
  const auto plan = workload_plan(dir, 0);
  const std::string db = dir / "r.db";
  write_file(db + ".lock", "999999999 elsewhere 2020-01-02T03:04:05Z\n");
  auto r = gt_run({"experiment", "run", plan, "--db", db});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(fmt::format("note: {}.lock was left by pid 999999999 on elsewhere since "
                                   "2020-01-02T03:04:05Z, which is no longer running",
                                   db)),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(db + ".lock"));
}

TEST_F(RunnerSafety, ADatabaseInAReadOnlyFolderIsStillRead) {
  const auto plan = workload_plan(dir, 0);
  const std::string folder = dir / "results";
  std::filesystem::create_directories(folder);
  const std::string db = folder + "/r.db";
  ASSERT_EQ(gt_run({"experiment", "run", plan, "--db", db}).code, 0);
  ASSERT_FALSE(std::filesystem::exists(db + "-shm"));  // a clean close leaves no side file
  // The folder as a reader without write permission sees it: root is exempt from permissions,
  // so as root the readers run as the unprivileged user nobody.
  const std::string out = dir / "out";  // where the reader may write its report
  std::filesystem::create_directories(out);
  chmod(dir.str().c_str(), 0755);
  chmod(out.c_str(), 0777);
  chmod(folder.c_str(), 0555);
  std::vector<std::string> as_reader;
  if (geteuid() == 0)
    as_reader = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"experiment", "status", "--db", db},
                                             {"export", "--db", db, "--csv", "-"},
                                             {"analyze", "--db", db},
                                             {"report", "--db", db, "--md", out + "/report.md"}}) {
    auto r = gt_run(args, as_reader);
    EXPECT_EQ(r.code, 0) << args[0] << ": " << r.err;
  }
  EXPECT_NE(read_file(out + "/report.md").find("safety"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(db + "-shm"));
  chmod(folder.c_str(), 0755);
}

TEST_F(RunnerSafety, UntilCiTakesOnlyANumber) {
  const auto plan = workload_plan(dir, 0);
  for (const char* bad : {"nan", "inf", "abc", "2%"}) {
    auto r = gt_run({"experiment", "run", plan, "--db", dir / "r.db", "--until-ci", bad});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find(fmt::format("--until-ci: '{}' is not a number", bad)), std::string::npos)
        << r.err;
  }
  auto r = gt_run({"experiment", "run", plan, "--db", dir / "r.db", "--until-ci", "500"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'500' is out of range: expected a number in 0.001 .. 100"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.db"));
}

}  // namespace
}  // namespace gt::experiment
