// What a run ran on and under, gathered from the results database for the exports: its start
// and end (UTC, ISO 8601), host, the grid it was charged to (country, cloud provider and
// region, from the plan's [carbon] section), operating system, CPU model and logical CPUs,
// installed RAM (from the environment of the session that ran it), its GPUs (model, count, and
// the power limits, clocks and throttle reasons each ran under), how its CPU and RAM energy was
// attributed and the PUE. The runs table carries these as context columns after the measured
// ones; the CodeCarbon export maps them onto CodeCarbon's columns (docs/database.md).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "energy/gpu_settings.h"
#include "experiment/store.h"

namespace gt::experiment {

struct RunSetup {
  std::string started_at, finished_at, host, os;
  std::string country_iso3, country_name;    // "FRA", "France"; "" with a given intensity
  std::string cloud_provider, cloud_region;  // "gcp", "europe-west1"; "" off the cloud
  std::string cpu_model;
  std::optional<double> cpu_count;     // logical CPUs
  std::optional<double> ram_total_gb;  // installed RAM, GiB
  std::vector<std::string> gpu_names;  // one per metered GPU (or per board the run could use)
  int gpu_count = 0;                   // GPUs metered (names may be unknown for old runs)
  std::vector<energy::GpuSettings> gpus;
  std::string attribution;  // machine | process, or "cpu:process ram:machine" when they differ
  std::optional<double> pue;

  // A GPU setting of the run (energy::setting_fields()): the value when every GPU of the run
  // agrees on it, "" when they differ or none reported it.
  std::string gpu_setting(const std::string& field) const;
  // Distinct GPU names joined by ", " ("" without a GPU).
  std::string gpu_model() const;
};

// Reads once what the runs of an experiment share: the sessions' environments and the plan's
// carbon settings.
class RunSetups {
 public:
  RunSetups(const Store& store, const ExperimentRecord& experiment);
  RunSetup of(const RunRecord& run) const;

 private:
  std::map<std::int64_t, nlohmann::json> session_env_;
  nlohmann::json experiment_env_;
  std::string country_iso3_, country_name_, cloud_provider_, cloud_region_;
};

// The runs table's context columns, in order: started_at, finished_at, host, country, region,
// cpu_model, cpu_count, gpu_model, gpu_count, ram_total_gb, attribution, pue, then gpu_<field>
// for each GPU setting (gpu_power_limit_w, ..., gpu_throttle_reasons).
const std::vector<std::string>& context_columns();
// One run's cells for those columns ("" = no value).
std::vector<std::string> context_cells(const RunSetup& setup);
// The value of one context column for a run ("" when unknown), for `analyze --block-by`.
std::string context_value(const RunSetup& setup, const std::string& column);

}  // namespace gt::experiment
