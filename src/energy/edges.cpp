// EdgeTracker and edge interpolation (see edges.h).
#include "energy/edges.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace gt::energy {

double steady_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {
std::optional<InterpolatedEnergy> between(const CounterEdge& a, const CounterEdge& b, double t_s) {
  const double span = b.t_s - a.t_s;
  if (!(span > 0)) return std::nullopt;
  const double step_j = b.energy_j - a.energy_j;
  const double f = std::clamp((t_s - a.t_s) / span, 0.0, 1.0);
  InterpolatedEnergy out;
  out.energy_j = a.energy_j + f * step_j;
  // Moving either edge by its timing uncertainty shifts the interpolated value by the mean
  // power of the step times that shift (weighted by how close t is to that edge).
  const double power = step_j / span;
  out.uncertainty_j = power * std::hypot((1 - f) * a.half_gap_s, f * b.half_gap_s);
  return out;
}
}  // namespace

std::optional<InterpolatedEnergy> interpolate_edges(const std::vector<CounterEdge>& edges,
                                                    double t_s, std::optional<double> step_s,
                                                    double step_spread_s) {
  // edges[0] is the first read, whose value held since an edge that was not seen: before the
  // first true edge only a known period places that edge (one period earlier). An instant after
  // the first read but before that estimate (the steps jitter) takes the first read's value; one
  // before the first read (a tracker starts on its own thread) is fine if after the estimate.
  if (step_s && *step_s > 0 && edges.size() >= 2 && t_s < edges[1].t_s &&
      (t_s >= edges[0].t_s || t_s >= edges[1].t_s - *step_s)) {
    const CounterEdge previous{edges[1].t_s - *step_s, edges[1].half_gap_s + 0.5 * step_spread_s,
                               edges[0].energy_j};
    return between(previous, edges[1], t_s);
  }
  if (edges.size() < 3 || t_s < edges[1].t_s || t_s > edges.back().t_s) return std::nullopt;
  // The first true edge at or after t (edges are sorted by time): t lies in [k-1, k].
  const auto it = std::lower_bound(edges.begin() + 1, edges.end(), t_s,
                                   [](const CounterEdge& e, double t) { return e.t_s < t; });
  const size_t k = std::max<size_t>(2, static_cast<size_t>(it - edges.begin()));
  return between(edges[k - 1], edges[k], t_s);
}

std::vector<CounterEdge> retime_wide_edges(const std::vector<CounterEdge>& edges, double period_s,
                                           double jitter_s, double wide_s) {
  std::vector<CounterEdge> out = edges;
  if (!(period_s > 0) || edges.size() < 4) return out;
  // A uniform timing error over +-h has standard deviation h/sqrt(3).
  auto sd = [](const CounterEdge& e) { return e.half_gap_s / std::sqrt(3.0); };
  for (size_t k = 1; k < edges.size(); ++k) {
    const CounterEdge& e = edges[k];
    if (e.half_gap_s <= wide_s) continue;
    double w_sum = 1.0 / std::max(1e-12, sd(e) * sd(e));
    double t_sum = e.t_s * w_sum;
    // Neighbours one period before and after, when they are true edges timed closely.
    for (const size_t j : {k - 1, k + 1}) {
      if (j < 1 || j >= edges.size() || edges[j].half_gap_s > wide_s) continue;
      // One period apart, within both edges' timing and the period's jitter; anything else
      // (an update missed between them) predicts nothing.
      const double dt = e.t_s - edges[j].t_s;
      if (std::abs(std::abs(dt) - period_s) > e.half_gap_s + edges[j].half_gap_s + 3 * jitter_s)
        continue;
      const double predicted = edges[j].t_s + (dt > 0 ? period_s : -period_s);
      const double var = sd(edges[j]) * sd(edges[j]) + jitter_s * jitter_s;
      const double w = 1.0 / std::max(1e-12, var);
      w_sum += w;
      t_sum += predicted * w;
    }
    const double t = std::clamp(t_sum / w_sum, e.t_s - e.half_gap_s, e.t_s + e.half_gap_s);
    // The combined standard deviation, back on the half-gap scale the interpolation uses.
    const double half = std::min(e.half_gap_s, std::sqrt(3.0 / w_sum));
    out[k].t_s = t;
    out[k].half_gap_s = half;
  }
  return out;
}

EdgeTracker::EdgeTracker(Meter* meter, int poll_ms) : meter_(meter), poll_(poll_ms) {
  if (const char* log = std::getenv("GREENTRAIN_EDGE_LOG"); log && *log) log_path_ = log;
}

EdgeTracker::~EdgeTracker() { stop(); }

void EdgeTracker::start() {
  stop();
  {
    std::lock_guard lock(mu_);
    edges_.clear();
    retimed_.clear();
    stopping_ = false;
    cpu_s_ = 0;
    reads_ = 0;
    last_value_.reset();
    raw_.clear();
    read_costs_.clear();
  }
  // The first read here, so that it precedes everything the caller does after start(): an
  // instant after it and before the first edge can then be interpolated (interpolate_edges).
  const double t0 = steady_now_s();
  const std::optional<double> v = meter_->read_energy_counter();
  const double t1 = steady_now_s();
  {
    std::lock_guard lock(mu_);
    record(t0, v, t1);
  }
  thread_ = std::thread([this] { loop(); });
}

