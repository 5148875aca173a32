// End-to-end tests of `greentrain experiment run|status|merge|init|plan` and `export` with a
// fake training script as a command workload: metrics from the JSON file and from stdout, a
// failing configuration recorded with its stderr and the experiment going on, resume after
// `kill -9` of the runner mid-run (no lost or duplicated rows), Ctrl-C (current run aborted,
// database consistent, resume replaces it), a changed plan refused (and --new), merge of
// shards and refusal of mismatched plans, the exported CSV; plans that grow (only new runs),
// --retry-failed (attempts kept), skipping a configuration that keeps failing, and the
// stopping rule on a workload with a known spread (stops early, whole blocks, target met, the
// same after kill -9 and resume).
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "experiment/plan.h"
#include "experiment/store.h"
#include "stats/ratio.h"
#include "stats/runs_table.h"

namespace gt::experiment {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

// Runs greentrain with arguments (shell words), capturing stdout+stderr.
testing::ProcessResult run_gt(const std::string& args) {
  testing::ProcessOptions merged;
  merged.merge_stderr = true;
  return testing::run_shell(testing::greentrain_binary() + " " + args, merged);
}

// Starts greentrain in the background (stdout and stderr to `log`); returns its pid.
pid_t spawn_gt(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {testing::greentrain_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::spawn_process(argv, log);
}

// A fake trainer: fp16 with batch 64 fails like an OOM (unless the 5th argument is "never", or
// while the file fail-<precision>-<batch> exists); fp32 writes the metrics file; every run
// prints stdout metrics; `sleep` seconds of "training"; touches started-<run> first.
constexpr const char* kFakeTrainer = R"sh(#!/bin/sh
precision=$1; batch=$2; sleep_s=$3; dir=$4; failing=$5
touch "$dir/started-$GREENTRAIN_RUN_ID"
sleep "$sleep_s"
if [ -e "$dir/fail-$precision-$batch" ] || { [ "$failing" = "oom" ] && [ "$precision" = "fp16" ] && [ "$batch" = "64" ]; }; then
  echo "RuntimeError: CUDA out of memory (fake)" >&2
  exit 3
fi
if [ "$precision" = "fp32" ]; then
  printf '{"test_accuracy": 0.875, "final_loss": 0.25, "samples_per_s": 1000}' > "$GREENTRAIN_METRICS_FILE"
else
  echo "greentrain-metric test_accuracy=0.75"
fi
echo "greentrain-metric final_loss=0.5"
echo "greentrain-metric fixed_j=2"
echo "greentrain-metric seed_seen=$GREENTRAIN_SEED"
)sh";

// `failing`: "oom" (fp16 with batch 64 always fails) or "never".
std::string make_plan(const TempDir& dir, double sleep_s, int repeats = 2,
                      const std::string& name = "fake", const std::string& extra = "",
                      const std::string& failing = "never",
                      const std::string& batch_sizes = "[32, 64]") {
  write_file(dir / "fake.sh", kFakeTrainer);
  std::filesystem::permissions(dir / "fake.sh", std::filesystem::perms::owner_all);
  std::string plan = dir / (name + ".toml");
  write_file(plan, fmt::format(R"(name = "{}"
[workload]
kind = "command"
command = "{} {{precision}} {{batch_size}} {} {} {}"
[factors]
precision = ["fp32", "fp16"]
batch_size = {}
[design]
repeats = {}
warmup_runs = 1
seed = 3
[meters]
gpus = "none"
interval_ms = 50
{})",
                               name, dir / "fake.sh", sleep_s, dir.path().string(), failing,
                               batch_sizes, repeats, extra));
  return plan;
}

std::vector<RunRecord> runs_of(const std::string& db, const std::string& name = "") {
  Store s(db, Store::Mode::read_only);
  return s.runs(s.experiment(name).id);
}

using testing::wait_for;

TEST(Runner, CommandWorkloadRecordsMetricsFailuresAndGoesOn) {
  TempDir dir;
  auto plan = make_plan(dir, 0.05, 2, "fake", "", "oom");
  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, dir / "r.db"));
  ASSERT_EQ(r.code, 1) << r.out;  // a run failed
  EXPECT_NE(r.out.find("2 runs of 'fake' failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--retry-failed"), std::string::npos) << r.out;
  auto runs = runs_of(dir / "r.db");
  ASSERT_EQ(runs.size(), 9u);  // 1 warm-up + 2 x 4
  int failed = 0;
  for (const auto& run : runs) {
    const auto precision = *run.factor("precision");
    if (precision == "fp16" && run.factor("batch_size") == "64") {
      ++failed;
      EXPECT_EQ(run.status, gt::RunStatus::failed);
      EXPECT_EQ(run.exit_code, 3);
      EXPECT_NE(run.stderr_tail.find("CUDA out of memory"), std::string::npos);
      continue;
    }
    EXPECT_EQ(run.status, gt::RunStatus::ok) << run.note;
    EXPECT_DOUBLE_EQ(run.metrics.at("final_loss"), 0.5);  // stdout wins over the file
    EXPECT_DOUBLE_EQ(run.metrics.at("test_accuracy"), precision == "fp32" ? 0.875 : 0.75);
    if (precision == "fp32") {
      EXPECT_DOUBLE_EQ(run.metrics.at("samples_per_s"), 1000);
    }
    EXPECT_DOUBLE_EQ(run.metrics.at("seed_seen"), static_cast<double>(run.seed));
    EXPECT_GT(*run.duration_s, 0.04);
  }
  EXPECT_EQ(failed, 2);
  EXPECT_NE(r.out.find("[9/9]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ETA"), std::string::npos);

  // Running again resumes: nothing left, nothing duplicated; the failures still say exit 1.
  auto again = run_gt(fmt::format("experiment run {} --db {}", plan, dir / "r.db"));
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("nothing to run"), std::string::npos) << again.out;
  EXPECT_EQ(runs_of(dir / "r.db").size(), 9u);

  auto status = run_gt(fmt::format("experiment status --db {}", dir / "r.db"));
  EXPECT_EQ(status.code, 0);
  EXPECT_NE(status.out.find("7 ok"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("2 failed"), std::string::npos) << status.out;

  auto exp = run_gt(fmt::format("export --db {} --csv {}", dir / "r.db", dir / "runs.csv"));
  ASSERT_EQ(exp.code, 0) << exp.out;
  auto csv = read_file(dir / "runs.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "run_id,block,repeat,status,warmup,precision,batch_size,duration_s,energy_j,"
            "gpu_energy_j,cpu_energy_j,ram_energy_j,wall_energy_j,net_energy_j,avg_power_w,"
            "peak_power_w,co2e_g,test_accuracy,final_loss,fixed_j,flagged_phases,"
            "outside_cpu_share,samples_per_s,seed_seen,started_at,finished_at,host,country,"
            "region,cpu_model,cpu_count,gpu_model,gpu_count,ram_total_gb,attribution,pue,"
            "gpu_power_limit_w,gpu_default_power_limit_w,gpu_min_power_limit_w,"
            "gpu_max_power_limit_w,gpu_app_sm_clock_mhz,gpu_app_memory_clock_mhz,"
            "gpu_max_sm_clock_mhz,gpu_max_memory_clock_mhz,gpu_persistence_mode,"
            "gpu_throttle_reasons");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 10);
}

