// What the report derives from ReportData before drawing anything: the configurations in a
// stable order with readable labels, per-configuration summaries of each metric (taken from
// the `analyze` JSON when it has them, so the page's numbers are analyze's numbers, computed
// locally only when the analysis is missing), the headline (best configuration by energy among
// those accuracy-equivalent to the benchmark), the Pareto front, the median run per
// configuration and carbon figures on other grids. Pure functions: tested without a browser.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/report_data.h"

namespace gt::report {

// Configurations seen in the runs or the analysis, benchmark first within its precision group,
// ordered by precision (fp32, tf32, fp16, bf16, others) then by the other factors (numerically
// where the levels are numbers).
std::vector<Config> configurations(const ReportData& data);

// "fp16 · batch 32 · 128 neurons · 10 epochs" (other factors as "name=value").
std::string config_label(const Config& config, const std::vector<std::string>& factors);
// The factors worth naming in labels: those with more than one level among the configurations
// (all factors when there is a single configuration).
std::vector<std::string> label_factors(const ReportData& data);
std::string config_label(const ReportData& data, const Config& config);  // with label_factors
bool same_config(const Config& a, const Config& b, const std::vector<std::string>& factors);

struct CellSummary {
  int n = 0;
  double mean = 0, sd = 0, ci95_low = 0, ci95_high = 0, median = 0, min = 0, max = 0;
  bool from_analysis = false;  // false: computed here because analyze had no cell
};

// Summary of `metric` for `config` over the analysed runs (status ok, not warm-up).
std::optional<CellSummary> summarize(const ReportData& data, const std::string& metric,
                                     const Config& config);
// Descriptive statistics with a 95 % t-interval (used when the analysis lacks a cell).
CellSummary describe(std::vector<double> values);

// The analysis entry for `config` in metrics[metric][section] ("cells", "versus_baseline"), or null.
const nlohmann::json* analysis_entry(const ReportData& data, const std::string& metric,
                                     const std::string& section, const Config& config);
// Whether `config`'s accuracy is equivalent to the benchmark's per the analysis (TOST):
// nullopt when the analysis did not test it.
std::optional<bool> accuracy_equivalent(const ReportData& data, const Config& config);

struct Headline {
  bool available = false;
  std::string reason;         // why there is no headline (single configuration, no energy, …)
  Config best, benchmark;
  bool best_is_benchmark = false;
  bool accuracy_checked = false;  // candidates were filtered by equivalence
  double best_energy_j = 0, benchmark_energy_j = 0;
  double saving_j = 0, saving_pct = 0;                 // benchmark − best (positive = saving)
  double saving_pct_low = 0, saving_pct_high = 0;      // 95 % Welch interval of the saving
  double saving_kwh = 0, saving_co2e_g = 0;            // per run, on the plan's grid
  std::optional<double> p_holm, hedges_g, tost_p;
  std::string verdict;        // the plain-language line (analyze's when it has one)
  bool verdict_from_analyze = false;
};
Headline headline(const ReportData& data);

// Configurations on the accuracy–energy Pareto front (lowest mean energy for their accuracy).
std::vector<Config> pareto_front(const ReportData& data);

// The run of `config` with the median energy among analysed runs that carry power samples.
const Run* median_run(const ReportData& data, const Config& config);

// Mean gCO2e per run of `config` on `grid` (scaled from the plan grid's co2e_g, or from energy_j).
std::optional<double> co2e_on_grid(const ReportData& data, const Config& config, const Grid& grid);
// Epochs of a configuration (factor "epochs" or metric "epochs"), and training samples per run.
std::optional<double> epochs_of(const ReportData& data, const Config& config);

// Whether any analysed run has a value for `metric`.
bool has_metric(const ReportData& data, const std::string& metric);
std::vector<double> metric_values(const ReportData& data, const std::string& metric,
                                  const Config& config);

}  // namespace gt::report
