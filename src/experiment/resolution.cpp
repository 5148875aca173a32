// The stopping rule against the meter's resolution (see resolution.h).
#include "experiment/resolution.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace gt::experiment {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// "train" for train_energy_j / train_gpu_energy_j / train_net_energy_j, else "".
std::string phase_of(const std::string& metric) {
  for (const char* suffix : {"_gpu_energy_j", "_net_energy_j", "_energy_j"}) {
    const std::string s = suffix;
    if (metric.size() > s.size() && metric.compare(metric.size() - s.size(), s.size(), s) == 0)
      return metric.substr(0, metric.size() - s.size());
  }
  return "";
}

}  // namespace

int blocks_for_interval(double cv, double target) {
  if (!(target > 0)) return 0;
  const double z = 1.96;
  return static_cast<int>(std::ceil(2 * (z * cv / target) * (z * cv / target)));
}

double shortest_resolvable_phase_s(double target_pct, int max_blocks) {
  // n = 2 (1.96 cv / t)^2 <= max_blocks with cv = kBoundaryPower_s / D.
  if (!(target_pct > 0) || max_blocks < 1) return 0;
  return kBoundaryPower_s * 1.96 / (target_pct / 100 * std::sqrt(max_blocks / 2.0));
}

std::optional<ResolutionCheck> check_resolution(const StopRule& rule, const std::string& metric,
                                                const std::vector<RunRecord>& runs,
                                                int max_blocks) {
  const std::string phase = phase_of(metric);
  if (phase.empty()) return std::nullopt;
  // Per configuration: the phase's duration, energy and uncertainty, summed over its
  // occurrences in a run (as the metric is), then the median over the runs.
  struct Seen {
    std::vector<double> duration, energy, uncertainty;
  };
  std::map<int, Seen> by_config;
  for (const auto& r : runs) {
    if (r.status != RunStatus::ok) continue;
    double d = 0, e = 0, u2 = 0;
    bool any = false;
    for (const auto& p : r.phases)
      if (p.name == phase) {
        any = true;
        d += p.duration_s;
        e += p.energy_j;
        u2 += p.uncertainty_j * p.uncertainty_j;
      }
    if (!any) continue;
    if (!(e > 0)) {  // the meter saw nothing of it: no interval of a ratio can form
      ResolutionCheck none;
      none.phase = phase;
      none.duration_s = d;
      none.reachable = false;
      none.message = fmt::format(
          "the stopping rule cannot be met: the {} phase ({:.0f} ms) reads {:.2f} J, too short for "
          "the meter to see. Lengthen the phase ([workload] min_phase_s: the built-in trainer "
          "repeats its training until the phase lasts that long; or more epochs) or meter a "
          "longer one",
          phase, 1000 * d, e);
      return none;
    }
    auto& s = by_config[r.config_index];
    s.duration.push_back(d);
    s.energy.push_back(e);
    s.uncertainty.push_back(std::sqrt(u2));
  }
  if (by_config.empty()) return std::nullopt;
  ResolutionCheck worst;
  worst.phase = phase;
  double worst_rel = -1;
  for (const auto& [config, s] : by_config) {
    const double e = median(s.energy), u = median(s.uncertainty);
    if (u / e > worst_rel) {
      worst_rel = u / e;
      worst.duration_s = median(s.duration);
      worst.energy_j = e;
      worst.uncertainty_j = u;
    }
  }
  const double cv = worst_rel / std::sqrt(3.0);  // a uniform half-width as a standard deviation
  worst.blocks_needed = blocks_for_interval(cv, rule.ci_halfwidth_pct / 100);
  worst.reachable = worst.blocks_needed <= max_blocks;
  if (!worst.reachable)
    worst.message = fmt::format(
        "the stopping rule cannot be met: the {} phase lasts {:.0f} ms and the GPU energy counter "
        "resolves it to +-{:.1f} % ({:.2f} J of {:.2f} J; the counter updates about every 100 ms), "
        "so a +-{:g} % interval would take about {} blocks (max_repeats {}). Lengthen the phase "
        "([workload] min_phase_s: the built-in trainer repeats its training until the phase lasts "
        "that long; or more epochs), meter a longer phase, or ask for a wider interval",
        phase, 1000 * worst.duration_s, 100 * worst_rel, worst.uncertainty_j, worst.energy_j,
        rule.ci_halfwidth_pct, worst.blocks_needed, max_blocks);
  return worst;
}

}  // namespace gt::experiment