TEST(Runner, ResumesAfterKill9WithoutLostOrDuplicatedRuns) {
  TempDir dir;
  auto plan = make_plan(dir, 0.3);
  const std::string db = dir / "k.db";
  pid_t pid = spawn_gt({"experiment", "run", plan, "--db", db}, dir / "log1.txt");
  // Wait until two runs are committed and a third is in flight, then kill -9.
  ASSERT_TRUE(wait_for(
      [&] { return std::filesystem::exists(dir / "started-4") && std::filesystem::exists(db); },
      30))
      << read_file(dir / "log1.txt");
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  auto partial = runs_of(db);
  EXPECT_GE(partial.size(), 3u);
  EXPECT_LT(partial.size(), 9u);

  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
  auto runs = runs_of(db);
  ASSERT_EQ(runs.size(), 9u);
  std::set<int> indices;
  for (const auto& run : runs) indices.insert(run.run_index);
  EXPECT_EQ(indices, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // The runs committed before the kill are unchanged (same row ids).
  for (size_t i = 0; i < partial.size(); ++i) EXPECT_EQ(runs[i].id, partial[i].id);
  Store s(db, Store::Mode::read_only);
  EXPECT_EQ(s.sessions(s.experiment("").id).size(), 2u);
}

TEST(Runner, CtrlCAbortsTheCurrentRunAndResumeReplacesIt) {
  TempDir dir;
  auto plan = make_plan(dir, 0.4);
  const std::string db = dir / "c.db";
  pid_t pid = spawn_gt({"experiment", "run", plan, "--db", db}, dir / "log.txt");
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "started-2"); }, 30))
      << read_file(dir / "log.txt");
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_file(dir / "log.txt");
  EXPECT_NE(read_file(dir / "log.txt").find("interrupted"), std::string::npos);
  auto runs = runs_of(db);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, gt::RunStatus::ok);
  EXPECT_EQ(runs[1].status, gt::RunStatus::aborted);
  EXPECT_LT(*runs[1].duration_s, 0.4 + 5);  // stopped, not waited for
  EXPECT_FALSE(std::filesystem::exists(dir / "started-3"));

  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  ASSERT_EQ(r.code, 0) << r.out;
  runs = runs_of(db);
  ASSERT_EQ(runs.size(), 9u);
  for (const auto& run : runs) EXPECT_NE(run.status, gt::RunStatus::aborted);
}

TEST(Runner, ChangedPlanIsRefusedNamingTheKeyUnlessNew) {
  TempDir dir;
  auto plan = make_plan(dir, 0.01);
  const std::string db = dir / "p.db";
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {}", plan, db)).code, 0);
  auto changed = make_plan(dir, 0.01, 2, "fake", "[carbon]\npue = 1.5\n");
  auto r = run_gt(fmt::format("experiment run {} --db {}", changed, db));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("different plan: carbon.pue: 1.0 in the database, 1.5 in the plan"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--new"), std::string::npos) << r.out;
  auto fewer = make_plan(dir, 0.01, 2, "fake", "", "never", "[32]");
  r = run_gt(fmt::format("experiment run {} --db {}", fewer, db));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("factors.batch_size: level 64 is in the database but not in the plan"),
            std::string::npos)
      << r.out;
  changed = make_plan(dir, 0.01, 2, "fake", "[carbon]\npue = 1.5\n");
  auto n = run_gt(fmt::format("experiment run {} --db {} --new", changed, db));
  ASSERT_EQ(n.code, 0) << n.out;
  EXPECT_EQ(runs_of(db, "fake-2").size(), 9u);
  EXPECT_EQ(runs_of(db, "fake").size(), 9u);
}

