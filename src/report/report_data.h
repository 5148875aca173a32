// ReportData: everything a report shows, in one plain value. The loader fills it from the
// results store and stats::analyze (load.h); tests fill it from synthetic runs and the same
// analysis. The writers (writers.h) and the chart builders (charts.h) read only this struct, and
// take every statistic from its stats::Analysis, so the page shows `analyze`'s numbers and the
// whole page can be built and checked without a database, a GPU or a browser.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/component_energy.h"
#include "stats/analysis.h"

namespace gt::report {

using Config = std::map<std::string, std::string>;  // factor name → level, as in analyze JSON

using ComponentEnergy = gt::ComponentEnergy;

struct PowerSample {
  double t_s = 0;
  Component component = Component::gpu;
  std::string device;
  double power_w = 0;
};

// One epoch of a run (an `epoch` phase): its energy, time and the accuracy reported in it.
struct EpochPoint {
  int epoch = 0;  // 1-based
  double energy_j = 0, duration_s = 0;
  std::optional<double> accuracy;
};

struct Run {
  std::string run_id;
  int block = 0, repeat = 0;
  RunStatus status = RunStatus::ok;
  bool warmup = false;
  Config config;
  std::map<std::string, double>
      metrics;  // energy_j, duration_s, avg_power_w, co2e_g, test_accuracy, …
  std::vector<ComponentEnergy> components;
  std::vector<PowerSample> samples;
  std::vector<EpochPoint> epochs;  // empty when the run marked no epoch
  // What its GPUs ran under, by runs-table column (gpu_power_limit_w → "450", ...; "" =
  // unknown, or the run's GPUs differed), as ReportData::gpu_setting_columns lists them.
  std::map<std::string, std::string> gpu_settings;
  bool analysed() const { return status == RunStatus::ok && !warmup; }
};

struct Grid {  // one electricity grid: label "France (FRA)", intensity in gCO2e/kWh
  std::string code, label;
  double g_per_kwh = 0;
  std::string source;
  int year = 0;
};

struct IdleBaseline {
  Component component = Component::gpu;
  std::string device;
  double power_w = 0, duration_s = 0;
};

struct ReportData {
  std::string experiment;
  std::string greentrain_version;
  std::string generated_at;          // ISO 8601 UTC
  std::vector<std::string> factors;  // in plan order
  Config benchmark;                  // the reference configuration
  std::string plan_text;
  nlohmann::json design = nlohmann::json::object();  // repeats, order, seed, warmup_runs,
                                                     // cooldown_s, idle_baseline_s, interval_ms
  nlohmann::json environment = nlohmann::json::object();  // snapshot: gpus, driver, cpu, ram, os, …
  std::vector<IdleBaseline> idle;
  std::vector<Run> runs;
  std::optional<stats::Analysis> analysis;  // `analyze` over the same runs; empty when it refused
  std::string analysis_note;                // why the analysis is missing ("" when it is there)
  Grid plan_grid;                           // the grid of the plan's [carbon] section
  double pue = 1.0;
  std::vector<Grid> other_grids;                  // --country, default FRA USA DEU IND World
  std::string carbon_attribution;                 // where intensities come from
  std::optional<double> train_samples_per_epoch;  // for gCO2e per 1 000 training samples
  std::optional<double> target_accuracy;          // the plan's [analysis] target_accuracy
  // The GPU setting columns (gpu_power_limit_w, ..., gpu_throttle_reasons), and those among them
  // that make two runs' energy incomparable when they differ (the limits and clocks).
  std::vector<std::string> gpu_setting_columns, gpu_comparability_columns;
  // The plan's [labels]: factor -> level -> the name the report gives it.
  std::map<std::string, std::map<std::string, std::string>> level_labels;
};

}  // namespace gt::report
