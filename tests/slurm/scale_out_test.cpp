// Unit tests of the scale-out pieces that need no cluster: the --array specification, the job
// scripts of `experiment submit --slurm --dry-run` (checked with bash -n), its refusals (more
// tasks than blocks, another plan in the results folder, no --slurm), `status --slurm` on a
// folder that is not one, publishing a live database, and how CUDA_VISIBLE_DEVICES becomes
// NVML boards (by UUID; CUDA's numbering through the driver; NVML's only as a noted fallback).
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "common/error.h"
#include "common/locations.h"
#include "common/scoped_env.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "experiment/environment.h"
#include "experiment/lanes.h"
#include "experiment/publish.h"
#include "experiment/slurm.h"
#include "experiment/store.h"
#include "plan_files.h"

namespace gt::experiment {
namespace {

using gt::testing::run_process;
using gt::testing::TempDir;
using gt::testing::write_file;

std::string gt_binary() { return gt::testing::greentrain_binary(); }

std::string write_plan(const TempDir& dir, int repeats, const std::string& name = "scale") {
  return write_command_plan(dir, name + ".toml", name, repeats);
}

TEST(ScaleOut, ArraySpecCompressesRangesAndAddsTheThrottle) {
  EXPECT_EQ(array_spec({1, 2, 3}, 0), "1-3");
  EXPECT_EQ(array_spec({1, 2, 3}, 2), "1-3%2");
  EXPECT_EQ(array_spec({2, 5, 6, 7, 9}, 0), "2,5-7,9");
  EXPECT_EQ(array_spec({4}, 1), "4%1");
}

TEST(ScaleOut, DryRunPrintsValidScriptsAndWritesNothing) {
  TempDir dir;
  const auto plan = write_plan(dir, 4);
  const std::string results = dir / "res";
  auto r = run_process({gt_binary(),   "experiment",  "submit",
                        plan,          "--slurm",     "--dry-run",
                        "--results",   results,       "--tasks",
                        "2",           "--throttle",  "1",
                        "--partition", "gpu",         "--account",
                        "proj",        "--time",      "1:00:00",
                        "--gres",      "gpu:2",       "--cpus-per-task",
                        "4",           "--exclusive", "--sbatch",
                        "--mem=8G",    "--sbatch",    "#SBATCH --qos=low",
                        "--block-by",  "gpu",         "--retry-failed"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  for (const char* line :
       {"#SBATCH --array=1-2%1", "#SBATCH --partition=gpu", "#SBATCH --account=proj",
        "#SBATCH --time=1:00:00", "#SBATCH --gres=gpu:2", "#SBATCH --cpus-per-task=4",
        "#SBATCH --exclusive", "#SBATCH --mem=8G", "#SBATCH --qos=low", "--shard \"$task/2\"",
        "export CUDA_DEVICE_ORDER=PCI_BUS_ID", "--block-by gpu",
        "--dependency=afterok:$ARRAY_JOB_ID --kill-on-invalid-dep=yes", "experiment merge",
        "--failed-runs-ok --retry-failed"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  EXPECT_FALSE(std::filesystem::exists(results));
  // Both scripts parse as bash.
  auto split = [&](const std::string& from, const std::string& to) {
    auto a = r.out.find(from);
    auto b = r.out.find(to, a);
    return r.out.substr(a, b - a);
  };
  write_file(dir / "array.sh", split("#!/bin/bash", "# ===== "));
  write_file(dir / "agg.sh", split("#!/bin/bash", "# ===== commands"));
  for (const char* f : {"array.sh", "agg.sh"}) {
    auto n = run_process({"bash", "-n", dir / f});
    EXPECT_EQ(n.code, 0) << f << ": " << n.err;
  }
}

TEST(ScaleOut, SubmitRefusesWhatWouldBreakTheShards) {
  TempDir dir;
  const auto plan = write_plan(dir, 3);
  auto many = run_process({gt_binary(), "experiment", "submit", plan, "--slurm", "--dry-run",
                           "--tasks", "4", "--results", dir / "r"});
  EXPECT_EQ(many.code, 2);
  EXPECT_NE(many.err.find("3 blocks"), std::string::npos) << many.err;
  auto no_slurm = run_process({gt_binary(), "experiment", "submit", plan, "--dry-run"});
  EXPECT_EQ(no_slurm.code, 2);
  EXPECT_NE(no_slurm.err.find("--slurm"), std::string::npos) << no_slurm.err;
  // A results folder that holds another plan.
  std::filesystem::create_directories(dir / "r");
  write_file(dir / "r/plan.toml",
             "name = \"scale\"\n[workload]\nkind = \"command\"\ncommand = \"false "
             "{precision}\"\n[factors]\nprecision = [\"fp32\", \"bf16\"]\n[design]\nrepeats = 3\n");
  auto other = run_process(
      {gt_binary(), "experiment", "submit", plan, "--slurm", "--dry-run", "--results", dir / "r"});
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("another plan"), std::string::npos) << other.err;
  auto status = run_process({gt_binary(), "experiment", "status", "--slurm", dir.str()});
  EXPECT_EQ(status.code, 1);
  EXPECT_NE(status.err.find("not a greentrain Slurm results folder"), std::string::npos)
      << status.err;
  // Without sbatch on PATH a real submission says where to run it.
  gt::testing::ScopedEnv path("PATH", "/nonexistent");
  auto no_sbatch =
      run_process({gt_binary(), "experiment", "submit", plan, "--slurm", "--results", dir / "s"});
  EXPECT_EQ(no_sbatch.code, 1);
  EXPECT_NE(no_sbatch.err.find("sbatch is not on PATH"), std::string::npos) << no_sbatch.err;
}

TEST(ScaleOut, PublishedCopyIsWholeAndResumable) {
  TempDir dir;
  {
    Store s(dir / "live.db");
    ExperimentRecord e;
    e.name = "p";
    e.plan_text = "x";
    e.plan_hash = "sha256:1";
    e.workload_kind = "command";
    e.planned_runs = 1;
    s.create_experiment(e);
    publish_database(s, dir / "pub.db");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / ".pub.db.publishing"));
  {
    Store copy(dir / "pub.db", Store::Mode::read_only);
    EXPECT_EQ(copy.experiments().size(), 1u);
    sql::Stmt mode(copy.db(), "PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_NE(mode.text(0), "wal");  // readable without shared memory on a network file system
  }
  EXPECT_FALSE(restore_published(dir / "live.db", dir / "pub.db"));  // live exists: kept
  EXPECT_TRUE(restore_published(dir / "other/live.db", dir / "pub.db"));
  Store again(dir / "other/live.db", Store::Mode::read_only);
  EXPECT_EQ(again.experiments().at(0).name, "p");
}

energy::NvmlProbe two_boards() {
  energy::NvmlProbe p;
  for (int i = 0; i < 2; ++i) {
    energy::NvmlGpuInfo g;
    g.index = i;
    g.name = i == 0 ? "Board A" : "Board B";
    g.uuid = i == 0 ? "GPU-aaaaaaaa-0000-0000-0000-000000000000"
                    : "GPU-bbbbbbbb-0000-0000-0000-000000000000";
    g.pci_bus_id = i == 0 ? "00000000:17:00.0" : "00000000:65:00.0";
    p.gpus.push_back(g);
  }
  return p;
}

TEST(ScaleOut, VisibleDevicesBecomeBoardsByUuid) {
  const auto probe = two_boards();
  const auto& A = probe.gpus[0].uuid;
  const auto& B = probe.gpus[1].uuid;
  CudaUuids none;
  auto all = resolve_visible_gpus(probe, std::nullopt, none);
  EXPECT_EQ(all.mapping, "all");
  EXPECT_EQ(all.gpus.size(), 2u);
  auto hidden = resolve_visible_gpus(probe, std::string(""), none);
  EXPECT_EQ(hidden.mapping, "none");
  EXPECT_TRUE(hidden.gpus.empty());
  auto by_uuid = resolve_visible_gpus(probe, B, none);
  EXPECT_EQ(by_uuid.mapping, "uuid");
  ASSERT_EQ(by_uuid.gpus.size(), 1u);
  EXPECT_EQ(by_uuid.gpus[0].index, 1);
  // CUDA numbers the boards the other way round: index 0 is board B, whatever NVML says.
  CudaUuids driver{true, {B}, ""};
  auto mapped = resolve_visible_gpus(probe, std::string("0"), driver);
  EXPECT_EQ(mapped.mapping, "cuda-driver");
  ASSERT_EQ(mapped.gpus.size(), 1u);
  EXPECT_EQ(mapped.gpus[0].uuid, B);
  EXPECT_EQ(mapped.gpus[0].pci_bus_id, "00000000:65:00.0");
  EXPECT_TRUE(mapped.note.empty());
  // No driver to ask: NVML's numbering, with a note unless CUDA_DEVICE_ORDER=PCI_BUS_ID.
  {
    gt::testing::ScopedEnv order("CUDA_DEVICE_ORDER", "FASTEST_FIRST");
    auto fallback = resolve_visible_gpus(probe, std::string("0"), none);
    EXPECT_EQ(fallback.mapping, "nvml-index");
    ASSERT_EQ(fallback.gpus.size(), 1u);
    EXPECT_EQ(fallback.gpus[0].uuid, A);
    EXPECT_NE(fallback.note.find("PCI_BUS_ID"), std::string::npos) << fallback.note;
  }
  {
    gt::testing::ScopedEnv order("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    EXPECT_TRUE(resolve_visible_gpus(probe, std::string("1"), none).note.empty());
  }
  auto unknown = resolve_visible_gpus(probe, std::string("MIG-1234abcd"), none);
  EXPECT_TRUE(unknown.gpus.empty());
  EXPECT_NE(unknown.note.find("not found by NVML"), std::string::npos) << unknown.note;
  // Provenance carries the boards and the Slurm ids of the environment.
  gt::testing::ScopedEnv job("SLURM_JOB_ID", "77"), arr("SLURM_ARRAY_JOB_ID", "70"),
      task("SLURM_ARRAY_TASK_ID", "3"), node("SLURMD_NODENAME", "gpu-node-9");
  auto p = current_provenance(mapped);
  EXPECT_EQ(p.gpu_uuid, B);
  EXPECT_EQ(p.gpu_mapping, "cuda-driver");
  EXPECT_EQ(p.node, "gpu-node-9");
  EXPECT_EQ(p.slurm_job_id, "77");
  EXPECT_EQ(p.slurm_array_job_id, "70");
  EXPECT_EQ(p.slurm_array_task_id, "3");
  EXPECT_FALSE(p.host.empty());
  EXPECT_EQ(uuid_list(all.gpus), A + "," + B);
}

TEST(ScaleOut, LanesRunOneItemPerLaneAtATimeInOrder) {
  using clock = std::chrono::steady_clock;
  std::mutex mu;
  std::vector<std::tuple<int, int, clock::time_point, clock::time_point>> log;  // item, lane, t
  std::atomic<int> running{0}, most{0};
  run_in_lanes(
      7, 3,
      [&](int item, int lane) {
        const int now = ++running;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        const auto t0 = clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        --running;
        std::lock_guard g(mu);
        log.emplace_back(item, lane, t0, clock::now());
      },
      [] { return false; });
  ASSERT_EQ(log.size(), 7u);
  EXPECT_EQ(most.load(), 3);
  std::set<int> items;
  for (const auto& [item, lane, a, b] : log) {
    items.insert(item);
    for (const auto& [item2, lane2, a2, b2] : log)
      if (item != item2 && lane == lane2) {
        EXPECT_TRUE(b <= a2 || b2 <= a) << "lane " << lane;
      }
  }
  EXPECT_EQ(items.size(), 7u);
  // A stop request starts nothing more but lets the items in flight finish.
  std::atomic<int> started{0}, finished{0};
  run_in_lanes(
      10, 2,
      [&](int, int) {
        ++started;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        ++finished;
      },
      [&] { return started.load() >= 3; });
  EXPECT_LT(started.load(), 10);
  EXPECT_EQ(started.load(), finished.load());
  // An exception in a lane comes back to the caller after every lane stopped.
  EXPECT_THROW(run_in_lanes(
                   4, 2,
                   [](int item, int) {
                     if (item == 1) throw gt::Error("lane failed");
                   },
                   [] { return false; }),
               gt::Error);
}

TEST(ScaleOut, LaneGpusAreDistinctKnownBoards) {
  EXPECT_THROW(lane_gpus(energy::NvmlProbe{}, "0,1"), gt::UsageError);  // no NVML, no GPU
  const auto probe = two_boards();
  auto lanes = lane_gpus(probe, "1,GPU-aaaaaaaa-0000-0000-0000-000000000000");
  ASSERT_EQ(lanes.size(), 2u);
  EXPECT_EQ(lanes[0].lane, 0);
  EXPECT_EQ(lanes[0].gpu.index, 1);
  EXPECT_EQ(lanes[1].gpu.index, 0);
  EXPECT_THROW(lane_gpus(probe, "0,0"), gt::UsageError);
  EXPECT_THROW(lane_gpus(probe, "0,2"), gt::UsageError);
  EXPECT_THROW(lane_gpus(probe, ","), gt::UsageError);
}

}  // namespace
}  // namespace gt::experiment