TEST(Runner, GrowingRepeatsAndLevelsRunsOnlyTheNewRuns) {
  TempDir dir;
  const std::string db = dir / "g.db";
  auto plan = make_plan(dir, 0.01);
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {}", plan, db)).code, 0);
  const auto before = runs_of(db);
  ASSERT_EQ(before.size(), 9u);

  // One more repeat and a third batch size: 4 old configurations x block 3, plus 2 new
  // configurations x blocks 1..3.
  auto grown = make_plan(dir, 0.01, 3, "fake", "", "never", "[32, 64, 128]");
  auto r = run_gt(fmt::format("experiment run {} --db {}", grown, db));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("grew: 2 new configurations"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("its 9 finished runs are kept"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10 ok, 0 failed"), std::string::npos) << r.out;
  const auto after = runs_of(db);
  ASSERT_EQ(after.size(), 19u);
  for (const auto& old : before) {
    auto it = std::find_if(after.begin(), after.end(),
                           [&](const RunRecord& x) { return x.id == old.id; });
    ASSERT_NE(it, after.end()) << "run " << old.run_index << " was lost";
    EXPECT_EQ(it->run_index, old.run_index);
    EXPECT_EQ(it->finished_at, old.finished_at);
    EXPECT_EQ(it->factors, old.factors);
  }
  std::map<int, std::set<std::string>> configs_of_block;
  std::map<int, std::set<std::int64_t>> seeds_of_block;
  std::set<int> indices;
  for (const auto& x : after) {
    indices.insert(x.run_index);
    if (x.warmup) continue;
    configs_of_block[x.block].insert(*x.factor("precision") + "/" + *x.factor("batch_size"));
    seeds_of_block[x.block].insert(x.seed);
  }
  EXPECT_EQ(indices.size(), after.size());
  ASSERT_EQ(configs_of_block.size(), 3u);
  for (const auto& [b, configs] : configs_of_block) {
    EXPECT_EQ(configs.size(), 6u) << "block " << b << " is not complete";
    EXPECT_EQ(seeds_of_block[b].size(), 1u) << "block " << b << " mixes training seeds";
  }
  auto again = run_gt(fmt::format("experiment run {} --db {}", grown, db));
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("nothing to run"), std::string::npos) << again.out;
  EXPECT_EQ(runs_of(db).size(), 19u);
}

TEST(Runner, RetryFailedRunsAgainKeepingTheFailedAttempts) {
  TempDir dir;
  const std::string db = dir / "f.db";
  auto plan = make_plan(dir, 0.01);
  write_file(dir / "fail-fp16-32", "");
  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  EXPECT_EQ(r.code, 1) << r.out;
  std::filesystem::remove(dir / "fail-fp16-32");
  auto plain = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  EXPECT_EQ(plain.code, 1) << "failed runs are not retried unasked: " << plain.out;
  EXPECT_NE(plain.out.find("nothing to run"), std::string::npos) << plain.out;

  const auto failed_before = runs_of(db);
  auto retry = run_gt(fmt::format("experiment run {} --db {} --retry-failed", plan, db));
  ASSERT_EQ(retry.code, 0) << retry.out;
  EXPECT_NE(retry.out.find("2 ok, 0 failed"), std::string::npos) << retry.out;
  const auto runs = runs_of(db);
  ASSERT_EQ(runs.size(), 9u);
  for (const auto& x : runs) EXPECT_EQ(x.status, gt::RunStatus::ok);
  Store s(db, Store::Mode::read_only);
  const auto attempts = s.attempts(s.experiment("").id);
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.status, gt::RunStatus::failed);
    EXPECT_EQ(a.exit_code, 3);
    EXPECT_NE(a.stderr_tail.find("out of memory"), std::string::npos);
    auto now = std::find_if(runs.begin(), runs.end(),
                            [&](const RunRecord& x) { return x.run_index == a.run_index; });
    ASSERT_NE(now, runs.end());
    EXPECT_EQ(now->block, a.block) << "retried in its own block";
    EXPECT_EQ(now->seed, a.seed) << "retried with the same seed";
    EXPECT_EQ(*now->factor("precision"), "fp16");
  }
}

TEST(Runner, AConfigurationFailingTwiceInARowIsSkippedForTheSession) {
  TempDir dir;
  const std::string db = dir / "s.db";
  auto plan = make_plan(dir, 0.01, 4, "fake", "", "oom");
  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("skipping precision=fp16 batch_size=64 for the rest of this session: it "
                       "failed 2 times in a row (design.max_failures = 2)"),
            std::string::npos)
      << r.out;
  auto count_failed = [&] {
    int n = 0;
    for (const auto& x : runs_of(db)) n += x.status == gt::RunStatus::failed;
    return n;
  };
  EXPECT_EQ(count_failed(), 2);
  EXPECT_EQ(runs_of(db).size(), 1u + 4u * 4u - 2u);
  // The next session tries it again (twice more at most).
  auto next = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  EXPECT_EQ(next.code, 1);
  EXPECT_EQ(count_failed(), 4);
  EXPECT_EQ(runs_of(db).size(), 17u);
}

// A workload with a known spread: work_j = base * (1 + 0.02 * z), z ~ approx. N(0, 1) from awk's
// generator seeded by the block's training seed, base 100 (fp32) or 80 (bf16). The values
// depend only on (block, configuration), so a resumed experiment sees the same numbers.
constexpr const char* kJitter = R"sh(#!/bin/sh
touch "$2/started-$GREENTRAIN_RUN_ID"
sleep "$3"
awk -v s="$GREENTRAIN_SEED" -v p="$1" -v cv="${4:-0.02}" 'BEGIN {
  srand(s + (p == "bf16" ? 7 : 0)); z = -6; for (i = 0; i < 12; i++) z += rand()
  printf "greentrain-metric work_j=%.6f\n", (p == "bf16" ? 80 : 100) * exp(cv * z) }'
)sh";

