// What the report derives from ReportData before drawing anything: the configurations in a
// stable order with readable labels, per-configuration summaries of each metric (the analysis's
// cells; stats::describe over the runs only when the analysis is missing), the headline (the
// analysis's, with its energy saving converted to kWh and CO2e by carbon/), the Pareto front,
// the median run per configuration and carbon figures on other grids. No statistic is computed
// here: every number comes from stats/ or carbon/, so the page agrees with `analyze`.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/report_data.h"
#include "stats/descriptive.h"

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

// Between the report's Config (factor -> level) and the analysis's levels in factor order.
stats::Levels levels_of(const ReportData& data, const Config& config);
Config config_of(const ReportData& data, const stats::Levels& levels);

// Summary of `metric` for `config` over the analysed runs (status ok, not warm-up): the
// analysis's cell, or stats::describe of the runs' values when there is no analysis.
std::optional<stats::Description> summarize(const ReportData& data, const std::string& metric,
                                            const Config& config);
// The analysis's comparison of `config` with the benchmark on `metric`, or null.
const stats::Comparison* comparison(const ReportData& data, const std::string& metric,
                                    const Config& config);
// Whether `config`'s accuracy is equivalent to the benchmark's per the analysis (TOST):
// nullopt when the analysis did not test it.
std::optional<bool> accuracy_equivalent(const ReportData& data, const Config& config);
// Failed and aborted (non-warm-up) runs of a configuration.
int failed_runs(const ReportData& data, const Config& config);

struct HeadlineView {
  bool available = false;
  std::string kind;                  // winner | baseline_best | inconclusive | unavailable
  std::string title;                 // one sentence
  std::vector<std::string> details;  // evidence, failures, repeats needed
  Config best;                       // empty when unavailable
  std::string metric;                // the primary metric
  // When the primary metric is an energy: the best's saving per run against the benchmark
  // (positive = less energy), in kWh and in gCO2e on the plan's grid.
  std::optional<double> saving_kwh, saving_co2e_g;
};
HeadlineView headline(const ReportData& data);
// "fp16 · batch 128 saves 0.00143 kWh and 0.652 g CO2e per run against the benchmark on
// Germany (DEU)." (naming the configuration: the headline's title may be about another one).
std::string saving_sentence(const ReportData& data, const HeadlineView& h);

// Configurations on the accuracy–energy Pareto front (lowest mean energy for their accuracy).
std::vector<Config> pareto_front(const ReportData& data);

// The run of `config` with the median energy among analysed runs that carry power samples.
const Run* median_run(const ReportData& data, const Config& config);

// gCO2e of `joules` drawn from `grid` at the plan's PUE (carbon::co2e_g).
double co2e_on(const ReportData& data, double joules, const Grid& grid);
// Mean gCO2e per run of `config` on `grid`, from its mean energy.
std::optional<double> co2e_on_grid(const ReportData& data, const Config& config, const Grid& grid);
// Epochs of a configuration (factor "epochs" or metric "epochs"), and training samples per run.
std::optional<double> epochs_of(const ReportData& data, const Config& config);

// The machine's load: the share of its CPU busy above which a run is contended or an idle
// baseline is not valid (the analysis's, 0.2 without one); the busiest idle baseline behind
// the runs (their idle_cpu_busy_share); whether the idle baseline is valid (net figures are
// shown only then); the runs with more outside load than the threshold (outside_cpu_share).
double busy_share(const ReportData& data);
std::optional<double> idle_busy_share(const ReportData& data);
bool idle_baseline_valid(const ReportData& data);
std::vector<const Run*> contended_runs(const ReportData& data);

// Whether any analysed run has a value for `metric`.
bool has_metric(const ReportData& data, const std::string& metric);
std::vector<double> metric_values(const ReportData& data, const std::string& metric,
                                  const Config& config);

// The analysis of data.runs with the benchmark as baseline (what `analyze` computes over the
// same runs); nullopt with the reason in `why` when analyze refuses (one configuration, ...).
std::optional<stats::Analysis> analyze_runs(const ReportData& data, std::string* why);

}  // namespace gt::report
