// The report's non-chart tables, shared by the HTML and Markdown writers: the statistics of the
// stats::Analysis (section 7: comparisons with the benchmark as ratios of means for positive
// quantities, with Holm p and effect sizes, factorial ANOVA, equivalence and the runs it needs,
// one-way/Welch ANOVA, Brown-Forsythe, Tukey HSD; first, when the runs compared ran under
// different GPU limits or clocks, those runs) and the method (section 8: meters and their
// sources, idle baseline, design, runs, environment, the GPUs' power limits and clocks).
#pragma once
#include <string>
#include <vector>

#include "report/charts.h"
#include "report/report_data.h"

namespace gt::report {

struct NamedTable {
  std::string title;
  std::string note;  // one line under the title (may be empty)
  Table table;
  bool collapsed = false;  // long tables (Tukey HSD) start folded in the HTML page
};

std::vector<NamedTable> statistics_tables(const ReportData& data);
std::vector<NamedTable> method_tables(const ReportData& data);

// Human name of a metric key: "energy_j" → "energy (J)".
std::string metric_title(const std::string& metric);

}  // namespace gt::report