std::string jitter_plan(const TempDir& dir, double sleep_s, const std::string& design,
                        double cv = 0.02) {
  write_file(dir / "jitter.sh", kJitter);
  std::filesystem::permissions(dir / "jitter.sh", std::filesystem::perms::owner_all);
  const std::string plan = dir / "jitter.toml";
  write_file(plan, fmt::format(R"(name = "jitter"
[workload]
kind = "command"
command = "{} {{precision}} {} {} {}"
[factors]
precision = ["fp32", "bf16"]
[design]
warmup_runs = 1
seed = 5
{}
[meters]
gpus = "none"
interval_ms = 50
store_samples = false
)",
                               dir / "jitter.sh", dir.path().string(), sleep_s, cv, design));
  return plan;
}

// The blocks found in a database: block -> {precision -> work_j}.
std::map<int, std::map<std::string, double>> blocks_of(const std::string& db) {
  std::map<int, std::map<std::string, double>> out;
  for (const auto& r : runs_of(db))
    if (!r.warmup && r.status == gt::RunStatus::ok)
      out[r.block][*r.factor("precision")] = r.metrics.at("work_j");
  return out;
}

double widest_halfwidth(const std::map<int, std::map<std::string, double>>& blocks, int upto) {
  std::vector<double> fp32, bf16;
  for (const auto& [b, v] : blocks)
    if (b <= upto) {
      fp32.push_back(v.at("fp32"));
      bf16.push_back(v.at("bf16"));
    }
  return stats::log_ratio_interval(bf16, fp32).halfwidth_pct;
}

int stopped_after(const std::string& out) {
  const auto at = out.find("stopping rule met after ");
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 24);
}

TEST(Runner, StoppingRuleAddsWholeBlocksUntilTheIntervalsArePrecise) {
  TempDir dir;
  const std::string db = dir / "stop.db";
  // Three repeats first, as a new user would; then --until-ci 2 grows the same experiment.
  auto plan = jitter_plan(dir, 0, "repeats = 3");
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {}", plan, db)).code, 0);
  const auto first = runs_of(db);
  ASSERT_EQ(first.size(), 7u);
  auto r = run_gt(fmt::format(
      "experiment run {} --db {} --until-ci 2 --max-repeats 30 --stop-metric work_j", plan, db));
  ASSERT_EQ(r.code, 0) << r.out;
  const int stop = stopped_after(r.out);
  ASSERT_GT(stop, 3) << r.out;
  EXPECT_LT(stop, 30) << "stops before max_repeats";
  EXPECT_NE(r.out.find("after block 3: widest 95 % interval"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("more blocks needed (27 more at most)"), std::string::npos) << r.out;
  const auto blocks = blocks_of(db);
  ASSERT_EQ(static_cast<int>(blocks.size()), stop);
  for (const auto& [b, v] : blocks) EXPECT_EQ(v.size(), 2u) << "block " << b << " incomplete";
  EXPECT_LE(widest_halfwidth(blocks, stop), 2.0);
  EXPECT_GT(widest_halfwidth(blocks, stop - 1), 2.0) << "it should have stopped a block earlier";
  const auto all = runs_of(db);
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(all[i].id, first[i].id) << "a run was lost";

  // The same rule written in the plan, killed with -9 mid-way and resumed: the same blocks,
  // the same values, the same decision.
  TempDir dir2;
  const std::string db2 = dir2 / "stop.db";
  auto plan2 = jitter_plan(dir2, 0.15,
                           "repeats = 3\n[design.stop]\nmetric = \"work_j\"\n"
                           "ci_halfwidth_pct = 2\nmax_repeats = 30");
  pid_t pid = spawn_gt({"experiment", "run", plan2, "--db", db2}, dir2 / "log.txt");
  const std::string mid = dir2 / fmt::format("started-{}", stop + 2);
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(mid); }, 60))
      << read_file(dir2 / "log.txt");
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_LT(runs_of(db2).size(), all.size());
  auto resumed = run_gt(fmt::format("experiment run {} --db {}", plan2, db2));
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  EXPECT_EQ(stopped_after(resumed.out), stop) << resumed.out;
  EXPECT_EQ(blocks_of(db2), blocks);
  auto again = run_gt(fmt::format("experiment run {} --db {}", plan2, db2));
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("0 ok, 0 failed"), std::string::npos) << again.out;
  EXPECT_EQ(stopped_after(again.out), stop) << again.out;
}

