// Nothing a plan or a submit option holds becomes a line of a Slurm job script: a hostile plan
// name and hostile option values ($(...), backticks, quotes, ';', '#') are submitted through a
// stand-in sbatch, and the scripts it was given are then run by bash with a stand-in greentrain:
// no command hidden in a value runs, and every value reaches its program as one word. The dry
// run of the hostile plan has exactly the lines of a plain one, and running what it prints (the
// scripts and the sbatch commands) runs nothing it did not mean either. A value with a control
// character (a line break would start a script line of its own) is refused in one line naming
// its key, and an edited submit.json is refused in one line before it is used.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/locations.h"
#include "common/scoped_env.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "plan_files.h"

namespace gt::experiment {
namespace {
namespace fs = std::filesystem;

using testing::read_file;
using testing::run_process;
using testing::TempDir;
using testing::write_file;

// A plan whose name is `name_toml` (a TOML basic string's content), two repeats, no warm-up.
std::string plan_named(const TempDir& dir, const std::string& file, const std::string& name_toml) {
  return write_command_plan(dir, file, name_toml, 2, 0);
}

// greentrain experiment submit PLAN --slurm OPTIONS...
std::vector<std::string> submit_command(const std::string& plan,
                                        const std::vector<std::string>& options) {
  std::vector<std::string> argv = {testing::greentrain_binary(), "experiment", "submit", plan,
                                   "--slurm"};
  argv.insert(argv.end(), options.begin(), options.end());
  return argv;
}

void make_executable(const std::string& path, const std::string& text) {
  write_file(path, text);
  fs::permissions(path, fs::perms::owner_all);
}

// Every file under `dir` whose name starts with PWNED (what the hostile values try to create).
std::vector<std::string> pwned_files(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind("PWNED", 0) == 0) found.push_back(e.path().string());
  return found;
}

const char* kHostileName = R"(x'; touch PWNED1; echo '$(touch PWNED2)`touch PWNED3`\"#)";

std::vector<std::string> hostile_options(const TempDir& dir) {
  return {"--partition",      "p$(touch PWNED5) --wrap=x",
          "--account",        "`touch PWNED6`",
          "--time",           "1:00:00;touch PWNED7",
          "--gres",           "g'\"; touch PWNED8",
          "--aggregate-time", "$(touch PWNED9)",
          "--scratch",        "$TMPDIR/a\"; touch PWNED10; \"",
          "--block-by",       "gpu",
          "--results",        dir / "res $(touch PWNED4)'\""};
}

// Stand-ins in `dir`: bin/sbatch records its arguments (one per line, in sbatch.log) and answers
// a job id; fake-gt records its own (one per line in brackets, in gt.log).
void make_stand_ins(const TempDir& dir) {
  fs::create_directories(dir / "bin");
  make_executable(dir / "bin/sbatch", fmt::format(R"(#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >> {}
echo 4242
)",
                                                  dir / "sbatch.log"));
  make_executable(dir / "fake-gt", fmt::format(R"(#!/bin/sh
for a in "$@"; do printf '[%s]\n' "$a"; done >> {}
)",
                                               dir / "gt.log"));
}

// Runs a job script with bash as array task 1 of job 7 would run, scratch under dir/tmp.
testing::ProcessResult run_as_task(const TempDir& dir, const std::string& script) {
  fs::create_directories(dir / "tmp");
  testing::ProcessOptions in_dir;
  in_dir.working_dir = dir.str();
  return run_process({"env", "SLURM_ARRAY_TASK_ID=1", "SLURM_JOB_ID=7", "TMPDIR=" + (dir / "tmp"),
                      "PATH=" + (dir / "bin") + ":" + std::getenv("PATH"), "bash", script},
                     in_dir);
}

