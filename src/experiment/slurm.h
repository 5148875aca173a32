// Scale-out on Slurm: `greentrain experiment submit PLAN --slurm` turns a plan into an
// `sbatch --array` job whose task i runs shard i/n of the plan (whole blocks) with `experiment
// run --shard i/n`, its live database on node-local disk and a copy published after every run
// to results/task-i.db; and an aggregation job (`--dependency=afterok` on the array) that merges
// the task databases into results/merged.db, then runs `analyze` and `report`. Everything lives
// in one results folder: the plan as submitted (plan.toml), the two scripts, submit.json (task
// count and job ids), logs/, the task databases and the merged outputs. Resubmitting the same
// plan into the same folder submits only the tasks whose databases still miss runs; the merge
// is idempotent (a run is identified by the plan hash and its run index).
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "experiment/plan.h"

namespace gt::experiment {

struct SlurmOptions {
  std::string results_dir;  // default: "<plan name>-slurm" beside the working directory
  int tasks = 0;            // array tasks (shards); 0 = one per block (the plan's repeats)
  int throttle = 0;         // at most this many tasks at once (--array=...%N); 0 = no limit
  std::string partition, account;
  std::string time_limit;                  // per task, Slurm's format ("2:00:00"); "" = default
  std::string aggregate_time = "1:00:00";  // the aggregation job's limit
  std::string gres = "gpu:1";              // per task; "" or "none" = no --gres line
  int cpus_per_task = 0;                   // 0 = Slurm's default
  bool exclusive = false;                  // whole nodes (wall and RAPL figures are per node)
  std::vector<std::string> extra;          // more #SBATCH lines ("--mem=32G" or "#SBATCH ...")
  std::string block_by;                    // "", gpu or host: passed to analyze in aggregation
  // Node-local folder for the live task databases: "" = the node's ${TMPDIR:-/tmp}; else taken
  // literally, except that it may start with one of the node's variables ($NAME or ${NAME}).
  std::string scratch;
  std::string greentrain;     // the binary the jobs run; default: this one
  bool retry_failed = false;  // failed runs count as missing: their tasks run them again
};

// Paths inside a results folder.
struct ResultsFolder {
  std::string dir;  // absolute
  std::string plan() const { return dir + "/plan.toml"; }
  std::string task_db(int i) const { return dir + "/task-" + std::to_string(i) + ".db"; }
  std::string merged() const { return dir + "/merged.db"; }
  std::string array_script() const { return dir + "/array.sbatch"; }
  std::string aggregate_script() const { return dir + "/aggregate.sbatch"; }
  std::string state() const { return dir + "/submit.json"; }
  std::string logs() const { return dir + "/logs"; }
};

struct TaskProgress {
  int task = 0;     // 1-based array index = shard
  int planned = 0;  // runs of the shard (warm-up included)
  int ok = 0, failed = 0, aborted = 0;
  bool has_db = false;
  bool complete() const { return planned > 0 && ok + failed >= planned; }
};

// Runs of each shard found in the task databases of `folder` (none yet = 0 done).
std::vector<TaskProgress> task_progress(const Plan& plan, const ResultsFolder& folder, int tasks);

// The two job scripts. `array_tasks` are the array indices to run (1-based, sorted).
std::string array_script(const Plan& plan, const SlurmOptions& o, const ResultsFolder& f, int tasks,
                         const std::vector<int>& array_tasks);
std::string aggregate_script(const Plan& plan, const SlurmOptions& o, const ResultsFolder& f);

// "1-3", "2,5-7" (+ "%N" when throttled).
std::string array_spec(const std::vector<int>& indices, int throttle);

// `experiment submit PLAN --slurm [--dry-run]`: writes the folder and scripts and calls sbatch,
// or with dry_run prints what it would write and run and touches nothing. Returns 0. Every
// value written into a script is one quoted word (common/shell_text.h), and one holding a
// control character is refused first, naming its option.

int submit_slurm(const std::string& plan_path, const SlurmOptions& o, bool dry_run,
                 std::ostream& out);

// `experiment status --slurm RESULTS`: per-task progress and Slurm's view of the jobs.
int slurm_status(const std::string& results_dir, std::ostream& out);

}  // namespace gt::experiment
