// The Meter interface every energy source implements (NVML GPU, RAPL zone, CPU and RAM
// estimates, wall meters). A meter is read by one sampler thread at a time; each Reading gives
// instant power and/or a cumulative energy counter. The Accumulator turns a series of readings
// into energy, average and peak power: counter difference when the meter has a counter,
// otherwise integration of power over time (trapezoid for instant power, rectangle for power
// that is already an average over the interval since the previous reading). Implausible
// readings (NaN, negative, beyond 10 MW, a counter going backwards) are missed samples.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/vocabulary.h"
#include "energy/gpu_settings.h"

namespace gt::energy {

struct Reading {
  std::optional<double> power_w;   // instant power, or interval average (see power_is_average)
  std::optional<double> energy_j;  // cumulative counter in J (any origin, wrap already handled)
  bool power_is_average = false;   // power_w is the mean since the previous reading
  std::optional<double> sm_clock_mhz, temperature_c, utilization_pct, memory_used_mb;
};

class Meter {
 public:
  virtual ~Meter() = default;
  virtual Component component() const = 0;
  virtual std::string device() const = 0;
  virtual Source source() const = 0;
  virtual std::string model() const = 0;  // how the number is obtained, in words
  virtual Reading read() = 0;             // called by the sampler each interval
  // The first and last read of a window: a meter that reads an expensive counter only on some
  // ticks reads everything here, so the window's energy is exact.
  virtual Reading read_boundary() { return read(); }
  virtual void begin() {}  // a measurement window starts (before first read)
  // A window of `duration_s` ended; a meter that only knows the window's total (manual, file)
  // returns it here, overriding the sampled value.
  virtual std::optional<double> end(double /*duration_s*/) { return std::nullopt; }
  virtual bool slow() const { return false; }  // blocking reads: own sampler thread
  // The cumulative energy counter alone (J, any origin), for a meter whose counter advances in
  // coarse steps (counter_steps()): an EdgeTracker polls it to find the update edges.
  virtual std::optional<double> read_energy_counter() { return std::nullopt; }
  virtual bool counter_steps() const { return false; }
  virtual bool can_measure_idle() const { return true; }
  virtual nlohmann::json environment() const { return nlohmann::json::object(); }
  // A GPU's limits, clocks and persistence as read when the window began, and the throttle
  // reasons its readings saw since (energy/gpu_settings.h); nullopt for every other meter.
  virtual std::optional<GpuSettings> gpu_settings() const { return std::nullopt; }
};

class Accumulator {
 public:
  void add(double t_s, const Reading& r);
  double energy_j() const;
  double peak_power_w() const { return peak_w_; }
  bool has_data() const { return n_ > 0; }
  // Power at the latest reading: instant power, or derived from the counter.
  double last_power_w() const { return last_power_w_; }
  double last_t_s() const { return last_t_; }  // time of the latest reading

 private:
  int n_ = 0;
  bool have_origin_ = false;
  double last_t_ = 0;
  std::optional<double> last_counter_;  // the latest counter value, and when it was read
  double last_counter_t_ = 0;
  std::optional<double> last_power_;
  double counter_j_ = 0;  // sum of the counter's plausible increments
  double integrated_j_ = 0, peak_w_ = 0, last_power_w_ = 0;
};

}  // namespace gt::energy
