// The analysis of an experiment in the results database, set up in one place for `analyze --db`
// and `report`, so both show one result: the runs table `export` writes (every analysis can be
// redone from that CSV), the plan's factors, its benchmark as the baseline, and its [analysis]
// settings (the primary metric).
#pragma once
#include <string>

#include "experiment/store.h"
#include "stats/analysis.h"
#include "stats/runs_table.h"

namespace gt::experiment {

struct AnalysisInput {
  stats::RunsTable table;
  stats::AnalysisOptions options;
};

// `source` names the data in messages ("greentrain.db (experiment quick)").
AnalysisInput analysis_input(const Store& store, const ExperimentRecord& e,
                             const std::string& source);

}  // namespace gt::experiment
