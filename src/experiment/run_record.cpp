// An experiment run's row from its metered run (see run_record.h).
#include "experiment/run_record.h"

#include <fmt/core.h>

#include <set>

namespace gt::experiment {

PhaseRecord phase_record(const run::PhaseResult& p) {
  PhaseRecord ph;
  ph.name = p.name;
  ph.parent = p.parent;
  ph.occurrence = p.occurrence;
  ph.metrics = p.metrics;
  ph.flagged = p.flagged;
  ph.t_begin_s = p.t_begin_s;
  ph.duration_s = p.energy.duration_s;
  ph.energy_j = p.energy.energy_j;
  ph.net_energy_j = p.energy.net_energy_j;
  ph.wall_energy_j = p.energy.wall_energy_j;
  for (Component c : {Component::gpu, Component::cpu, Component::ram}) {
    bool present = false;
    for (const auto& x : p.energy.components) present |= x.component == c;
    if (!present) continue;
    const double e = p.energy.component_energy_j(c);
    (c == Component::gpu   ? ph.gpu_energy_j
     : c == Component::cpu ? ph.cpu_energy_j
                           : ph.ram_energy_j) = e;
  }
  ph.uncertainty_j = p.energy.uncertainty_j;
  for (const auto& x : p.energy.components) ph.components.push_back(energy::component_json(x));
  return ph;
}

void add_metrics(RunRecord& rec, const Metrics& metrics, const run::MeteredResult& metered) {
  rec.metrics = metrics.values;
  for (const auto& [k, v] : metered.metrics) rec.metrics[k] = v;  // the mark channel's
  for (const auto& [k, v] : metered.phase_metrics()) rec.metrics[k] = v;
  // The load on the machine: during the idle baseline this run is netted against, and outside
  // the run's process tree while it ran (the analysis and the report mark busy ones).
  if (metered.idle_cpu_busy) rec.metrics["idle_cpu_busy_share"] = *metered.idle_cpu_busy;
  if (metered.outside_cpu_share) rec.metrics["outside_cpu_share"] = *metered.outside_cpu_share;
  rec.metrics["flagged_phases"] = metered.flagged_phases;
}

RunStatus run_status(const RunEnd& end, std::vector<std::string>& notes) {
  const run::ChildResult& child = end.child;
  if (child.stopped) {
    notes.insert(notes.begin(), fmt::format("interrupted by signal {}", end.signal));
    return RunStatus::aborted;
  }
  if (child.timed_out) {
    notes.insert(notes.begin(),
                 fmt::format("timed out after {} s (workload.timeout_s)", end.timeout_s));
    return RunStatus::failed;
  }
  if (!child.exit_code || *child.exit_code != 0) {
    const int c = child.exit_code.value_or(0);
    notes.insert(notes.begin(),
                 c < 0 ? fmt::format("killed by signal {}", -c) : fmt::format("exit code {}", c));
    return RunStatus::failed;
  }
  if (end.needs_result && !end.result_read) {
    notes.insert(notes.begin(), "greentrain train wrote no readable --json result");
    return RunStatus::failed;
  }
  return RunStatus::ok;
}

void add_energy(RunRecord& rec, const energy::Summary& summary, std::vector<std::string>& notes) {
  double peak = 0;
  for (const auto& c : summary.components) {
    rec.energy.push_back({c.component, c.device, c.source, c.model, c.energy_j, c.avg_power_w,
                          c.peak_power_w, c.idle_power_w, c.net_energy_j, c.attribution,
                          c.machine_energy_j});
    if (is_main(c.component)) peak += c.peak_power_w;
  }
  bool has_main = false;
  for (const auto& c : summary.components) has_main |= is_main(c.component);
  if (has_main) {
    rec.energy_j = summary.energy_j;
    rec.net_energy_j = summary.net_energy_j;
    if (summary.duration_s > 0) rec.avg_power_w = summary.energy_j / summary.duration_s;
    rec.peak_power_w = peak;
  } else {
    notes.push_back("no energy meter reported gpu, cpu or ram energy");
  }
  rec.wall_energy_j = summary.wall_energy_j;
  rec.provenance.gpu_settings = summary.gpu_settings;  // limits, clocks, throttle reasons
}

std::string join_notes(const std::vector<std::string>& notes) {
  std::string joined;
  std::set<std::string> noted;
  for (const auto& n : notes)
    if (noted.insert(n).second) joined += (joined.empty() ? "" : "; ") + n;
  return joined;
}

std::string result_line(const RunRecord& rec, double duration_s,
                        const std::vector<std::string>& notes, std::optional<int> lane_run) {
  std::string line =
      fmt::format("      {}{:<7} {:>7.1f} s", lane_run ? fmt::format("run {} ", *lane_run) : "",
                  rec.status, duration_s);
  if (rec.energy_j) line += fmt::format("  {:>9.1f} J", *rec.energy_j);
  if (auto it = rec.metrics.find("train_energy_j"); it != rec.metrics.end())
    line += fmt::format(" (train {:.1f} J)", it->second);
  if (rec.co2e_g) line += fmt::format("  {:.3f} gCO2e", *rec.co2e_g);
  for (const char* m : {"test_accuracy", "final_loss"})
    if (auto it = rec.metrics.find(m); it != rec.metrics.end())
      line += fmt::format("  {}={:.4g}", m, it->second);
  if (rec.status != RunStatus::ok) {
    line += "  (" + notes.front() + ")";
    auto last = rec.stderr_tail.substr(rec.stderr_tail.rfind('\n') + 1);
    if (!last.empty()) line += "\n      stderr: " + last.substr(0, 200);
  }
  return line;
}

}  // namespace gt::experiment
