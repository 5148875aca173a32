// UsageTimeline (see usage_timeline.h).
#include "run/usage_timeline.h"

#include <algorithm>
#include <cmath>

namespace gt::run {

bool UsageTimeline::maybe_sample(int group, double t_s, bool force) {
  if (!force && !samples_.empty() && t_s - samples_.back().t_s < kEvery_s) return false;
  Sample s{t_s, energy::read_group_usage(group), energy::read_machine_cpu()};
  // The tree's CPU time only grows; a process that exits takes its time with it until its
  // parent reaps it, so a dip is held at the previous value.
  if (!samples_.empty()) s.tree.cpu_s = std::max(s.tree.cpu_s, samples_.back().tree.cpu_s);
  samples_.push_back(s);
  return true;
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

double UsageTimeline::tree_cpu_s(double a_s, double b_s) const {
  auto get = [](const Sample& s) { return std::optional<double>(s.tree.cpu_s); };
  const auto a = at(a_s, get), b = at(b_s, get);
  return a && b ? std::max(0.0, *b - *a) : 0.0;
}

std::optional<double> UsageTimeline::machine_busy_s(double a_s, double b_s) const {
  auto get = [](const Sample& s) {
    return s.machine ? std::optional<double>(s.machine->busy_s) : std::nullopt;
  };
  const auto a = at(a_s, get), b = at(b_s, get);
  if (!a || !b) return std::nullopt;
  return std::max(0.0, *b - *a);
}

std::optional<double> UsageTimeline::machine_total_s(double a_s, double b_s) const {
  auto get = [](const Sample& s) {
    return s.machine ? std::optional<double>(s.machine->total_s) : std::nullopt;
  };
  const auto a = at(a_s, get), b = at(b_s, get);
  if (!a || !b) return std::nullopt;
  return std::max(0.0, *b - *a);
}

energy::TreeShare UsageTimeline::share(double a_s, double b_s) const {
  energy::TreeShare out;
  out.cpu_s = tree_cpu_s(a_s, b_s);
  out.machine_busy_s = machine_busy_s(a_s, b_s);
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
