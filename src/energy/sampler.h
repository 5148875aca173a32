// The sampler: one background thread that reads a set of meters every interval on the
// monotonic clock (steady_clock), feeds one Accumulator per meter and optionally keeps every
// sample. The first and last readings are taken synchronously in start() and stop(), so the
// window is exactly start()..stop(). It also measures its own CPU time (the overhead).
#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "energy/meter.h"
#include "energy/session.h"

namespace gt::energy {

class Sampler {
 public:
  Sampler(std::vector<Meter*> meters, int interval_ms, bool keep_samples, bool slow = false);
  ~Sampler();
  void start();
  void stop();  // joins the thread; results below are then stable
  // Reads every meter now (a slow sampler's meters are extrapolated from their latest reading
  // at its power instead) and returns each one's energy since start(). `steady_s` is the
  // instant on the steady_now_s() scale. Thread-safe while the sampler runs.
  std::vector<double> snapshot(double steady_s);
  // Each meter's energy since start() at the instant `steady_s`, interpolated linearly between
  // the readings around it (no meter is read): marks are dated when they happen and their
  // energy comes from the readings taken on the sampler's own cadence. Thread-safe.
  std::vector<double> energy_at(double steady_s) const;
  // Blocks until every meter has a reading at or after `steady_s`, the sampler has stopped, or
  // `max_wait_s` has passed; true when the readings are there. A window ending at `steady_s` is
  // then interpolated between readings rather than extrapolated past the last one.
  bool wait_reading_past(double steady_s, double max_wait_s) const;
  double duration_s() const { return duration_s_; }
  const std::vector<Accumulator>& accumulators() const { return acc_; }
  std::vector<Sample>& samples() { return samples_; }
  double cpu_s() const { return cpu_s_; }

 private:
  void read_all(double t, bool boundary);  // boundary: first or last read of the window
  void loop();
  std::vector<Meter*> meters_;
  std::chrono::milliseconds interval_;
  bool keep_, slow_;
  std::vector<Accumulator> acc_;
  std::vector<Sample> samples_;
  std::chrono::steady_clock::time_point t0_;
  double duration_s_ = 0, cpu_s_ = 0;
  std::mutex mu_;
  // A slow sampler holds mu_ during a blocking read, so snapshots use this copy instead.
  std::mutex cache_mu_;
  std::vector<double> cache_energy_j_, cache_power_w_, cache_t_s_;
  // Every reading's (seconds since start, energy since start), per meter, for energy_at().
  mutable std::mutex history_mu_;
  std::vector<std::vector<std::pair<double, double>>> history_;
  mutable std::condition_variable history_cv_;  // a reading was added, or the sampler stopped
  bool history_closed_ = false;                 // under history_mu_: no more readings come
  double t0_steady_s_ = 0;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gt::energy
