// Update edges of a stepping energy counter. The NVML energy counter does not advance
// continuously: it jumps about every 100 ms (93-109 ms measured on an H200), so a plain read
// at an instant lags the true cumulative energy by up to one step. An EdgeTracker polls the
// counter every few milliseconds on its own thread and keeps only the reads where the value
// changed, timestamped at the middle of the gap between the last read with the old value and
// the first with the new one. The cumulative energy at any instant t is then interpolated
// linearly between the edges around t (the energy of one step spread evenly over it), and the
// timing uncertainty of the two edges gives an uncertainty in joules. A window whose
// boundaries are interpolated this way has a CV several times smaller than plain reads for
// sub-second windows (see docs/method.md). Once the counter's period is known (two steps seen),
// the tracker sleeps after each edge until a quarter period before the next is due and polls only
// from there: a read costs milliseconds of the driver's time (4 ms on an H200), and continuous
// polling slowed a CUDA program starting beside it. With GREENTRAIN_EDGE_LOG=FILE set, every
// read (its start and end instants and the value) is appended to FILE as CSV when the tracker
// stops: the raw material for studying the counter's update instants on a given GPU.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "energy/meter.h"
#include "energy/session.h"

namespace gt::energy {

// Seconds on the monotonic clock (steady_clock's own origin); every timestamp shared between
// the samplers, snapshots and edge trackers of a session is on this scale.
double steady_now_s();

struct CounterEdge {
  double t_s = 0;         // estimated time of the change (steady seconds)
  double half_gap_s = 0;  // half the polling gap around it: the timing uncertainty
  double energy_j = 0;    // counter value after the change
};

struct InterpolatedEnergy {
  double energy_j = 0;       // cumulative counter value at the instant
  double uncertainty_j = 0;  // from the edges' timing uncertainty
};

// Pure interpolation over a sorted edge list: the value at t, when t lies between two edges. With
// the counter's period `step_s` (and the spread of the steps seen, for the uncertainty), an
// instant between the first read (edges[0]) and the first true edge is interpolated too: the
// first read's value is the previous edge's, which came one period before the first true edge.
std::optional<InterpolatedEnergy> interpolate_edges(const std::vector<CounterEdge>& edges,
                                                    double t_s,
                                                    std::optional<double> step_s = std::nullopt,
                                                    double step_spread_s = 0);

// Edges timed across a wide polling gap (a read that blocked, a poller not scheduled) are
// re-timed from the counter's regular period: each true edge's observed instant (the middle of
// its gap, uniform over +-half_gap) is combined, by inverse variance, with the instants its
// well-timed neighbours predict one period away (their own uncertainty plus the period's
// jitter), and kept inside the observed gap, where the update must have happened. Edges whose
// gap is no wider than `wide_s` are left as observed. `period_s` is the counter's median step,
// `jitter_s` the standard deviation of its steps.
std::vector<CounterEdge> retime_wide_edges(const std::vector<CounterEdge>& edges, double period_s,
                                           double jitter_s, double wide_s);

class EdgeTracker {
 public:
  EdgeTracker(Meter* meter, int poll_ms);
  ~EdgeTracker();
  EdgeTracker(const EdgeTracker&) = delete;
  EdgeTracker& operator=(const EdgeTracker&) = delete;
  void start();  // clears the edges and starts polling
  void stop();   // stops polling; the edges stay readable
  // Blocks until an edge later than t_s has been seen, at most `max_wait_s`. False on timeout.
  bool wait_past(double t_s, double max_wait_s);
  // The value at t_s, also before the first true edge once the period is known.
  std::optional<InterpolatedEnergy> energy_at(double t_s) const;
  std::vector<CounterEdge> edges() const;
  std::optional<double> median_step_s() const;  // the counter's update period, when seen
  // The counter's resolution over the tracker's life (session.h); device left empty.
  CounterResolution resolution() const;
  double cpu_s() const;   // CPU time the polling thread spent (the method's overhead)
  int64_t reads() const;  // counter reads so far

 private:
  void loop();
  std::chrono::duration<double> record(double t0, std::optional<double> v, double t1);
  std::vector<double> sorted_steps() const;
  Meter* meter_;
  std::chrono::milliseconds poll_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CounterEdge> edges_;            // edges_[0] is the first read (not a true edge)
  mutable std::vector<CounterEdge> retimed_;  // edges_ after retime_wide_edges(), cached
  bool stopping_ = false;
  double cpu_s_ = 0;
  int64_t reads_ = 0;
  std::optional<double> last_value_;  // the last read's value and time (middle of the read)
  double last_mid_ = 0;
  struct RawRead {
    double t0, t1;
    std::optional<double> value;
  };
  std::string log_path_;  // GREENTRAIN_EDGE_LOG: every read kept and appended there on stop()
  std::vector<RawRead> raw_;
  std::vector<double> read_costs_;  // each read's duration (seconds)
  std::thread thread_;
};

}  // namespace gt::energy
