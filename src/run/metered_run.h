// The metered run: the one service that `greentrain measure`, `greentrain train` and the
// experiment runner use to run a workload and meter it. Constructing a MeteredRun checks
// everything a user can get wrong (meter options, GPU selection, wall meter, carbon country or
// intensity, attribution) before any work starts. run() opens the energy window, then launches
// the child in its own process group (run/process.h) with an inherited pipe named by
// GREENTRAIN_MARK_FD (so no mark can come before the window), dates each mark when it is
// written (the writer's monotonic instant) or read, answers the child's window queries on the
// pipe named by GREENTRAIN_REPLY_FD (run/windows.h), forwards signals through the caller's
// poll, samples the process tree's CPU and memory on its own cadence (run/usage_timeline.h),
// and after the child exits turns the marks into phases (run/marks.h) whose energy comes from
// the meters' readings around their instants. It returns one MeteredResult: the whole run's
// energy, each phase's energy and uncertainty, the child's metrics, attribution and notes,
// with one JSON shape (to_json) that all three callers write.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "carbon/carbon.h"
#include "energy/attribution.h"
#include "energy/session.h"
#include "run/process.h"
#include "run/reserved_names.h"

namespace gt::run {

struct MeteredRunOptions {
  energy::MeterOptions meters;
  carbon::CarbonOptions carbon;
  std::string attribution;  // "" or auto (process for estimates, machine for counters),
                            // process, machine
  bool live = false;        // a progress line on stderr every live_every_s
  double live_every_s = 5;
  double busy_idle_share = 0.2;  // an idle baseline busier than this is flagged
  bool scan_stdout = true;       // read greentrain-phase/-metric lines from the child's stdout
  // A phase whose energy uncertainty exceeds this share of its energy is flagged: the counter
  // could not resolve it well enough to compare it with others (docs/method.md, "Resolution").
  double flag_uncertainty_share = 0.05;
  // The check every metric and phase name from the child passes (run/reserved_names.h); a
  // caller adds the names it keeps (an experiment: its run fields and factors).
  NameCheck names;
};

struct PhaseResult {
  std::string name;
  std::string parent;    // the enclosing occurrence's path ("train" for train/epoch), or ""
  int occurrence = 1;    // 1-based, per path
  double t_begin_s = 0;  // since the run's window started
  energy::WindowEnergy energy;
  double co2e_g = 0;
  std::map<std::string, double> metrics;  // reported while this was the innermost open phase
  bool flagged = false;  // uncertainty above MeteredRunOptions::flag_uncertainty_share
  std::string path() const { return parent.empty() ? name : parent + "/" + name; }
  nlohmann::json to_json() const;
};

struct MeteredResult {
  ChildResult child;
  energy::Summary summary;  // the whole run, attributed
  std::vector<PhaseResult> phases;
  std::map<std::string, double> metrics;  // from the mark channel and stdout lines
  std::vector<std::string> notes;         // marks, attribution, idle baseline (also in summary)
  double co2e_g = 0;
  std::optional<double> wall_co2e_g;
  std::string attribution;              // the mode asked for: auto | process | machine
  std::optional<double> idle_cpu_busy;  // machine CPU busy share during the idle baseline
  bool idle_busy = false;               // above busy_idle_share: net energy is withheld
  bool interrupted = false;
  int exit_code = 0;  // the workload's, or 128+signal, or 127 when it could not start
  // Share of the machine's CPU capacity that was busy outside the run's process tree during the
  // run (0..1): other work on the machine that may have disturbed the measurement.
  std::optional<double> outside_cpu_share;
  int flagged_phases = 0;  // phases whose uncertainty was above the flag share

  // Per phase name (the last part of a nested phase's path), summed over its occurrences:
  // <phase>_energy_j, <phase>_net_energy_j (when every occurrence has it), <phase>_duration_s,
  // <phase>_gpu_energy_j (when a GPU is metered), <phase>_uncertainty_j (in quadrature).
  // A phase whose work the workload repeated R times inside it to outlast the counter's
  // resolution reports `metric <phase>_repetitions=R`: its figures here are per repetition (the
  // phases list keeps what was measured over the whole phase).
  std::map<std::string, double> phase_metrics() const;
  double repetitions(const std::string& phase) const;  // 1 unless reported
  // Summary keys (duration_s, energy_j, components, ...) plus co2e_g, wall_co2e_g, carbon,
  // phases, phase_metrics (a number, or a list when a phase repeated), metrics, exit_code,
  // attribution, idle.
  nlohmann::json to_json(const carbon::Intensity& intensity, double pue) const;
};

// A phase occurrence that ended while the run goes on (MeteredRun::run's observer): its energy
// from the meters' readings around its marks and the run's energy from its start to the phase's
// end, attributed as the run's window queries are (run/live_phases.h).
struct LivePhase {
  PhaseResult phase;
  energy::WindowEnergy run_so_far;
  double run_so_far_co2e_g = 0;
};
using PhaseObserver = std::function<void(const LivePhase&)>;

class MeteredRun {
 public:
  explicit MeteredRun(const MeteredRunOptions& options);
  ~MeteredRun();
  MeteredRun(const MeteredRun&) = delete;
  MeteredRun& operator=(const MeteredRun&) = delete;

  energy::Session& session();
  const carbon::Intensity& intensity() const;
  double pue() const;
  // Idle baseline of every meter; false when stop_requested() became true (then none is kept).
  // A baseline during which the machine was busier than busy_idle_share is flagged: a line
  // in `warning`, and every later result withholds its net energy.
  bool measure_idle(double seconds, const std::function<bool()>& stop_requested,
                    std::string* warning = nullptr);
  // Runs `spec` metered. `poll` is called about every 10 ms with the run's process group and
  // returns a signal to forward to it (0 = none; SIGTERM/SIGINT count as a stop).
  // `on_phase_end`, when given, is called on a thread of the run as each phase occurrence ends
  // (run/live_phases.h), and never after run() returns.
  MeteredResult run(ChildSpec spec, const ChildPoll& poll, const PhaseObserver& on_phase_end = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gt::run
