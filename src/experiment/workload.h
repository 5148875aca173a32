// The two workload kinds, as child processes. `builtin`: `<this greentrain> train --json FILE
// --no-measure --data … --precision … --batch-size … --epochs … --model … --seed …` with each
// factor as its flag and the model text completed by the neurons and filters levels
// (engine/train_factors.h; the runner meters it); `command`: the plan's template with factor values
// substituted, run by /bin/sh with GREENTRAIN_RUN_ID, GREENTRAIN_METRICS_FILE, GREENTRAIN_SEED set.
// Metrics come from the JSON file (every top-level number) and, for commands, from stdout lines
// `greentrain-metric NAME=VALUE` (which win over the file). In a command template each
// {factor} and {metrics_file} becomes its value as one single-quoted shell word (the same
// values are in GREENTRAIN_FACTOR_<NAME>). A metric named like a run field or a factor is
// ignored with a note; one named like an energy column gets a workload_ prefix.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "experiment/design.h"
#include "experiment/plan.h"
#include "run/process.h"
#include "run/reserved_names.h"

namespace gt::experiment {

struct PreparedRun {
  run::ChildSpec spec;
  std::string command_text;  // for the database and messages
  std::string metrics_path;  // JSON written by the workload
};

PreparedRun prepare_run(const Plan& plan, const Configuration& config, const PlannedRun& run,
                        const std::string& work_dir, const std::string& greentrain_exe);

struct Metrics {
  std::map<std::string, double> values;
  std::vector<std::string> notes;  // what could not be read, in words
  bool file_read = false;
};

// The check every metric and phase name of this plan's workload passes, from every source
// (run/reserved_names.h with the run fields and the plan's factors kept).
run::NameCheck workload_name_check(const Plan& plan);

// Reads the metrics JSON (missing file is not an error here) and the stdout lines.
Metrics collect_metrics(const Plan& plan, const std::string& metrics_path,
                        const std::string& stdout_path);
// `greentrain-metric NAME=VALUE` lines of a text (run/marks.h's stdout form: NAME a letter then
// letters, digits or _; VALUE a finite number); a malformed one is a note.
std::map<std::string, double> parse_metric_lines(const std::string& text,
                                                 std::vector<std::string>& notes);

}  // namespace gt::experiment
