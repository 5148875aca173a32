// Writes synthetic ReportData into a real results database through the store's write API (the
// results store), so the loader and `greentrain report` are tested on the same data as the page.
#pragma once
#include <string>

#include "report/report_data.h"

namespace gt::report::testing {

// Creates `path` with one experiment named data.experiment (plan text, factors, benchmark,
// environment), every run with its metrics, energy and samples, and the idle baselines.
void write_store(const ReportData& data, const std::string& path);

}  // namespace gt::report::testing