// What the stand-in greentrain was called with must hold the values as single words: the plan
// path, the scratch folder, --block-by's value.
void expect_single_words(const TempDir& dir, const std::string& results) {
  const std::string calls = read_file(dir / "gt.log");
  EXPECT_NE(calls.find("[experiment]\n[run]\n[" + results + "/plan.toml]\n[--shard]\n[1/2]\n"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("[" + (dir / "tmp") + "/a\"; touch PWNED10; \"/greentrain-7/task-1.db]"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("[--block-by]\n[gpu]\n"), std::string::npos) << calls;
}

TEST(ScriptSafety, HostileValuesNeverRunWhenTheScriptsDo) {
  TempDir dir;
  const auto plan = plan_named(dir, "hostile.toml", kHostileName);
  make_stand_ins(dir);
  std::vector<std::string> options = {"--greentrain", dir / "fake-gt"};
  for (const auto& o : hostile_options(dir)) options.push_back(o);
  std::vector<std::string> argv = submit_command(plan, options);
  argv.insert(argv.begin(), {"env", "PATH=" + (dir / "bin") + ":" + std::getenv("PATH")});
  testing::ProcessOptions in_dir;
  in_dir.working_dir = dir.str();
  auto r = run_process(argv, in_dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string results = dir / "res $(touch PWNED4)'\"";
  ASSERT_TRUE(fs::exists(results + "/array.sbatch")) << r.out;
  EXPECT_NE(read_file(dir / "sbatch.log").find(results + "/array.sbatch\n"), std::string::npos);
  write_file(results + "/task-1.db", "");
  for (const char* script : {"/array.sbatch", "/aggregate.sbatch"}) {
    auto run = run_as_task(dir, results + script);
    EXPECT_EQ(run.code, 0) << script << ": " << run.err;
  }
  EXPECT_EQ(pwned_files(dir.str()), std::vector<std::string>{});
  expect_single_words(dir, results);
}

TEST(ScriptSafety, AHostileDryRunRunsNothingItDidNotMean) {
  TempDir dir;
  make_stand_ins(dir);
  auto dry = [&](const std::string& plan, std::vector<std::string> options) {
    options.insert(options.begin(), {"--dry-run", "--greentrain", dir / "fake-gt"});
    const auto argv = submit_command(plan, options);
    auto r = run_process(argv);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  };
  const std::string hostile = dry(plan_named(dir, "h.toml", kHostileName), hostile_options(dir));
  const std::string plain = dry(
      plan_named(dir, "p.toml", "plain"),
      {"--partition", "p", "--account", "a", "--time", "1:00:00", "--gres", "g", "--aggregate-time",
       "2:00:00", "--scratch", "/s", "--block-by", "gpu", "--results", dir / "plain"});
  auto lines = [](const std::string& text) { return std::count(text.begin(), text.end(), '\n'); };
  EXPECT_EQ(lines(hostile), lines(plain)) << hostile;
  const std::string results = dir / "res $(touch PWNED4)'\"";
  EXPECT_FALSE(fs::exists(results));  // a dry run writes nothing
  // The printed scripts and commands, run as Slurm and a node would run them.
  const auto a = hostile.find("#!/bin/bash");
  const auto b = hostile.find("#!/bin/bash", a + 1);
  const auto c = hostile.find("# ===== commands");
  write_file(dir / "array.sh", hostile.substr(a, b - a));
  write_file(dir / "agg.sh", hostile.substr(b, c - b));
  write_file(dir / "commands.sh", hostile.substr(c));
  fs::create_directories(results);
  write_file(results + "/task-1.db", "");
  for (const char* f : {"array.sh", "agg.sh", "commands.sh"}) {
    auto run = run_as_task(dir, dir / f);
    EXPECT_EQ(run.code, 0) << f << ": " << run.err;
  }
  EXPECT_EQ(pwned_files(dir.str()), std::vector<std::string>{});
  expect_single_words(dir, results);
  EXPECT_EQ(read_file(dir / "sbatch.log"),
            fmt::format("--parsable\n{0}/array.sbatch\n--dependency=afterok:4242\n"
                        "--kill-on-invalid-dep=yes\n{0}/aggregate.sbatch\n",
                        results));
}

TEST(ScriptSafety, ControlCharactersAreRefusedNamingTheKey) {
  TempDir dir;
  const auto plan = plan_named(dir, "p.toml", "plain");
  auto submit = [&](const std::string& key, const std::string& value) {
    auto argv = submit_command(plan, {"--dry-run", key, value});
    if (key != "--results") argv.insert(argv.end(), {"--results", dir / "r"});
    return run_process(argv);
  };
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"--partition", "gpu\n#SBATCH --exclusive"},
                                                        {"--account", "a\rb"},
                                                        {"--time", "1:00:00\ntouch x"},
                                                        {"--gres", "gpu:1\n"},
                                                        {"--aggregate-time", "\x1b[2J"},
                                                        {"--sbatch", "--mem=1G\ntouch x"},
                                                        {"--scratch", "/tmp\nrm -rf ~"},
                                                        {"--greentrain", "/bin/gt\nid"},
                                                        {"--results", dir / "r\nx"}}) {
    auto r = submit(key, value);
    EXPECT_EQ(r.code, 2) << key;
    EXPECT_EQ(r.err.find(fmt::format("greentrain: {}: contains a control character", key)), 0u)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << key;
  }
  // A plan name with a line break is refused for every verb that reads the plan.
  const auto bad = plan_named(dir, "bad.toml", "a\\nb");
  for (const char* verb : {"plan", "run", "submit"}) {
    std::vector<std::string> argv = {testing::greentrain_binary(), "experiment", verb, bad};
    if (std::string(verb) == "submit") argv.insert(argv.end(), {"--slurm", "--dry-run"});
    if (std::string(verb) == "run") argv.insert(argv.end(), {"--db", dir / "r.db"});
    auto r = run_process(argv);
    EXPECT_EQ(r.code, 1) << verb;
    EXPECT_EQ(r.err, fmt::format("greentrain: {}:1: plan.name contains a control character (byte "
                                 "0x0A, a line break); the name must be one line of text\n",
                                 bad))
        << verb;
  }
  EXPECT_FALSE(fs::exists(dir / "r.db"));
}