TEST(Runner, StoppingRuleIsNotMetWhileAConfigurationIsSkippedAndNeedsTheBenchmark) {
  TempDir dir;
  // fixed_j is the same in every run: each interval is exact, so the configurations that ran
  // are precise at the first check; the one that keeps failing has no interval, so the rule
  // stops there without saying it was met.
  const std::string stop = "[design.stop]\nmetric = \"fixed_j\"\nmin_repeats = 3\n";
  auto plan = make_plan(dir, 0.01, 3, "fake", stop, "oom");
  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, dir / "a.db"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("skipping precision=fp16 batch_size=64"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("stopping rule met"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped after 3 blocks without meeting the stopping rule: "
                       "precision=fp16 batch_size=64 skipped after repeated failures, so it has "
                       "no interval (the others are precise enough"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(runs_of(dir / "a.db").size(), 1u + 3u * 4u - 1u);

  TempDir dir2;
  plan = make_plan(dir2, 0.01, 3, "fake", stop);
  write_file(dir2 / "fail-fp32-32", "");  // the benchmark
  r = run_gt(fmt::format("experiment run {} --db {}", plan, dir2 / "b.db"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("the benchmark was skipped after repeated failures"), std::string::npos)
      << r.out;
}

// A workload disturbed like runs on a busy machine (CV 25 %): after 3 blocks a +-2 % interval
// would take dozens more blocks, even with an optimistic spread, and max_repeats leaves 7; the
// rule stops there with one line saying what it reached, what it would take and how to go on.
TEST(Runner, StoppingRuleStopsWhenItCannotSucceedInTheBlocksLeft) {
  TempDir dir;
  const std::string db = dir / "futile.db";
  auto plan = jitter_plan(dir, 0,
                          "repeats = 3\n[design.stop]\nmetric = \"work_j\"\n"
                          "ci_halfwidth_pct = 2\nmax_repeats = 10",
                          0.25);
  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, db));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped after 3 blocks: the stopping rule cannot be met within "
                       "max_repeats = 10: widest 95 % interval"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("even if the spread were as small as its 90 % lower bound), 7 left; to "
                       "go on: --max-repeats "),
            std::string::npos)
      << r.out;
  EXPECT_EQ(blocks_of(db).size(), 3u) << "no block after the rule knew it could not succeed";
  EXPECT_NE(r.out.find("7 runs planned: 7 ok, 0 failed, 0 aborted, 0 left (complete)"),
            std::string::npos)
      << r.out;
  auto status = run_gt(fmt::format("experiment status --db {}", db));
  EXPECT_NE(status.out.find("7 runs planned: 7 ok, 0 failed, 0 aborted, 0 left (complete)"),
            std::string::npos)
      << status.out;
}

// A training phase far shorter than the GPU counter's update period (the fake GPU steps every
// 100 ms like a real one): after the warm-up the runner knows the meter cannot resolve the phase
// to +-1 % within max_repeats and stops at once, saying why and what to change, instead of
// running blocks it cannot succeed with.
TEST(Runner, AStopTargetTheMeterCannotResolveIsRefusedAfterTheWarmUp) {
  TempDir dir;
  write_file(dir / "nvml.txt", "gpus=1\ngpu0.power_w=200\ngpu0.step_ms=100\n");
  const std::string plan = dir / "short.toml";
  write_file(plan, R"(name = "short"
[workload]
kind = "command"
command = "sh -c 'echo phase train begin >&3; sleep 0.02; echo phase train end >&3; true {precision}'"
[factors]
precision = ["fp32", "bf16"]
[design]
warmup_runs = 1
[design.stop]
metric = "train_energy_j"
ci_halfwidth_pct = 1
max_repeats = 15
[meters]
gpus = "0"
interval_ms = 50
)");
  const std::string env = fmt::format("GREENTRAIN_NVML_LIB={} GREENTRAIN_FAKE_NVML={} ",
                                      FAKE_NVML_PATH, dir / "nvml.txt");
  auto r = testing::run_shell(
      env + testing::greentrain_binary() + " experiment run " + plan + " --db " + (dir / "s.db"),
      [] {
        testing::ProcessOptions o;
        o.merge_stderr = true;
        return o;
      }());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("the stopping rule cannot be met: the train phase lasts"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("min_phase_s"), std::string::npos) << r.out;
  const auto runs = runs_of(dir / "s.db");
  ASSERT_EQ(runs.size(), 1u) << "only the warm-up ran";
  EXPECT_TRUE(runs[0].warmup);
  // `experiment plan` says the same before a run, and from the pilot run once there is one.
  auto p = run_gt("experiment plan " + plan + " --db " + (dir / "s.db"));
  EXPECT_NE(p.out.find("for +-1 % within 15 blocks the phase of train_energy_j must last at "
                       "least 179 ms"),
            std::string::npos)
      << p.out;
  EXPECT_NE(p.out.find("pilot runs: the stopping rule cannot be met: the train phase lasts"),
            std::string::npos)
      << p.out;
}

TEST(Runner, AStopMetricThatCanBeZeroOrNegativeIsRefusedBeforeAnyRun) {
  TempDir dir;
  auto plan = jitter_plan(dir, 0, "repeats = 3");
  auto r = run_gt(fmt::format("experiment run {} --db {} --until-ci 2 --stop-metric final_loss",
                              plan, dir / "z.db"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("'final_loss' can be zero or negative"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "started-1")) << "a run started";
}

// Growing a plan keeps it balanced: a configuration added after 4 blocks runs in all 4, even
// when the plan now says repeats = 3; status and the session summary count the same runs.
TEST(Runner, AGrownPlanStaysBalancedAndStatusAddsUp) {
  TempDir dir;
  const std::string db = dir / "b.db";
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {}", make_plan(dir, 0.01, 4), db)).code, 0);
  auto grown = make_plan(dir, 0.01, 3, "fake", "", "never", "[32, 64, 128]");
  auto r = run_gt(fmt::format("experiment run {} --db {}", grown, db));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("grew: 2 new configurations (precision=fp32 batch_size=128, "
                       "precision=fp16 batch_size=128) in blocks 1..4"),
            std::string::npos)
      << r.out;
  std::map<int, int> per_block;
  for (const auto& x : runs_of(db))
    if (!x.warmup) ++per_block[x.block];
  EXPECT_EQ(per_block, (std::map<int, int>{{1, 6}, {2, 6}, {3, 6}, {4, 6}}));
  const std::string done = "25 runs planned: 25 ok, 0 failed, 0 aborted, 0 left (complete)";
  EXPECT_NE(r.out.find(done), std::string::npos) << r.out;
  auto status = run_gt(fmt::format("experiment status --db {}", db));
  EXPECT_NE(status.out.find(done), std::string::npos) << status.out;
  auto analysis = run_gt(fmt::format("analyze --db {} --format json 2>/dev/null", db));
  ASSERT_EQ(analysis.code, 0) << analysis.out;
  EXPECT_EQ(nlohmann::json::parse(analysis.out)["balance"]["balanced"], true);
}

