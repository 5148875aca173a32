// The report's charts: each a Vega-Lite specification with its data inline, the same numbers
// as a table (shown below the chart, and the whole page's content when scripts are off), and
// the data as CSV for download. Builders return nullopt when the data cannot support the chart
// (no power samples, no accuracy metric, …); the writers then print one line saying why.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/report_data.h"

namespace gt::report {

struct Table {
  std::vector<std::string> columns;
  std::vector<bool> numeric;                   // right-aligned columns
  std::vector<std::vector<std::string>> rows;  // formatted cells
};

struct Chart {
  std::string id;  // "energy", "components", … (DOM id and download file names)
  std::string title;
  std::string description;  // one sentence: what to read in it
  nlohmann::json spec;      // Vega-Lite, data inline under data.values
  Table table;
  nlohmann::json data = nlohmann::json::array();  // the rows behind the chart (spec.data.values)
};

std::string to_csv(const nlohmann::json& rows);  // the chart data as CSV (union of keys, in order)

// Section 2: points for every run, mean and 95 % interval, per configuration, grouped by precision.
std::optional<Chart> metric_chart(const ReportData& data, const std::string& metric,
                                  const std::string& id, const std::string& title,
                                  const std::string& axis_title);
// Section 3: mean energy per component, gross and net of idle, measured vs estimated.
std::optional<Chart> components_chart(const ReportData& data);
// Section 4: power over time of the median run of each configuration.
std::optional<Chart> power_chart(const ReportData& data);
// Section 5: accuracy versus energy with the Pareto front.
std::optional<Chart> pareto_chart(const ReportData& data);
// Per epoch: mean energy, time and accuracy of each epoch, per configuration (runs that marked
// `epoch` windows); and the accuracy reached against the training energy spent, epoch by epoch,
// with the plan's target accuracy and how many runs reached it.
std::optional<Chart> epochs_chart(const ReportData& data);
std::optional<Chart> target_chart(const ReportData& data);
// Section 6: gCO2e per run, per epoch and per 1 000 samples (plan grid) and on other grids.
std::optional<Chart> carbon_chart(const ReportData& data);
std::optional<Chart> grids_chart(const ReportData& data);

// Every chart of the report in page order (those the data supports).
std::vector<Chart> all_charts(const ReportData& data);

}  // namespace gt::report
