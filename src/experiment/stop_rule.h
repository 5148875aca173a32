// The sequential stopping rule of [design.stop]: after whole blocks, is every configuration's
// 95 % interval of its difference from the benchmark narrower than +-ci_halfwidth_pct % of the
// benchmark? The interval is the one `analyze` reports for a positive quantity: the ratio of
// means on the log scale (stats::log_ratio_interval). The rule looks at precision only, never
// at a p-value: stopping when a difference looks significant would inflate false positives.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "experiment/design.h"
#include "experiment/plan.h"
#include "experiment/store.h"

namespace gt::experiment {

struct StopCheck {
  std::string metric;           // the metric judged (the rule's, or the data-driven default)
  bool met = false;             // every compared configuration is precise enough
  int blocks = 0;               // blocks the check used (1..blocks)
  double widest_pct = 0;        // the widest half-width, in % of the benchmark (inf: undefined)
  std::string widest;           // that configuration's label
  int blocks_left = 0;          // estimated blocks still needed (0 when met)
  std::string problem;          // why the rule can never be met (no such metric, ...), else ""
  bool metric_missing = false;  // no finished run reports the metric at all
};

// train_energy_j when every ok measured run has it, else energy_j.
std::string default_stop_metric(const std::vector<RunRecord>& runs);

// Uses the ok, non-warm-up runs of blocks 1..blocks; configurations in `excluded` (skipped
// after repeated failures) are not compared. The estimate of blocks left assumes the spread
// stays as observed (stats::projected_sample_size).
StopCheck check_stop_rule(const StopRule& rule, const ExpandedDesign& design,
                          const std::vector<RunRecord>& runs, int blocks,
                          const std::set<int>& excluded = {});

// "widest 95 % interval +-3.41 % of the benchmark's energy_j (precision=bf16); target +-2 %"
std::string describe(const StopCheck& check, const StopRule& rule);

}  // namespace gt::experiment
