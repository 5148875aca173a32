// Sampler implementation (see sampler.h).
#include "energy/sampler.h"

#include <time.h>

#include <algorithm>

namespace gt::energy {
namespace {
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

Sampler::Sampler(std::vector<Meter*> meters, int interval_ms, bool keep_samples, bool slow)
    : meters_(std::move(meters)), interval_(interval_ms), keep_(keep_samples), slow_(slow) {}

Sampler::~Sampler() {
  if (thread_.joinable()) stop();
}

void Sampler::read_all(double t, bool boundary) {
  for (size_t i = 0; i < meters_.size(); ++i) {
    Reading r = boundary ? meters_[i]->read_boundary() : meters_[i]->read();
    acc_[i].add(t, r);
    if (keep_ && (r.power_w || r.energy_j)) {
      samples_.push_back({t, meters_[i]->component(), meters_[i]->device(), acc_[i].last_power_w(),
                          acc_[i].energy_j(), r.sm_clock_mhz, r.temperature_c, r.utilization_pct,
                          r.memory_used_mb});
    }
  }
  {
    std::lock_guard lock(history_mu_);
    history_.resize(meters_.size());
    for (size_t i = 0; i < meters_.size(); ++i) {
      auto& h = history_[i];
      if (h.empty() || t >= h.back().first) h.emplace_back(t, acc_[i].energy_j());
    }
  }
  history_cv_.notify_all();
  if (slow_) {
    std::lock_guard lock(cache_mu_);
    cache_energy_j_.resize(meters_.size());
    cache_power_w_.resize(meters_.size());
    cache_t_s_.resize(meters_.size());
    for (size_t i = 0; i < meters_.size(); ++i) {
      cache_energy_j_[i] = acc_[i].energy_j();
      cache_power_w_[i] = acc_[i].last_power_w();
      cache_t_s_[i] = acc_[i].last_t_s();
    }
  }
}

void Sampler::start() {
  acc_.assign(meters_.size(), Accumulator{});
  samples_.clear();
  {
    std::lock_guard lock(history_mu_);
    history_.assign(meters_.size(), {});
    history_closed_ = false;
  }
  stopping_ = false;
  duration_s_ = cpu_s_ = 0;
  for (auto* m : meters_) m->begin();
  const double c0 = thread_cpu_s();
  t0_ = std::chrono::steady_clock::now();
  t0_steady_s_ = std::chrono::duration<double>(t0_.time_since_epoch()).count();
  read_all(0.0, true);
  cpu_s_ += thread_cpu_s() - c0;
  thread_ = std::thread([this] { loop(); });
}

void Sampler::loop() {
  const double c0 = thread_cpu_s();
  auto next = t0_ + interval_;
  std::unique_lock lock(mu_);
  while (!cv_.wait_until(lock, next, [this] { return stopping_; })) {
    const auto now = std::chrono::steady_clock::now();
    // A slow sampler reads unlocked, so stop() can say "stop" during a blocking read and the
    // loop ends after it instead of starting another (its snapshots use the cache, not mu_; a
    // fast sampler's snapshot() relies on mu_ to never read beside this thread).
    if (slow_) lock.unlock();
    read_all(std::chrono::duration<double>(now - t0_).count(), false);
    if (slow_) lock.lock();
    next += interval_;
    if (next < now) next = now + interval_;  // a slow meter: skip missed ticks
  }
  cpu_s_ += thread_cpu_s() - c0;
}

std::vector<double> Sampler::snapshot(double steady_s) {
  std::vector<double> out(meters_.size(), 0.0);
  const double t0 =
      std::chrono::duration<double>(t0_.time_since_epoch()).count();  // steady_now_s() scale
  const double t = steady_s - t0;
  std::unique_lock lock(mu_, std::defer_lock);
  if (!slow_) {
    lock.lock();  // waits for a read in progress; a slow meter's read would block too long
    const double c0 = thread_cpu_s();
    read_all(t, true);
    cpu_s_ += thread_cpu_s() - c0;
    for (size_t i = 0; i < meters_.size(); ++i) out[i] = acc_[i].energy_j();
    return out;
  }
  std::lock_guard cache(cache_mu_);
  for (size_t i = 0; i < meters_.size() && i < cache_energy_j_.size(); ++i)
    out[i] = cache_energy_j_[i] + cache_power_w_[i] * std::max(0.0, t - cache_t_s_[i]);
  return out;
}

std::vector<double> Sampler::energy_at(double steady_s) const {
  const double t = steady_s - t0_steady_s_;
  std::lock_guard lock(history_mu_);
  std::vector<double> out(history_.size(), 0.0);
  for (size_t i = 0; i < history_.size(); ++i) {
    const auto& h = history_[i];
    if (h.empty()) continue;
    const auto hi = std::lower_bound(h.begin(), h.end(), std::make_pair(t, -1e300));
    if (hi == h.begin()) {
      out[i] = h.front().second;
    } else if (hi == h.end()) {
      // After the latest reading (the window still runs): at the latest interval's power.
      const auto& b = h.back();
      double p = 0;
      if (h.size() >= 2) {
        const auto& a = h[h.size() - 2];
        p = b.first > a.first ? (b.second - a.second) / (b.first - a.first) : 0;
      }
      out[i] = b.second + p * (t - b.first);
    } else {
      const auto& b = *hi;
      const auto& a = *(hi - 1);
      const double f = b.first > a.first ? (t - a.first) / (b.first - a.first) : 1.0;
      out[i] = a.second + f * (b.second - a.second);
    }
  }
  return out;
}

bool Sampler::wait_reading_past(double steady_s, double max_wait_s) const {
  const double t = steady_s - t0_steady_s_;
  std::unique_lock lock(history_mu_);
  auto past = [&] {
    for (const auto& h : history_)
      if (h.empty() || h.back().first < t) return false;
    return true;
  };
  history_cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.0, max_wait_s)),
                       [&] { return history_closed_ || past(); });
  return past();
}

void Sampler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  const double c0 = thread_cpu_s();
  const auto now = std::chrono::steady_clock::now();
  duration_s_ = std::chrono::duration<double>(now - t0_).count();
  read_all(duration_s_, true);
  cpu_s_ += thread_cpu_s() - c0;
  {
    std::lock_guard lock(history_mu_);
    history_closed_ = true;
  }
  history_cv_.notify_all();
}

}  // namespace gt::energy
