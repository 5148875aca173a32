// Fills ReportData from the results store and `analyze`: the
// experiment's plan text, factors, benchmark, design settings and environment; every run with
// its metrics and per-component energy; the power samples of each configuration's median run
// (only those, to keep the page small); idle baselines; the stats::Analysis of the runs
// (analyze's error becomes a note on the page, never a failed report); the plan's grid and the
// other grids to compare (carbon/carbon.h). This is the only file of the report that knows the
// store, the statistics and the carbon tables.
#pragma once
#include <string>
#include <vector>

#include "report/report_data.h"

namespace gt::report {

struct LoadOptions {
  std::string db_path = "greentrain.db";
  std::string experiment;  // empty: the only experiment in the database
  std::vector<std::string> countries = {"FRA", "USA", "DEU", "IND", "WLD"};  // ISO3 or "World"
};

// Throws gt::Error (one line) when the database cannot be opened or the experiment is not
// found, gt::UsageError for an unknown country code.
ReportData load_report(const LoadOptions& options);

// The intensity grids for `codes` (ISO3, or "World"/"WLD"), in order, without duplicates.
std::vector<Grid> grids_for(const std::vector<std::string>& codes);

}  // namespace gt::report
