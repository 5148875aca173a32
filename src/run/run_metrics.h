// A metered run's figures as Prometheus metric families (docs/prometheus.md), kept per run so
// each push carries the run's whole state: the run so far (phase="") and every phase path that
// ended, with cumulative counters over its occurrences. The families, all labelled with
// experiment, configuration, run and host (a run outside an experiment has "" for the first
// two):
//   greentrain_energy_joules_total{phase,component}  counter  energy per component (gpu, cpu,
//                                                             ram, wall), J
//   greentrain_power_watts{phase,component}          gauge    mean power over that energy, W
//   greentrain_co2e_grams_total{phase}               counter  CO2e of gpu+cpu+ram energy, g
//   greentrain_duration_seconds_total{phase}         counter  time, s
//   greentrain_phase_occurrences_total{phase}        counter  occurrences ended (phases only)
//   greentrain_gpu_power_limit_watts{device}         gauge    each GPU's enforced power limit
// The group's grouping key is job="greentrain", host, experiment (when set) and run.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "energy/gpu_settings.h"
#include "energy/session.h"
#include "prometheus/exposition.h"
#include "prometheus/pushgateway.h"
#include "run/metered_run.h"

namespace gt::run {

struct RunLabels {
  std::string experiment, configuration, run, host;
};

class RunMetrics {
 public:
  explicit RunMetrics(RunLabels labels) : labels_(std::move(labels)) {}

  // A phase occurrence ended while the run goes on: its figures join its path's, and the run so
  // far is updated.
  void add_live(const LivePhase& live);
  // One window of a program metered by `meter --serve`: a phase named `name`.
  void add_window(const std::string& name, const nlohmann::json& window_reply);
  // The finished run: its own figures (attributed as the result records them) replace the live
  // ones, phases included, and each metered GPU's power limit is added.
  void set_result(const MeteredResult& result);

  std::vector<prometheus::Family> families() const;
  prometheus::GroupingKey key() const;

 private:
  struct Figures {
    std::map<std::string, double> energy_j;  // per component
    double duration_s = 0, co2e_g = 0;
    int occurrences = 0;
    void add(const std::vector<ComponentEnergy>& components, double duration, double co2e);
  };
  RunLabels labels_;
  std::optional<Figures> run_;
  std::vector<std::pair<std::string, Figures>> phases_;  // by path, in the order first ended
  std::vector<energy::GpuSettings> gpus_;
  Figures& phase(const std::string& path);
};

// The run label of a metered run outside an experiment: its start (UTC) and process id,
// "20260101T120000Z-4242", unique on its host.
std::string standalone_run_id();

}  // namespace gt::run
