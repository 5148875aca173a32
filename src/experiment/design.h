// Design expansion: a Plan becomes the list of configurations (full factorial, or the
// benchmark plus one factor varied at a time) and the ordered list of runs — warm-up runs of
// the benchmark first, then `repeats` blocks, each running every configuration once, in an
// order shuffled from the plan's seed (randomized-blocks) or in configuration order
// (sequential). The same plan always gives the same runs, which is what makes resume, shards
// and merge possible.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "experiment/plan.h"

namespace gt::experiment {

struct Configuration {
  int index = 0;                                            // 0 = the benchmark
  std::vector<std::pair<std::string, std::string>> values;  // plan order
  bool benchmark = false;
  std::string label() const;  // "precision=fp16 batch_size=32"
};

struct PlannedRun {
  int run_index = 0;  // 1-based position in the order
  int config_index = 0;
  int block = 0;   // 0 for warm-up
  int repeat = 0;  // 0 for warm-up
  bool warmup = false;
  std::int64_t seed = 0;  // training seed: shared by the runs of one block (paired design)
};

struct ExpandedDesign {
  std::vector<Configuration> configs;
  std::vector<PlannedRun> runs;
};

ExpandedDesign expand(const Plan& plan);

// The runs of shard `shard` (1-based) of `count`: whole blocks (block b belongs to shard
// ((b - 1) mod count) + 1), so a shard's runs stay randomized within each block and a lost shard
// loses whole blocks, never half a comparison; plus every warm-up run (each machine warms up;
// merge keeps one copy). Empty when the shard has no block (count > repeats).
std::vector<PlannedRun> shard_runs(const std::vector<PlannedRun>& runs, int shard, int count);
// Parses "i/n" (1 <= i <= n); throws gt::UsageError.
std::pair<int, int> parse_shard(const std::string& text);

}  // namespace gt::experiment