void EdgeTracker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (log_path_.empty() || raw_.empty()) return;
  if (std::FILE* f = std::fopen(log_path_.c_str(), "a")) {
    for (const auto& r : raw_)
      std::fprintf(f, "%s,%.6f,%.6f,%.3f\n", meter_->device().c_str(), r.t0, r.t1,
                   r.value ? *r.value : -1.0);
    std::fclose(f);
  }
  raw_.clear();
}

namespace {
double thread_cpu_now_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

double EdgeTracker::cpu_s() const {
  std::lock_guard lock(mu_);
  return cpu_s_;
}

int64_t EdgeTracker::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

// With mu_ held: one read's bookkeeping; returns how long to pause before the next read.
std::chrono::duration<double> EdgeTracker::record(double t0, std::optional<double> v, double t1) {
  ++reads_;
  if (!log_path_.empty()) raw_.push_back({t0, t1, v});
  if (read_costs_.size() < 100000) read_costs_.push_back(t1 - t0);
  const double mid = 0.5 * (t0 + t1);
  std::chrono::duration<double> pause = poll_;
  if (!v) return pause;
  if (!last_value_) {
    edges_.push_back({mid, 0.5 * (t1 - t0), *v});
  } else if (*v != *last_value_) {
    edges_.push_back({0.5 * (last_mid_ + mid), 0.5 * (mid - last_mid_), *v});
    cv_.notify_all();
    // The shortest of the last three steps (true steps start at edges_[1]): sleep until a
    // quarter of it before the next edge is due.
    double step = 0;
    for (size_t k = edges_.size() - 1; k >= 2 && k + 3 >= edges_.size(); --k) {
      const double d = edges_[k].t_s - edges_[k - 1].t_s;
      step = step > 0 ? std::min(step, d) : d;
    }
    const double wake = edges_.back().t_s + 0.75 * step - steady_now_s();
    if (step > 0 && wake > pause.count()) pause = std::chrono::duration<double>(wake);
  }
  last_value_ = v;
  last_mid_ = mid;
  return pause;
}

void EdgeTracker::loop() {
  const double cpu0 = thread_cpu_now_s();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const double t0 = steady_now_s();
    std::optional<double> v = meter_->read_energy_counter();
    const double t1 = steady_now_s();
    lock.lock();
    const auto pause = record(t0, v, t1);
    cv_.wait_for(lock, pause, [this] { return stopping_; });
  }
  cpu_s_ = thread_cpu_now_s() - cpu0;
  cv_.notify_all();
}

bool EdgeTracker::wait_past(double t_s, double max_wait_s) {
  std::unique_lock lock(mu_);
  // Two true edges at least, so the period is known: a window inside the counter's first step
  // is then interpolated in that step too (interpolate_edges), not read as no energy at all.
  auto done = [&] { return edges_.size() > 2 && edges_.back().t_s > t_s; };
  return cv_.wait_for(lock, std::chrono::duration<double>(max_wait_s), [&] {
    return stopping_ || done();
  }) && done();
}

// With mu_ held: the true steps seen so far (they start at edges_[1]), shortest first.
std::vector<double> EdgeTracker::sorted_steps() const {
  std::vector<double> steps;
  for (size_t k = 2; k < edges_.size(); ++k) steps.push_back(edges_[k].t_s - edges_[k - 1].t_s);
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::optional<InterpolatedEnergy> EdgeTracker::energy_at(double t_s) const {
  std::lock_guard lock(mu_);
  const std::vector<double> steps = sorted_steps();
  if (steps.empty()) return interpolate_edges(edges_, t_s);
  const double period = steps[steps.size() / 2];
  if (retimed_.size() != edges_.size()) {
    // The steps' jitter from their middle 80 % (a wide gap or a missed update is no jitter);
    // a gap wider than three typical polling gaps is wide.
    const double jitter = (steps[steps.size() * 9 / 10] - steps[steps.size() / 10]) / 2.56;
    std::vector<double> gaps;
    for (size_t k = 1; k < edges_.size(); ++k) gaps.push_back(edges_[k].half_gap_s);
    std::sort(gaps.begin(), gaps.end());
    const double wide = std::max(3 * gaps[gaps.size() / 2], 0.003);
    // Only a counter that steps much more slowly than it is polled has a period to lean on;
    // one that changes at (almost) every read is interpolated between its reads as they are.
    retimed_ = period >= 8 * gaps[gaps.size() / 2] ? retime_wide_edges(edges_, period, jitter, wide)
                                                   : edges_;
  }
  return interpolate_edges(retimed_, t_s, period, steps.back() - steps.front());
}

std::vector<CounterEdge> EdgeTracker::edges() const {
  std::lock_guard lock(mu_);
  return edges_;
}

std::optional<double> EdgeTracker::median_step_s() const {
  std::lock_guard lock(mu_);
  const std::vector<double> steps = sorted_steps();
  if (steps.empty()) return std::nullopt;
  return steps[steps.size() / 2];
}

CounterResolution EdgeTracker::resolution() const {
  std::lock_guard lock(mu_);
  CounterResolution r;
  r.reads = reads_;
  r.edges = edges_.size() > 1 ? static_cast<int64_t>(edges_.size() - 1) : 0;
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const std::vector<double> steps = sorted_steps();
  if (!steps.empty()) {
    r.period_s = steps[steps.size() / 2];
    r.period_spread_s = steps[steps.size() * 9 / 10] - steps[steps.size() / 10];
  }
  r.read_cost_s = median(read_costs_);
  std::vector<double> gaps;
  for (size_t k = 1; k < edges_.size(); ++k) gaps.push_back(edges_[k].half_gap_s);
  r.edge_timing_s = median(gaps);
  return r;
}

}  // namespace gt::energy