TEST(ScriptSafety, AnEditedSubmitStateIsRefusedBeforeUse) {
  TempDir dir;
  const auto plan = plan_named(dir, "p.toml", "plain");
  const std::string results = dir / "r";
  fs::create_directories(results);
  fs::copy_file(plan, results + "/plan.toml");
  for (const auto& [state, why] : std::vector<std::pair<std::string, std::string>>{
           {R"({"tasks": 100000000})", "tasks = 100000000: expected an integer in 1 .. 2"},
           {R"({"tasks": "2"})", R"(tasks = "2": expected an integer in 1 .. 2)"},
           {R"({"tasks": 2.5})", "tasks = 2.5: expected an integer in 1 .. 2"},
           {R"({"tasks": 2, "submissions": "x"})", "submissions is not a list"},
           {R"({"tasks": 2, "submissions": [7]})", "submission 7 is not an object"},
           {R"({"tasks": 2, "submissions": [{"array_job_id": 5}]})",
            "array_job_id = 5: expected a Slurm job id"},
           {R"({"tasks": 2, "submissions": [{"aggregate_job_id": "1; rm"}]})",
            R"(aggregate_job_id = "1; rm": expected a Slurm job id)"},
           {R"({"tasks": 2, "submissions": [{"tasks_submitted": [1, 99]}]})",
            "tasks_submitted = [1,99]: expected a list of task numbers in 1 .. 2"},
           {R"({"plan_hash": 3})", "plan_hash is not a string"}}) {
    write_file(results + "/submit.json", state);
    for (const bool status : {true, false}) {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = status ? run_process({testing::greentrain_binary(), "experiment", "status",
                                     "--slurm", results})
                      : run_process({testing::greentrain_binary(), "experiment", "submit", plan,
                                     "--slurm", "--dry-run", "--results", results});
      EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5);
      EXPECT_EQ(r.code, 1) << state;
      EXPECT_EQ(r.err.find(fmt::format("greentrain: {}/submit.json: {}", results, why)), 0u)
          << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
  }
}

}  // namespace
}  // namespace gt::experiment
