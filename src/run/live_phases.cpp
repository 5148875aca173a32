// Live phase reports (see live_phases.h).
#include "run/live_phases.h"

namespace gt::run {

LivePhases::LivePhases(energy::Session& session, double window_start_s,
                       WindowAnswers::Options answers, PhaseObserver observer)
    : session_(session),
      t0_(window_start_s),
      answers_(std::move(answers)),
      observer_(std::move(observer)),
      thread_([this] { loop(); }) {}

LivePhases::~LivePhases() { stop(); }

void LivePhases::add(const Mark& mark, double t_steady_s) {
  if (mark.kind == Mark::Kind::metric) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    book_.add(mark, t_steady_s - t0_);
    const auto& spans = book_.spans();
    for (; filed_ < spans.size(); ++filed_) todo_.push_back(spans[filed_]);
  }
  cv_.notify_all();
}

void LivePhases::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

energy::WindowEnergy LivePhases::window(double a, double b) const {
  session_.wait_readings_past(b, answers_.max_wait_s);  // at once once the session stopped
  const WindowAttribution& how = answers_.attribution;
  if (how.sample_past) how.sample_past(b);
  return window_energy(session_, a, b, how);
}

void LivePhases::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
    if (todo_.empty()) return;
    const PhaseSpan span = todo_.front();
    todo_.pop_front();
    lock.unlock();
    LivePhase live;
    live.phase.name = span.name;
    live.phase.parent = span.parent;
    live.phase.occurrence = span.occurrence;
    live.phase.t_begin_s = span.t_begin_s;
    live.phase.metrics = span.metrics;
    live.phase.energy = window(t0_ + span.t_begin_s, t0_ + span.t_end_s);
    live.phase.co2e_g =
        carbon::co2e_g(live.phase.energy.energy_j, answers_.intensity, answers_.pue);
    live.run_so_far = window(t0_, t0_ + span.t_end_s);
    live.run_so_far_co2e_g =
        carbon::co2e_g(live.run_so_far.energy_j, answers_.intensity, answers_.pue);
    try {
      observer_(live);
    } catch (const std::exception&) {
      // An observer's failure is its own (a publisher reports its own); the run goes on.
    }
    lock.lock();
  }
}

}  // namespace gt::run
