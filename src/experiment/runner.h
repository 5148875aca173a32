// `greentrain experiment run`: executes a plan's runs that the database does not hold yet.
// Joins the engine (a child `greentrain train` or a command) with the energy session and
// carbon accounting: each run is metered from spawn to exit, converted to CO2e and written to
// the store in one transaction; idle baselines at the start and every `idle_every` runs;
// cool-down between runs (seconds, or until the GPU is at or below a temperature); progress
// with ETA and one summary line per run. Rerunning the same plan on the same database resumes;
// Ctrl-C stops the current run, records it as aborted and returns.
#pragma once
#include <iosfwd>
#include <string>

#include "experiment/plan.h"

namespace gt::experiment {

struct RunOptions {
  std::string db_path = "greentrain.db";
  bool new_experiment = false;  // a different plan under an existing name: start name-2, ...
  std::string shard;            // "i/n": run only that shard of the (non-warm-up) runs
  std::ostream* log = nullptr;  // progress and summaries; nullptr = std::cerr
  // A copy of the database published here after every run (publish.h); also where a missing
  // --db is restored from. Lets the live database stay on node-local disk under Slurm.
  std::string publish;
  // "0,1,..." (NVML indices or UUIDs): parallel lanes, one run per GPU at a time (lanes.h).
  std::string gpus;
};

struct RunOutcome {
  std::string experiment;               // the name used in the database
  int planned = 0;                      // runs of this (shard of the) plan
  int already_done = 0;                 // found finished in the database
  int ok = 0, failed = 0, aborted = 0;  // this session
  bool interrupted = false;
};

RunOutcome run_experiment(const Plan& plan, const RunOptions& options);

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace gt::experiment
