// How far an experiment is: its planned runs against the rows in the database, counted one way
// for `experiment status` and for every session summary of `experiment run`, so the two always
// agree and "left" is never negative. The planned runs of an experiment in the database come
// from its stored plan and run layout (design.h), up to the blocks its planned_runs cover.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "experiment/design.h"
#include "experiment/store.h"

namespace gt::experiment {

struct Progress {
  int planned = 0;                      // planned runs, warm-up included
  int ok = 0, failed = 0, aborted = 0;  // planned runs by the status of their row
  int left = 0;                         // planned runs with no ok or failed row yet
  int outside = 0;  // rows of runs the plan no longer asks for (a shorter plan, a stopped rule)
  // Configurations whose planned runs are not all finished while others' are: "label (k of n)".
  std::vector<std::string> behind;
};

Progress progress(const ExpandedDesign& design, const std::vector<PlannedRun>& planned,
                  const std::vector<RunRecord>& runs);

// The experiment's design and its planned runs (the first e.planned_runs of the expanded
// layout, whole blocks); nullopt when the stored plan no longer parses.
struct PlannedExperiment {
  ExpandedDesign design;
  std::vector<PlannedRun> planned;
};
std::optional<PlannedExperiment> planned_experiment(const ExperimentRecord& e);

// "12 runs planned: 9 ok, 1 failed, 0 aborted, 2 left" (and what is behind, outside the plan).
std::string describe(const Progress& p);

}  // namespace gt::experiment
