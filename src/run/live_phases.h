// Phases reported while the run goes on: a metered run feeds every dated mark here as it
// arrives (from its reader threads, so add() only files the mark), and a thread of this object
// reports each phase occurrence that ends, with its energy between its marks and the run's
// energy from its start to the phase's end, both from the meters' readings around those
// instants. The observer (a Prometheus publisher) sees a running experiment's phases as they
// finish. Only the components whose figures the finished result keeps as the meters give them
// are reported: GPUs, wall meters, and CPU and RAM when the run attributes them to the machine;
// a CPU or RAM figure the result attributes to the run's processes comes with the result, so a
// live figure never exceeds the final one.
#pragma once
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "run/marks.h"
#include "run/metered_run.h"

namespace gt::run {

class LivePhases {
 public:
  // `window_start_s`: the run's start on the steady clock; marks are dated on that clock.
  LivePhases(energy::Session& session, double window_start_s, const carbon::Intensity& intensity,
             double pue, int interval_ms, energy::Attribution mode, PhaseObserver observer);
  ~LivePhases();
  LivePhases(const LivePhases&) = delete;
  LivePhases& operator=(const LivePhases&) = delete;

  void add(const Mark& mark, double t_steady_s);  // quick: files the mark
  // Reports the phases that ended before the window closed, then ends the thread. Call after
  // the session stopped: no report then waits for a reading.
  void stop();

 private:
  void loop();
  energy::WindowEnergy window(double a_steady_s, double b_steady_s) const;
  energy::Session& session_;
  double t0_;
  carbon::Intensity intensity_;
  double pue_;
  double lag_s_;  // how long after a phase's end its readings are all in
  energy::Attribution mode_;
  PhaseObserver observer_;
  std::mutex mu_;
  std::condition_variable cv_;
  PhaseBook book_;
  size_t filed_ = 0;            // spans of book_ already queued
  std::deque<PhaseSpan> todo_;  // ended, not yet reported
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gt::run
