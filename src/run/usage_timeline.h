// The run's process-tree and machine CPU usage over time, sampled on its own cadence (every
// 50 ms while the child runs, from the supervising thread's poll) rather than at each mark, so
// a mark costs no /proc scan. A window's share for the attribution (energy/attribution.h) is
// interpolated between the samples around its boundaries: the tree's CPU seconds, the
// machine's busy CPU seconds and the tree's mean resident memory.
#pragma once
#include <optional>
#include <vector>

#include "energy/attribution.h"

namespace gt::run {

class UsageTimeline {
 public:
  static constexpr double kEvery_s = 0.05;
  // Samples the group and the machine at steady instant t_s when kEvery_s has passed since the
  // last sample (or always with force); returns whether it sampled.
  bool maybe_sample(int group, double t_s, bool force = false);
  // The tree's share over [a, b] (steady seconds).
  energy::TreeShare share(double a_s, double b_s) const;
  // The machine's busy CPU seconds over [a, b], and its capacity (CPU-seconds) over the same.
  std::optional<double> machine_busy_s(double a_s, double b_s) const;
  std::optional<double> machine_total_s(double a_s, double b_s) const;
  // The tree's CPU seconds over [a, b].
  double tree_cpu_s(double a_s, double b_s) const;
  bool empty() const { return samples_.empty(); }

 private:
  struct Sample {
    double t_s;
    energy::TreeUsage tree;
    std::optional<energy::MachineCpu> machine;
  };
  // A quantity at t, interpolated linearly between the samples around it (clamped at the ends).
  template <class Get>
  std::optional<double> at(double t_s, Get get) const;
  std::vector<Sample> samples_;
};

}  // namespace gt::run
