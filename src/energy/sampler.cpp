// Sampler implementation (see sampler.h).
#include "energy/sampler.h"

#include <time.h>

namespace gt::energy {
namespace {
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

Sampler::Sampler(std::vector<Meter*> meters, int interval_ms, bool keep_samples)
    : meters_(std::move(meters)), interval_(interval_ms), keep_(keep_samples) {}

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
}

void Sampler::start() {
  acc_.assign(meters_.size(), Accumulator{});
  samples_.clear();
  stopping_ = false;
  duration_s_ = cpu_s_ = 0;
  for (auto* m : meters_) m->begin();
  const double c0 = thread_cpu_s();
  t0_ = std::chrono::steady_clock::now();
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
    // Unlocked while reading, so stop() can say "stop" during a slow read and the loop ends
    // after it instead of starting another.
    lock.unlock();
    read_all(std::chrono::duration<double>(now - t0_).count(), false);
    lock.lock();
    next += interval_;
    if (next < now) next = now + interval_;  // a slow meter: skip missed ticks
  }
  cpu_s_ += thread_cpu_s() - c0;
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
}

}  // namespace gt::energy
