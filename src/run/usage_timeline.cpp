// UsageTimeline (see usage_timeline.h).
#include "run/usage_timeline.h"

#include <algorithm>
#include <cmath>

#include "energy/edges.h"

namespace gt::run {
namespace {
std::optional<double> tree_cpu(const energy::TreeUsage& u) { return u.cpu_s; }
}  // namespace

void UsageTimeline::add(const TreeReader& tree, double t_s) {
  Sample s{t_s, tree(), energy::read_machine_cpu()};
  // The tree's CPU time only grows; a process that exits takes its time with it until its
  // parent reaps it, so a dip is held at the previous value.
  if (!samples_.empty()) s.tree.cpu_s = std::max(s.tree.cpu_s, samples_.back().tree.cpu_s);
  // Two threads may sample (the cadence and a window's answer): keep the samples in time order.
  if (!samples_.empty() && t_s < samples_.back().t_s) return;
  samples_.push_back(s);
}

bool UsageTimeline::maybe_sample(int group, double t_s, bool force) {
  return maybe_sample([group] { return energy::read_group_usage(group); }, t_s, force);
}

bool UsageTimeline::maybe_sample(const TreeReader& tree, double t_s, bool force) {
  std::lock_guard lock(mu_);
  if (!force && !samples_.empty() && t_s - samples_.back().t_s < kEvery_s) return false;
  add(tree, t_s);
  return true;
}

void UsageTimeline::sample_past(const TreeReader& tree, double t_s) {
  std::lock_guard lock(mu_);
  if (!samples_.empty() && samples_.back().t_s >= t_s) return;
  add(tree, std::max(t_s, energy::steady_now_s()));
}

bool UsageTimeline::empty() const {
  std::lock_guard lock(mu_);
  return samples_.empty();
}

template <class Get>
std::optional<double> UsageTimeline::at(double t_s, Get get) const {
  if (samples_.empty()) return std::nullopt;
  const auto it = std::upper_bound(samples_.begin(), samples_.end(), t_s,
                                   [](double t, const Sample& s) { return t < s.t_s; });
  if (it == samples_.begin()) return get(*it);
  if (it == samples_.end()) return get(samples_.back());
  const Sample& a = *(it - 1);
  const Sample& b = *it;
  const std::optional<double> va = get(a), vb = get(b);
  if (!va || !vb) return va ? va : vb;
  return *va + (*vb - *va) * (t_s - a.t_s) / (b.t_s - a.t_s);
}

template <class Get>
std::optional<double> UsageTimeline::difference(double a_s, double b_s, Get get) const {
  const auto a = at(a_s, get), b = at(b_s, get);
  if (!a || !b) return std::nullopt;
  return std::max(0.0, *b - *a);
}

double UsageTimeline::tree_cpu_s(double a_s, double b_s) const {
  std::lock_guard lock(mu_);
  return difference(a_s, b_s, [](const Sample& s) { return tree_cpu(s.tree); }).value_or(0.0);
}

std::optional<double> UsageTimeline::machine_busy_s(double a_s, double b_s) const {
  std::lock_guard lock(mu_);
  return difference(a_s, b_s, [](const Sample& s) {
    return s.machine ? std::optional<double>(s.machine->busy_s) : std::nullopt;
  });
}

std::optional<double> UsageTimeline::machine_total_s(double a_s, double b_s) const {
  std::lock_guard lock(mu_);
  return difference(a_s, b_s, [](const Sample& s) {
    return s.machine ? std::optional<double>(s.machine->total_s) : std::nullopt;
  });
}

energy::TreeShare UsageTimeline::share(double a_s, double b_s) const {
  energy::TreeShare out;
  out.cpu_s = tree_cpu_s(a_s, b_s);
  out.machine_busy_s = machine_busy_s(a_s, b_s);
  std::lock_guard lock(mu_);
  double sum = 0;
  int n = 0;
  const auto first = std::lower_bound(samples_.begin(), samples_.end(), a_s,
                                      [](const Sample& s, double t) { return s.t_s < t; });
  for (auto it = first; it != samples_.end() && it->t_s <= b_s; ++it)
    if (it->tree.processes > 0) sum += it->tree.rss_bytes, ++n;
  if (n == 0) {  // a window shorter than the cadence: the nearest sample with a live tree
    const Sample* best = nullptr;
    for (const auto& s : samples_)
      if (s.tree.processes > 0 &&
          (!best || std::abs(s.t_s - 0.5 * (a_s + b_s)) < std::abs(best->t_s - 0.5 * (a_s + b_s))))
        best = &s;
    if (best) sum = best->tree.rss_bytes, n = 1;
  }
  if (n) out.rss_bytes = sum / n;
  return out;
}

}  // namespace gt::run
