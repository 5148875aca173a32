// The run's process-tree and machine CPU usage over time, sampled on its own cadence (every
// 50 ms while the child runs, from the supervising thread's poll) rather than at each mark, so
// a mark costs no /proc scan. A window's share for the attribution (energy/attribution.h) is
// interpolated between the samples around its boundaries: the tree's CPU seconds, the
// machine's busy CPU seconds and the tree's mean resident memory. The tree is a process group
// (a metered run) or whatever a TreeReader returns (a process and its descendants, for a
// program metered from its own child). Thread-safe: one thread samples while another answers
// windows.
#pragma once
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "energy/attribution.h"

namespace gt::run {

class UsageTimeline {
 public:
  static constexpr double kEvery_s = 0.05;
  using TreeReader = std::function<energy::TreeUsage()>;
  // Samples the group and the machine at steady instant t_s when kEvery_s has passed since the
  // last sample (or always with force); returns whether it sampled.
  bool maybe_sample(int group, double t_s, bool force = false);
  bool maybe_sample(const TreeReader& tree, double t_s, bool force = false);
  // Samples now (energy::steady_now_s()) unless a sample at or after t_s exists: a window that
  // ends at t_s then has a sample on each side of its end.
  void sample_past(const TreeReader& tree, double t_s);
  // The tree's share over [a, b] (steady seconds).
  energy::TreeShare share(double a_s, double b_s) const;
  // The machine's busy CPU seconds over [a, b], and its capacity (CPU-seconds) over the same.
  std::optional<double> machine_busy_s(double a_s, double b_s) const;
  std::optional<double> machine_total_s(double a_s, double b_s) const;
  // The tree's CPU seconds over [a, b].
  double tree_cpu_s(double a_s, double b_s) const;
  bool empty() const;

 private:
  struct Sample {
    double t_s;
    energy::TreeUsage tree;
    std::optional<energy::MachineCpu> machine;
  };
  // With mu_ held: a quantity at t, interpolated linearly between the samples around it
  // (clamped at the ends), and the differences over [a, b].
  template <class Get>
  std::optional<double> at(double t_s, Get get) const;
  template <class Get>
  std::optional<double> difference(double a_s, double b_s, Get get) const;
  void add(const TreeReader& tree, double t_s);
  mutable std::mutex mu_;
  std::vector<Sample> samples_;
};

}  // namespace gt::run
