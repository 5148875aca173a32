// An experiment's plan as stored in the results database, read by this version's plan parser:
// nullopt when it no longer parses (a plan written by another version). The readers that can go
// on without it (the report, the analysis defaults, the grid of the exports, the target
// accuracy) take it from here.
#pragma once
#include <optional>

#include "experiment/plan.h"
#include "experiment/store.h"

namespace gt::experiment {

std::optional<Plan> stored_plan(const ExperimentRecord& e);

}  // namespace gt::experiment
