// The sequential stopping rule (see stop_rule.h).
#include "experiment/stop_rule.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>
#include <map>

#include "stats/analysis.h"
#include "stats/ratio.h"

namespace gt::experiment {

std::string stop_metric(const StopRule& rule, const std::string& primary,
                        const std::vector<RunRecord>& runs) {
  if (!rule.metric.empty()) return rule.metric;
  if (!primary.empty()) return primary;
  return stats::default_primary_metric([&](const std::string& metric) {
    for (const auto& r : runs)
      if (!r.warmup && r.status == RunStatus::ok && run_metric(r, metric)) return true;
    return false;
  });
}

std::string stop_metric_problem(const std::string& metric) {
  if (stats::positive_quantity(metric)) return "";
  return fmt::format(
      "'{}' can be zero or negative, and the stopping rule's interval (a ratio of means) needs a "
      "quantity that is always > 0: an energy (_j), time (_s), power (_w) or mass (_g)",
      metric);
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
                          const std::set<int>& excluded, const std::string& primary) {
  StopCheck c;
  c.blocks = blocks;
  std::vector<RunRecord> used;
  for (const auto& r : runs)
    if (!r.warmup && r.status == RunStatus::ok && r.block >= 1 && r.block <= blocks)
      used.push_back(r);
  c.metric = stop_metric(rule, primary, used);

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

  bool compared = false, precise = true;
  int more = 0, more_optimistic = 0;  // blocks still needed by the least precise configuration
  const int left = std::max(0, rule.max_repeats - blocks);
  for (const auto& cfg : design.configs) {
    if (cfg.index == bench) continue;
    const std::string label = differing_label(cfg, design.configs.at(static_cast<size_t>(bench)));
    if (excluded.count(cfg.index)) {
      c.skipped.push_back(label);
      continue;
    }
    compared = true;
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
      c.widest = label;
    }
    if (hw > rule.ci_halfwidth_pct) {
      precise = false;
      const int n = static_cast<int>(std::min(x.size(), y.size()));
      const int limit = n + left + 1000000;
      const int m = stats::projected_sample_size(ci, n, rule.ci_halfwidth_pct, limit);
      const int o = stats::optimistic_sample_size(ci, n, rule.ci_halfwidth_pct, limit);
      more = std::max(more, m > n ? m - n : n);  // undefined: at least as many again
      more_optimistic = std::max(more_optimistic, o > n ? o - n : n);
    }
  }
  c.compared_met = compared && precise;
  c.met = c.compared_met && c.skipped.empty();
  if (!precise) {
    c.blocks_left = std::max(1, more);
    c.blocks_left_optimistic = std::max(1, more_optimistic);
    // An undefined interval (a problem) is not a spread to project: no futility call on it.
    c.futile = c.problem.empty() && c.blocks_left_optimistic > left;
  }
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
