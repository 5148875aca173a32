// The energy session: the one object the rest of greentrain uses to meter a piece of work.
// A Session discovers the meters selected by MeterOptions (NVIDIA GPUs through NVML, RAPL or
// an estimate for the CPU and RAM, an optional wall meter), can measure an idle baseline, and
// between start() and stop() runs a background sampler thread on a monotonic clock. stop()
// returns a Summary: energy per component with its source (measured/estimated and the model),
// gross and net of idle, and optionally every sample. While it runs, snapshot() reads every
// meter at that instant and window(a, b) is the energy between two snapshots, per component,
// with the GPU counter's boundaries interpolated between its update edges (energy/edges.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/component_energy.h"
#include "energy/gpu_settings.h"

namespace gt::energy {

struct MeterOptions {
  int interval_ms = 100;  // sampling interval, 10 ms .. 60 s
  std::string gpus;       // "" = CUDA_VISIBLE_DEVICES or all; "0,2" or UUIDs; "none" = no GPU
  std::string wall;       // "" | cmd:<command> | http:<url>#<json-pointer> | manual | file:<csv>
  double idle_s = 0;      // idle baseline length in seconds (0 = none)
  std::optional<double> cpu_tdp_w, ram_watts;
  bool keep_samples = true;  // keep every sample in Summary::samples
  // How often the GPU energy counter (and clock, temperature, utilisation, memory) is read; it
  // costs milliseconds of CPU per call. Instant power is read every interval, and the window's
  // first and last reads always include the counter, so the energy stays exact.
  int gpu_counter_ms = 2000;
  // How often a stepping energy counter (NVML) is polled for its update edges, so snapshots
  // between two updates are interpolated; 0 = off (plain counter reads at snapshots).
  int gpu_edge_ms = 5;
};

// The command-line flags that fill MeterOptions live in cli/meter_options.h.

using ComponentEnergy = gt::ComponentEnergy;

// Every meter read at one instant of a started window (Session::snapshot).
struct Snapshot {
  double t_s = 0;                // seconds since start()
  double steady_s = 0;           // the same instant on the monotonic clock (edges.h)
  std::vector<double> energy_j;  // cumulative energy since start(), one per Session::meters()
  double energy_total_j = 0;     // gpu + cpu + ram at this instant (live display)
};

// The energy between two snapshots, per component.
struct WindowEnergy {
  double duration_s = 0;
  std::vector<ComponentEnergy> components;  // avg_power_w, net (with an idle baseline), ...
  double energy_j = 0;                      // gpu + cpu + ram
  std::optional<double> net_energy_j, wall_energy_j;
  double uncertainty_j = 0;  // of the measured components, combined in quadrature
  double component_energy_j(Component component) const;
  nlohmann::json to_json() const;
};

struct Sample {
  double t_s = 0;  // seconds since start()
  Component component = Component::gpu;
  std::string device;
  double power_w = 0;   // instant (or interval-average) power
  double energy_j = 0;  // energy of this component since start()
  std::optional<double> sm_clock_mhz, temperature_c, utilization_pct, memory_used_mb;  // GPU only
};

// What a stepping energy counter (NVML) could resolve during a window: its update period as the
// edge tracker saw it, the spread of that period, what one read cost, and how closely the
// update instants were timed (the median half-gap of the polls around an edge).
struct CounterResolution {
  std::string device;
  double period_s = 0, period_spread_s = 0;  // median step; p90 - p10 of the steps
  double read_cost_s = 0;                    // median duration of one counter read
  double edge_timing_s = 0;                  // median timing uncertainty of an edge
  int64_t reads = 0, edges = 0;
  nlohmann::json to_json() const;
};

struct Summary {
  double duration_s = 0;
  std::vector<ComponentEnergy> components;
  double energy_j = 0;  // gpu + cpu + ram (wall is reported separately)
  std::optional<double> net_energy_j, wall_energy_j;
  std::vector<Sample> samples;
  bool interrupted = false;
  double sampler_cpu_s = 0;                 // CPU time spent by the sampler threads (overhead)
  std::vector<CounterResolution> counters;  // one per edge-tracked GPU counter
  std::vector<GpuSettings> gpu_settings;    // one per metered GPU: limits, clocks, throttling
  std::vector<std::string> notes;           // what was estimated or missing, in words
  nlohmann::json to_json() const;           // keys carry units: duration_s, energy_j, ...
  double component_energy_j(Component component) const;  // sum over devices
};

// One component's JSON object (component, device, source, model, attribution, energy_j, ...).
nlohmann::json component_json(const ComponentEnergy& c);

// Writes the samples as CSV: t_s,component,device,power_w,energy_j,sm_clock_mhz,...
void write_trace_csv(const Summary& summary, const std::string& path);

class Session {
 public:
  explicit Session(const MeterOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  nlohmann::json environment() const;  // GPUs (name, UUID, driver, power limit), CPU, RAM, meters
  // Idle baseline of every component: blocks for `seconds`, or until stop_requested() is true
  // (polled every 50 ms); returns false, keeping the previous baseline, when interrupted.
  bool measure_idle(double seconds, const std::function<bool()>& stop_requested = {});
  // Share of the machine's CPU time that was busy during the last idle baseline (0..1).
  std::optional<double> idle_cpu_busy() const;
  bool has_idle_baseline() const;  // measure_idle() completed at least once
  // Facts the process attribution needs: logical CPUs, installed RAM, the CPU estimate's TDP.
  struct Facts {
    int logical_cpus = 1;
    std::optional<double> ram_total_bytes, cpu_tdp_w;
  };
  Facts facts() const;
  void start();             // starts the sampler thread
  Summary stop();           // stops it and summarises; start() may be called again
  void mark_interrupted();  // the next Summary says interrupted = true

  // The meters in Snapshot::energy_j order (component, device, source, model; no energy).
  std::vector<ComponentEnergy> meters() const;
  // Reads every fast meter now (the NVML counter included; a slow wall meter is extrapolated
  // from its latest reading). Thread-safe; only between start() and stop().
  Snapshot snapshot();
  // The meters' energy at a past instant of the current (or just stopped) window, `steady_s`
  // on the steady_now_s() scale, from the readings the samplers took (nothing is read, so it
  // costs microseconds): how marks are dated. GPU counters are interpolated on their update
  // edges by window().
  Snapshot snapshot_at(double steady_s) const;
  double start_steady_s() const;  // start() on the steady_now_s() scale
  // Blocks until every sampler has a reading at or after `steady_s` and every GPU edge tracker
  // has seen an update edge after it (or the window stopped, or `max_wait_s` passed), so that
  // snapshot_at(steady_s) interpolates between readings instead of extrapolating past the last
  // one. True when everything arrived. Not to be called across a stop() and the next start().
  bool wait_readings_past(double steady_s, double max_wait_s) const;
  // Energy between two snapshots of the current (or just stopped) window. Waits up to 0.5 s
  // for the GPU counter's next update edge after `b` when the window is still running.
  WindowEnergy window(const Snapshot& a, const Snapshot& b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gt::energy