// With a configuration skipped after failures, status and the session summary give the same
// counts, and each adds up: planned = ok + failed + aborted + left, never negative.
TEST(Runner, StatusAndTheSessionSummaryCountTheSameRuns) {
  TempDir dir;
  const std::string db = dir / "c.db";
  auto r = run_gt(
      fmt::format("experiment run {} --db {}", make_plan(dir, 0.01, 4, "fake", "", "oom"), db));
  EXPECT_EQ(r.code, 1) << r.out;
  auto status = run_gt(fmt::format("experiment status --db {}", db));
  const std::string counts = "17 runs planned: 13 ok, 2 failed, 0 aborted, 2 left";
  EXPECT_NE(r.out.find(counts), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(2 of them in configurations skipped this session)"), std::string::npos)
      << r.out;
  EXPECT_NE(status.out.find(counts), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("fewer runs finished in precision=fp16 batch_size=64 (2 of 4)"),
            std::string::npos)
      << status.out;
}

TEST(Runner, StoppingRuleNamesAMissingMetricAndKeepsTheRuns) {
  TempDir dir;
  auto plan = jitter_plan(dir, 0,
                          "repeats = 2\n[design.stop]\nmetric = \"no_such_j\"\n"
                          "ci_halfwidth_pct = 2");
  auto r = run_gt(fmt::format("experiment run {} --db {}", plan, dir / "m.db"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("design.stop.metric: no finished run reports the metric 'no_such_j'"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(runs_of(dir / "m.db").size(), 5u);
  auto shard = run_gt(fmt::format("experiment run {} --db {} --shard 1/2", plan, dir / "n.db"));
  EXPECT_EQ(shard.code, 2);
  EXPECT_NE(shard.out.find("--shard with a stopping rule"), std::string::npos) << shard.out;
}

TEST(Runner, ShardsMergeIntoTheWholeExperimentAndMismatchedPlansAreRefused) {
  TempDir dir;
  auto plan = make_plan(dir, 0.01);
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {} --shard 1/2", plan, dir / "s1.db")).code,
            0);
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {} --shard 2/2", plan, dir / "s2.db")).code,
            0);
  auto m = run_gt(
      fmt::format("experiment merge {} {} {}", dir / "all.db", dir / "s1.db", dir / "s2.db"));
  ASSERT_EQ(m.code, 0) << m.out;
  auto runs = runs_of(dir / "all.db");
  ASSERT_EQ(runs.size(), 9u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(runs[i].run_index, i + 1);

  TempDir other;
  auto plan2 = make_plan(other, 0.01, 3, "fake", "[carbon]\nintensity = 100\n");
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {}", plan2, other / "o.db")).code, 0);
  auto bad = run_gt(
      fmt::format("experiment merge {} {} {}", dir / "bad.db", dir / "s1.db", other / "o.db"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("different plan"), std::string::npos) << bad.out;
}

TEST(Runner, BuiltinWorkloadTrainsInAMeteredChildProcess) {
  // A tiny CSV data set keeps the real `greentrain train` child fast.
  TempDir dir;
  std::string train = "a,b,label\n", test = "a,b,label\n";
  for (int i = 0; i < 120; ++i)
    (i < 100 ? train : test) +=
        fmt::format("{},{},{}\n", (i % 2) + 0.1 * (i % 7), 0.3 * (i % 5), i % 2);
  write_file(dir / "train.csv", train);
  write_file(dir / "test.csv", test);
  write_file(dir / "b.toml", fmt::format(R"(name = "b"
[workload]
kind = "builtin"
dataset = "csv:{},{}"
device = "cpu"
validation = 0.2
[factors]
precision = ["fp32", "bf16"]
batch_size = [16]
neurons = [8]
epochs = [2]
[design]
repeats = 2
warmup_runs = 0
idle_baseline_s = 0.2
[meters]
gpus = "none"
[analysis]
target_accuracy = 0.01
)",
                                         dir / "train.csv", dir / "test.csv"));
  auto r = run_gt(fmt::format("experiment run {} --db {}", dir / "b.toml", dir / "b.db"));
  ASSERT_EQ(r.code, 0) << r.out;
  auto runs = runs_of(dir / "b.db");
  ASSERT_EQ(runs.size(), 4u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, gt::RunStatus::ok) << run.note << run.stderr_tail;
    EXPECT_EQ(run.command.rfind("greentrain train --json", 0), 0u) << run.command;
    EXPECT_NE(run.command.find("--model mlp:8"), std::string::npos) << run.command;
    EXPECT_TRUE(run.metrics.count("test_accuracy"));
    EXPECT_TRUE(run.metrics.count("final_loss"));
    EXPECT_FALSE(run.energy.empty()) << "the runner meters the child";
    for (const auto& e : run.energy)
      EXPECT_TRUE(e.source == gt::Source::measured || e.source == gt::Source::estimated);
    // The trainer marks each epoch inside train and reports its validation accuracy there.
    int epochs = 0;
    for (const auto& p : run.phases)
      if (p.name == "epoch") {
        ++epochs;
        EXPECT_EQ(p.parent, "train");
        EXPECT_TRUE(p.metrics.count("val_accuracy")) << p.occurrence;
      }
    EXPECT_EQ(epochs, 2);
    // The load on the machine while its idle baseline was measured, recorded with each run.
    ASSERT_TRUE(run.metrics.count("idle_cpu_busy_share"));
    EXPECT_GE(run.metrics.at("idle_cpu_busy_share"), 0);
    EXPECT_LE(run.metrics.at("idle_cpu_busy_share"), 1);
  }
  // Every epoch reports an accuracy above 0.01: each run reaches it in its first epoch.
  Store store(dir / "b.db", Store::Mode::read_only);
  const std::string csv = runs_csv(store, "b");
  EXPECT_NE(csv.find(",energy_to_target_j,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",epochs_to_target,"), std::string::npos) << csv;
  Store s(dir / "b.db", Store::Mode::read_only);
  auto e = s.experiment("b");
  EXPECT_FALSE(s.idle_baselines(e.id).empty());
  EXPECT_TRUE(e.environment.contains("energy"));
  EXPECT_TRUE(e.environment.contains("cpu_model"));
}

// A script that marks `epoch` windows and reports val_accuracy inside each, with known
// accuracies: fp32 0.70, 0.90, 0.95 (reaches the target 0.85 in its second epoch), bf16 0.60,
// 0.70, 0.75 (never). energy_to_target_j is the energy of the epochs up to the first at or
// above the target; runs that never reach it are counted (target_reached = 0), not dropped;
// epochs are counted from the phases; analyze treats it like any metric.
constexpr const char* kEpochs = R"sh(#!/bin/sh
g=$2
if [ "$1" = "fp32" ]; then accuracies="0.70 0.90 0.95"; else accuracies="0.60 0.70 0.75"; fi
for a in $accuracies; do
  "$g" mark epoch begin
  sleep 0.05
  "$g" mark --metric val_accuracy=$a
  "$g" mark epoch end
done
)sh";

TEST(Runner, EnergyToTargetOnAWorkloadWithKnownPerEpochAccuracy) {
  TempDir dir;
  write_file(dir / "epochs.sh", kEpochs);
  std::filesystem::permissions(dir / "epochs.sh", std::filesystem::perms::owner_all);
  write_file(dir / "e.toml", fmt::format(R"(name = "e"
[workload]
kind = "command"
command = "{} {{precision}} {}"
[factors]
precision = ["fp32", "bf16"]
[design]
repeats = 2
warmup_runs = 0
[meters]
gpus = "none"
interval_ms = 50
store_samples = false
[analysis]
target_accuracy = 0.85
)",
                                         dir / "epochs.sh", testing::greentrain_binary()));
  const std::string db = dir / "e.db";
  auto r = run_gt(fmt::format("experiment run {} --db {}", dir / "e.toml", db));
  ASSERT_EQ(r.code, 0) << r.out;
  Store store(db, Store::Mode::read_only);
  const auto runs = store.runs(store.experiment("e").id);
  ASSERT_EQ(runs.size(), 4u);
  std::istringstream csv(runs_csv(store, "e"));
  const auto table = stats::read_runs_csv(csv, {"precision"}, "e");
  ASSERT_EQ(table.rows.size(), 4u);
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    const auto& row = table.rows[i];
    ASSERT_EQ(row.run_id, std::to_string(run.run_index));
    std::vector<double> energy;  // the epochs, in order
    for (const auto& p : run.phases)
      if (p.name == "epoch") energy.push_back(p.energy_j);
    ASSERT_EQ(energy.size(), 3u);
    EXPECT_EQ(row.metrics.at("epochs"), 3);
    if (*run.factor("precision") == "fp32") {
      EXPECT_EQ(row.metrics.at("target_reached"), 1);
      EXPECT_EQ(row.metrics.at("epochs_to_target"), 2);
      EXPECT_NEAR(row.metrics.at("energy_to_target_j"), energy[0] + energy[1],
                  1e-6 * (energy[0] + energy[1]));
    } else {
      EXPECT_EQ(row.metrics.at("target_reached"), 0);
      EXPECT_FALSE(row.metrics.count("energy_to_target_j"));
    }
  }
  auto a = run_gt(
      fmt::format("analyze --db {} --metric energy_to_target_j --format json 2>/dev/null", db));
  ASSERT_EQ(a.code, 0) << a.out;
  const auto j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["primary_metric"], "energy_to_target_j");
  EXPECT_EQ(j["target_not_reached"][0]["missed"], 2);
  EXPECT_EQ(j["target_not_reached"][0]["of"], 2);
  EXPECT_NE(j["notes"].dump().find("energy_to_target_j: runs that never reached the target"),
            std::string::npos)
      << j["notes"].dump();
}

