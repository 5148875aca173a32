// The analysis of an experiment in the database (see analysis_input.h).
#include "experiment/analysis_input.h"

#include <sstream>

#include "experiment/stored_plan.h"

namespace gt::experiment {

AnalysisInput analysis_input(const Store& store, const ExperimentRecord& e,
                             const std::string& source) {
  AnalysisInput in;
  std::istringstream csv(runs_csv(store, e.name));
  in.table = stats::read_runs_csv(csv, e.factor_names, source);
  for (const auto& [name, level] : e.benchmark.items())
    in.options.baseline[name] = level.is_string() ? level.get<std::string>() : level.dump();
  // A stored plan this version no longer reads: the defaults judge it.
  if (const std::optional<Plan> plan = stored_plan(e))
    in.options.primary_metric = plan->analysis.primary_metric;
  return in;
}

}  // namespace gt::experiment
