// The names a metered run's results keep for themselves, and the one check every metric and
// phase name from a workload passes, whatever brought it: the mark channel (`greentrain mark`,
// the Python package), stdout lines, or an experiment's metrics file. A run's results become
// columns (duration_s, energy_j, gpu_energy_j, ..., and per phase <phase>_energy_j,
// <phase>_net_energy_j, <phase>_duration_s, <phase>_gpu_energy_j), and a caller may keep more
// names (an experiment keeps its run fields and factor names): a workload's name that would
// take one of them, or produce the same column twice, is refused with a note, so the export
// never holds two columns of one name and a workload cannot replace a measured figure.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace gt::run {

// The whole run's columns: duration_s, energy_j, gpu_energy_j, cpu_energy_j, ram_energy_j,
// wall_energy_j, net_energy_j, avg_power_w, peak_power_w, co2e_g.
const std::vector<std::string>& energy_columns();
// What the metered run measures about the run itself: outside_cpu_share, flagged_phases (a
// workload's metric of such a name is stored as workload_<name>).
const std::vector<std::string>& quality_columns();
// The metered components and the net figure, which name the per-component columns:
// gpu, cpu, ram, wall, net.
const std::vector<std::string>& component_names();
// What a phase's name is followed by in its columns: _energy_j, _net_energy_j, _duration_s,
// _gpu_energy_j, _uncertainty_j.
const std::vector<std::string>& phase_column_suffixes();

// A name a caller keeps, and why, in words ("a field greentrain sets for each run").
struct KeptName {
  std::string name;
  std::string why;
};

// Names compare without regard to case (a spreadsheet or a CSV reader may not tell them apart).
class NameCheck {
 public:
  NameCheck() = default;  // the metered run's own names only
  explicit NameCheck(std::vector<KeptName> kept) : kept_(std::move(kept)) {}

  // Where a workload's metric `name` is stored: under its own name, or, when it is one of the
  // run's energy columns, under a prefixed one (workload_energy_j; duration_s, a workload's own
  // training time, becomes train_duration_s) so it never replaces the measured figure. nullopt
  // when the name is kept by the caller; then `why` says so in one line.
  std::optional<std::string> metric_key(const std::string& name, std::string& why) const;

  // Why `name` cannot be a phase (its columns would be the run's own, another phase's, or a
  // kept name), or nullopt when it can.
  std::optional<std::string> phase_problem(const std::string& name) const;

 private:
  std::vector<KeptName> kept_;
};

}  // namespace gt::run