// Runs beside CPU hogs (one busy loop per CPU, outside the runs' process trees) record the load
// outside them; the analysis and the report mark them as contended.
TEST(Runner, RunsBesideACpuHogAreFlaggedAsContended) {
  TempDir dir;
  const std::string db = dir / "hog.db";
  write_file(dir / "h.toml", R"(name = "h"
[workload]
kind = "command"
command = "sleep 0.4 # {precision}"
[factors]
precision = ["fp32", "bf16"]
[design]
repeats = 2
warmup_runs = 0
[meters]
gpus = "none"
interval_ms = 50
)");
  std::vector<pid_t> hogs;
  for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i)
    hogs.push_back(testing::spawn_process({"sh", "-c", "while :; do :; done"}, dir / "hog.log"));
  auto r = run_gt(fmt::format("experiment run {} --db {}", dir / "h.toml", db));
  for (pid_t pid : hogs) {
    kill(pid, SIGKILL);
    testing::wait_process(pid);
  }
  ASSERT_EQ(r.code, 0) << r.out;
  for (const auto& run : runs_of(db)) {
    ASSERT_TRUE(run.metrics.count("outside_cpu_share")) << run.run_index;
    EXPECT_GT(run.metrics.at("outside_cpu_share"), 0.5) << run.run_index;
  }
  auto a = run_gt(fmt::format("analyze --db {} --format json 2>/dev/null", db));
  ASSERT_EQ(a.code, 0) << a.out;
  const auto j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["contended_runs"].size(), 4u) << j["contended_runs"].dump();
  EXPECT_NE(j["notes"].dump().find("contended: 4 runs"), std::string::npos) << j["notes"].dump();
  auto report = run_gt(fmt::format("report --db {} --html {}", db, dir / "h.html"));
  ASSERT_EQ(report.code, 0) << report.out;
  // The runs are listed in the report's table (its header only shows above listed runs).
  EXPECT_NE(read_file(dir / "h.html").find("CPU busy outside the run"), std::string::npos);
}

