// Phases reported while the run goes on: a metered run feeds every dated mark here as it
// arrives (from its reader threads, so add() only files the mark), and a thread of this object
// reports each phase occurrence that ends, with its energy between its marks and the run's
// energy from its start to the phase's end, answered as the run's window queries are
// (run/windows.h: once readings past the end exist, attributed to the run's process tree as the
// run's result will be). The observer (a Prometheus publisher) sees a running experiment's
// phases as they finish; the finished run's result supersedes them.
#pragma once
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "run/marks.h"
#include "run/metered_run.h"
#include "run/windows.h"

namespace gt::run {

class LivePhases {
 public:
  // `window_start_s`: the run's start on the steady clock; marks are dated on that clock.
  // `answers`: how the run answers its window queries (attribution, carbon, the wait).
  LivePhases(energy::Session& session, double window_start_s, WindowAnswers::Options answers,
             PhaseObserver observer);
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
  WindowAnswers::Options answers_;
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
