// Live phase reports (see live_phases.h).
#include "run/live_phases.h"

#include <chrono>

#include "energy/edges.h"

namespace gt::run {

LivePhases::LivePhases(energy::Session& session, double window_start_s,
                       const carbon::Intensity& intensity, double pue, int interval_ms,
                       energy::Attribution mode, PhaseObserver observer)
    : session_(session),
      t0_(window_start_s),
      intensity_(intensity),
      pue_(pue),
      lag_s_(2e-3 * interval_ms),
      mode_(mode),
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
  energy::WindowEnergy w = session_.window(session_.snapshot_at(a), session_.snapshot_at(b));
  // The attribution rule of energy/attribution.h: automatic is machine for measured counters.
  auto kept = [&](const ComponentEnergy& c) {
    if (c.component != "cpu" && c.component != "ram") return true;
    return mode_ == energy::Attribution::machine ||
           (mode_ == energy::Attribution::automatic && c.source == "measured");
  };
  std::erase_if(w.components, [&](const ComponentEnergy& c) { return !kept(c); });
  energy::recompute_totals(w.components, w.energy_j, w.net_energy_j, w.wall_energy_j);
  return w;
}

void LivePhases::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
    if (todo_.empty()) return;
    const PhaseSpan span = todo_.front();
    todo_.pop_front();
    // The readings after the phase's end: a sampling interval or two, unless the run is over.
    const double ready_at = t0_ + span.t_end_s + lag_s_;
    while (!stopping_ && energy::steady_now_s() < ready_at)
      cv_.wait_for(lock, std::chrono::duration<double>(ready_at - energy::steady_now_s()));
    lock.unlock();
    LivePhase live;
    live.phase.name = span.name;
    live.phase.parent = span.parent;
    live.phase.occurrence = span.occurrence;
    live.phase.t_begin_s = span.t_begin_s;
    live.phase.metrics = span.metrics;
    live.phase.energy = window(t0_ + span.t_begin_s, t0_ + span.t_end_s);
    live.phase.co2e_g = carbon::co2e_g(live.phase.energy.energy_j, intensity_, pue_);
    live.run_so_far = window(t0_, t0_ + span.t_end_s);
    live.run_so_far_co2e_g = carbon::co2e_g(live.run_so_far.energy_j, intensity_, pue_);
    try {
      observer_(live);
    } catch (const std::exception&) {
      // An observer's failure is its own (a publisher reports its own); the run goes on.
    }
    lock.lock();
  }
}

}  // namespace gt::run