TEST(Runner, ExportRoundTripsThroughAnalyze) {
  TempDir dir;
  auto plan = make_plan(dir, 0.01, 3);
  const std::string db = dir / "a.db";
  ASSERT_EQ(run_gt(fmt::format("experiment run {} --db {}", plan, db)).code, 0);
  ASSERT_EQ(run_gt(fmt::format("export --db {} --csv {}", db, dir / "runs.csv")).code, 0);
  auto from_csv = run_gt(fmt::format(
      "analyze --input {} --factors precision,batch_size --baseline precision=fp32,batch_size=32 "
      "--metric duration_s --format json -o {}",
      dir / "runs.csv", dir / "csv.json"));
  ASSERT_EQ(from_csv.code, 0) << from_csv.out;
  auto from_db =
      run_gt(fmt::format("analyze --db {} --baseline precision=fp32,batch_size=32 "
                         "--metric duration_s --format json -o {}",
                         db, dir / "db.json"));
  ASSERT_EQ(from_db.code, 0) << from_db.out;
  auto a = nlohmann::json::parse(read_file(dir / "csv.json"));
  auto b = nlohmann::json::parse(read_file(dir / "db.json"));
  // The analysis of the exported file is the analysis of the database (source names aside).
  for (auto* j : {&a, &b})
    for (const char* k : {"input", "source", "experiment", "generated_at"}) j->erase(k);
  EXPECT_EQ(a.dump(), b.dump());
}

TEST(Cli, InitCommandWritesAPlanWhoseFactorsAreThePlaceholders) {
  TempDir dir;
  auto init = run_gt(fmt::format(
      "experiment init --command 'python3 train.py --amp {{precision}} --bs {{batch_size}} "
      "--opt {{opt_level}} --seed {{seed}}' {}",
      dir / "amp.toml"));
  ASSERT_EQ(init.code, 0) << init.out;
  EXPECT_NE(init.out.find("(from your command)"), std::string::npos) << init.out;
  const auto plan = parse_plan(read_file(dir / "amp.toml"), "amp.toml");
  EXPECT_EQ(plan.name, "amp");
  EXPECT_EQ(plan.workload.kind, "command");
  EXPECT_EQ(plan.workload.command,
            "python3 train.py --amp {precision} --bs {batch_size} --opt {opt_level} --seed {seed}");
  ASSERT_EQ(plan.factors.size(), 3u);  // {seed} is the run's own, not a factor
  EXPECT_EQ(plan.factors[0].name, "precision");
  EXPECT_EQ(plan.factors[0].levels, (std::vector<std::string>{"fp32", "bf16"}));
  EXPECT_EQ(plan.factors[1].name, "batch_size");
  EXPECT_EQ(plan.factors[2].name, "opt_level");
  EXPECT_EQ(plan.benchmark[0].second, "fp32");
  EXPECT_NE(read_file(dir / "amp.toml").find("greentrain-metric epochs="), std::string::npos);
  auto none =
      run_gt(fmt::format("experiment init --command 'python3 train.py' {}", dir / "n.toml"));
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.out.find("names no factor"), std::string::npos) << none.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "n.toml"));
}

TEST(Cli, ACommandWithoutDashDashSaysWhereToPutIt) {
  auto r = run_gt("measure python3 -c 'print(1)'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("put `--` before the command: greentrain measure [options] -- COMMAND"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
}

TEST(Cli, InitPlanAndUsageErrors) {
  TempDir dir;
  auto init = run_gt(fmt::format("experiment init --from paper {}", dir / "p.toml"));
  ASSERT_EQ(init.code, 0) << init.out;
  const std::string src = testing::source_dir().string();
  EXPECT_EQ(read_file(dir / "p.toml"), read_file(src + "/examples/paper.toml"));
  EXPECT_EQ(run_gt(fmt::format("experiment init {}", dir / "p.toml")).code, 2);  // exists
  auto plan = run_gt(fmt::format("experiment plan {} --db {}", dir / "p.toml", dir / "none.db"));
  ASSERT_EQ(plan.code, 0) << plan.out;
  EXPECT_NE(plan.out.find("18 configurations"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("181 runs"), std::string::npos) << plan.out;
  write_file(dir / "bad.toml",
             "name = \"x\"\n[workload]\nkind = \"builtin\"\n[factors]\nepochs = []\n");
  auto bad = run_gt(fmt::format("experiment plan {}", dir / "bad.toml"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("bad.toml:5: factors.epochs is an empty list"), std::string::npos)
      << bad.out;
  EXPECT_EQ(run_gt("experiment run").code, 2);
  EXPECT_EQ(run_gt(fmt::format("export --db {} --csv x.csv", dir / "missing.db")).code, 1);
  EXPECT_EQ(run_gt("experiment run x.toml --shard 3/2").code, 2);
  auto big = run_gt(fmt::format("experiment run {} --until-ci 2 --max-repeats 99999 --db {}",
                                dir / "p.toml", dir / "big.db"));
  EXPECT_EQ(big.code, 2);
  EXPECT_NE(big.out.find("runs at most"), std::string::npos) << big.out;
}

}  // namespace
}  // namespace gt::experiment
