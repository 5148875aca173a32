// The sequential stopping rule of [design.stop]: after whole blocks, is every configuration's
// 95 % interval of its difference from the benchmark narrower than +-ci_halfwidth_pct % of the
// benchmark? The interval is the one `analyze` reports for a positive quantity: the ratio of
// means on the log scale (stats::log_ratio_interval). The rule looks at precision only, never
// at a p-value: stopping when a difference looks significant would inflate false positives.
// It also says when it cannot succeed: when even an optimistic spread (the lower 90 % bound of
// the variance) would need more blocks than max_repeats leaves, more blocks only cost energy.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "experiment/design.h"
#include "experiment/plan.h"
#include "experiment/store.h"

namespace gt::experiment {

struct StopCheck {
  std::string metric;     // the metric judged (the rule's, the plan's primary, or the default)
  bool met = false;       // every configuration is compared and precise enough
  int blocks = 0;         // blocks the check used (1..blocks)
  double widest_pct = 0;  // the widest half-width, in % of the benchmark (inf: undefined)
  std::string widest;     // that configuration's label
  int blocks_left = 0;    // estimated blocks still needed (0 when met)
  // Blocks still needed if the spread were at its lower 90 % confidence bound; futile when that
  // is more than max_repeats leaves.
  int blocks_left_optimistic = 0;
  bool futile = false;
  // Configurations skipped after repeated failures: no interval, so the rule is not met.
  std::vector<std::string> skipped;
  bool compared_met = false;    // the configurations that were compared are precise enough
  std::string problem;          // why the rule can never be met (no such metric, ...), else ""
  bool metric_missing = false;  // no finished run reports the metric at all
};

// The metric the rule judges: its own, else the plan's primary metric, else
// stats::default_primary_metric() of the finished runs (the choice analyze makes).
std::string stop_metric(const StopRule& rule, const std::string& primary,
                        const std::vector<RunRecord>& runs);
// Why `metric` cannot be a stop metric ("" when it can): the interval of a ratio needs a
// quantity that is never <= 0, a name with the unit of energy, time, power or mass.
std::string stop_metric_problem(const std::string& metric);

// Uses the ok, non-warm-up runs of blocks 1..blocks; configurations in `excluded` (skipped
// after repeated failures) have no interval and keep the rule from being met. The estimate of
// blocks left assumes the spread stays as observed (stats::projected_sample_size).
StopCheck check_stop_rule(const StopRule& rule, const ExpandedDesign& design,
                          const std::vector<RunRecord>& runs, int blocks,
                          const std::set<int>& excluded = {}, const std::string& primary = "");

// "widest 95 % interval +-3.41 % of the benchmark's energy_j (precision=bf16); target +-2 %"
std::string describe(const StopCheck& check, const StopRule& rule);

}  // namespace gt::experiment
