// The energy session: the one object the rest of greentrain uses to meter a piece of work.
// A Session discovers the meters selected by MeterOptions (NVIDIA GPUs through NVML, RAPL or
// an estimate for the CPU and RAM, an optional wall meter), can measure an idle baseline, and
// between start() and stop() runs a background sampler thread on a monotonic clock. stop()
// returns a Summary: energy per component with its source (measured/estimated and the model),
// gross and net of idle, and optionally every sample. Its JSON is what measure and train print.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/component_energy.h"

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
};

// Adds --interval-ms, --gpus, --wall, --idle, --cpu-tdp, --ram-watts, --gpu-counter-ms.
void add_meter_options(CLI::App& cmd, MeterOptions& opts);

using ComponentEnergy = gt::ComponentEnergy;

struct Sample {
  double t_s = 0;  // seconds since start()
  std::string component, device;
  double power_w = 0;   // instant (or interval-average) power
  double energy_j = 0;  // energy of this component since start()
  std::optional<double> sm_clock_mhz, temperature_c, utilization_pct, memory_used_mb;  // GPU only
};

struct Summary {
  double duration_s = 0;
  std::vector<ComponentEnergy> components;
  double energy_j = 0;  // gpu + cpu + ram (wall is reported separately)
  std::optional<double> net_energy_j, wall_energy_j;
  std::vector<Sample> samples;
  bool interrupted = false;
  double sampler_cpu_s = 0;        // CPU time spent by the sampler threads (overhead)
  std::vector<std::string> notes;  // what was estimated or missing, in words
  nlohmann::json to_json() const;  // keys carry units: duration_s, energy_j, ...
  double component_energy_j(const std::string& component) const;  // sum over devices
};

// Writes the samples as CSV: t_s,component,device,power_w,energy_j,sm_clock_mhz,...
void write_trace_csv(const Summary& summary, const std::string& path);

class Session {
 public:
  explicit Session(const MeterOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  nlohmann::json environment() const;  // GPUs (name, UUID, driver, power limit), CPU, RAM, meters
  void measure_idle(double seconds);   // idle baseline of every component (blocks for `seconds`)
  void start();                        // starts the sampler thread
  Summary stop();                      // stops it and summarises; start() may be called again
  void mark_interrupted();             // the next Summary says interrupted = true

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gt::energy
