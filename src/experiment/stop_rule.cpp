// The sequential stopping rule (see stop_rule.h).
#include "experiment/stop_rule.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <map>

#include "stats/ratio.h"

namespace gt::experiment {

std::string default_stop_metric(const std::vector<RunRecord>& runs) {
  bool any = false;
  for (const auto& r : runs) {
    if (r.warmup || r.status != "ok") continue;
    any = true;
    if (!run_metric(r, "train_energy_j")) return "energy_j";
  }
  return any ? "train_energy_j" : "energy_j";
}

namespace {

// "precision=bf16": the factors where a configuration differs from the benchmark.
std::string differing_label(const Configuration& c, const Configuration& bench) {
  std::string out;
  for (size_t i = 0; i < c.values.size(); ++i)
    if (i >= bench.values.size() || c.values[i] != bench.values[i])
      out += (out.empty() ? "" : " ") + c.values[i].first + "=" + c.values[i].second;
  return out.empty() ? c.label() : out;
}

}  // namespace

StopCheck check_stop_rule(const StopRule& rule, const ExpandedDesign& design,
                          const std::vector<RunRecord>& runs, int blocks,
                          const std::set<int>& excluded) {
  StopCheck c;
  c.blocks = blocks;
  std::vector<RunRecord> used;
  for (const auto& r : runs)
    if (!r.warmup && r.status == "ok" && r.block >= 1 && r.block <= blocks) used.push_back(r);
  c.metric = rule.metric.empty() ? default_stop_metric(used) : rule.metric;

  std::map<int, std::vector<double>> values;
  bool any_value = false;
  for (const auto& r : used)
    if (auto v = run_metric(r, c.metric)) {
      values[r.config_index].push_back(*v);
      any_value = true;
    }
  if (!used.empty() && !any_value) {
    c.problem = fmt::format("no finished run reports the metric '{}'", c.metric);
    c.metric_missing = true;
    c.widest_pct = std::numeric_limits<double>::infinity();
    return c;
  }
  int bench = -1;
  for (const auto& cfg : design.configs)
    if (cfg.benchmark) bench = cfg.index;

  c.met = true;
  int more = 0;  // blocks still needed by the least precise configuration
  for (const auto& cfg : design.configs) {
    if (cfg.index == bench || excluded.count(cfg.index)) continue;
    const auto& x = values[cfg.index];
    const auto& y = values[bench];
    const auto ci = stats::log_ratio_interval(x, y, 0.05);
    double hw = ci.halfwidth_pct;
    if (!std::isfinite(hw)) {
      hw = std::numeric_limits<double>::infinity();
      if (ci.undefined_reason == "a value is not positive")
        c.problem = fmt::format(
            "'{}' has values <= 0 (the interval of a ratio needs positive "
            "values)",
            c.metric);
    }
    if (c.widest.empty() || hw > c.widest_pct) {
      c.widest_pct = hw;
      c.widest = differing_label(cfg, design.configs.at(static_cast<size_t>(bench)));
    }
    if (hw > rule.ci_halfwidth_pct) {
      c.met = false;
      const int n = static_cast<int>(std::min(x.size(), y.size()));
      const int m = stats::projected_sample_size(ci, n, rule.ci_halfwidth_pct, 1000000);
      more = std::max(more, m > n ? m - n : n);  // undefined: at least as many again
    }
  }
  if (!c.met) c.blocks_left = std::max(1, more);
  return c;
}

std::string describe(const StopCheck& c, const StopRule& rule) {
  if (c.widest.empty())
    return fmt::format("no configuration to compare with the benchmark ({})", c.metric);
  const std::string widest =
      std::isfinite(c.widest_pct) ? fmt::format("+-{:.2f} %", c.widest_pct) : "undefined";
  return fmt::format("widest 95 % interval {} of the benchmark's {} ({}); target +-{:g} %", widest,
                     c.metric, c.widest, rule.ci_halfwidth_pct);
}

}  // namespace gt::experiment
