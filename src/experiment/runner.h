// `greentrain experiment run`: executes a plan's runs that the database does not hold yet.
// Joins the engine (a child `greentrain train` or a command) with the energy session and
// carbon accounting: each run is metered from spawn to exit, converted to CO2e and written to
// the store in one transaction; idle baselines at the start and every `idle_every` runs;
// cool-down between runs (seconds, or until the GPU is at or below a temperature); progress
// with ETA and one summary line per run. Rerunning the same plan on the same database resumes;
// a plan that grew (more repeats, a new level, a stopping rule) keeps every finished run and
// runs only the new ones. Runs go block by block; with a stopping rule ([design.stop]) whole
// blocks are added until every configuration's interval against the benchmark is precise
// enough. A configuration failing max_failures times in a row is skipped for the session;
// --retry-failed runs failed runs again, keeping the failed attempts. With Prometheus options,
// each run is published as its phases end and when it is recorded. Ctrl-C or SIGTERM stops the
// current run, records it as aborted and returns. One runner per database at a time
// (run_lock.h).
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "experiment/plan.h"
#include "prometheus/publisher.h"

namespace gt::experiment {

struct RunOptions {
  std::string db_path = "greentrain.db";
  bool new_experiment = false;  // a different plan under an existing name: start name-2, ...
  std::string shard;            // "i/n": run only that shard of the (non-warm-up) runs
  bool retry_failed = false;    // run failed runs again (same block, same seed)
  std::ostream* log = nullptr;  // progress and summaries; nullptr = std::cerr
  // A copy of the database published here after every run (publish.h); also where a missing
  // --db is restored from. Lets the live database stay on node-local disk under Slurm.
  std::string publish;
  // "0,1,..." (NVML indices or UUIDs): parallel lanes, one run per GPU at a time (lanes.h).
  std::string gpus;
  // Each run's energy, at the end of each of its phases and of the run, to a Prometheus
  // Pushgateway and/or node_exporter textfile (run/run_metrics.h, docs/prometheus.md).
  prometheus::PublisherOptions prometheus;
};

struct RunOutcome {
  std::string experiment;               // the name used in the database
  int planned = 0;                      // runs of this (shard of the) plan
  int already_done = 0;                 // found finished in the database
  int ok = 0, failed = 0, aborted = 0;  // this session
  bool interrupted = false;
  int signal = 0;                // the signal that interrupted the session (SIGINT, SIGTERM, ...)
  int failed_in_experiment = 0;  // runs whose latest attempt failed, after this session
  std::vector<std::string> skipped;  // configurations skipped after max_failures in a row
  std::string stopped;               // with a stopping rule: why it stopped ("" = not yet)
};

RunOutcome run_experiment(const Plan& plan, const RunOptions& options);

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace gt::experiment
