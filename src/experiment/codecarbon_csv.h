// An experiment's runs as CodeCarbon writes its emissions.csv (CodeCarbon 3.3.0's EmissionsData
// columns, in its order and units: kg CO2e, kWh, W, GB), so a notebook or dashboard built on
// CodeCarbon's file reads greentrain's unchanged; and, with phases, one row per phase occurrence
// in the columns of CodeCarbon's task file (TaskEmissionsData: task_name first). Energies
// include the PUE, as CodeCarbon's do, so emissions = energy_consumed x intensity. Columns
// greentrain has no figure for are empty, never zero. docs/database.md maps every column.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "experiment/store.h"

namespace gt::experiment {

const std::vector<std::string>& codecarbon_columns();       // EmissionsData, in order
const std::vector<std::string>& codecarbon_task_columns();  // TaskEmissionsData, in order

// Every metered run of the experiment (`experiment` empty: the only one), warm-up and failed
// runs included (their energy was spent), in run order; with `phases`, each phase occurrence.
void write_codecarbon_csv(const Store& store, const std::string& experiment, bool phases,
                          std::ostream& out);

}  // namespace gt::experiment
