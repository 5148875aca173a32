// Design expansion: a Plan becomes the list of configurations (full factorial, or the
// benchmark plus one factor varied at a time) and the ordered list of runs — warm-up runs of
// the benchmark first, then blocks, each running every configuration once, in an order
// shuffled from the plan's seed (randomized-blocks) or in configuration order (sequential).
//
// Which run_id a (block, configuration) gets is fixed by the experiment's Layout, kept in the
// database: a list of segments, each numbering a range of blocks for a set of configurations.
// A new experiment has one segment (every configuration, blocks 1..repeats, run_id 1..N as
// always). When the plan grows, the layout only appends: more blocks extend the last segment;
// a new level adds its configurations to every block already begun (a fill-in segment) and a
// new segment of whole blocks after them. So finished runs keep their run_id, block and seed,
// and the same layout always gives the same runs (resume, shards and merge rely on it).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
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
  std::vector<Configuration> configs;  // index = config_index
  std::vector<PlannedRun> runs;        // execution order: warm-up, then block by block
};

using FactorValues = std::vector<std::pair<std::string, std::string>>;

struct LayoutSegment {
  int first_run_index = 0;  // run_id of the first run of first_block
  int first_block = 1, last_block = 0;
  std::vector<int> configs;  // configuration indices, ascending
  int stream = 0;            // 0: the plan's shuffle sequence; k > 0: the k-th fill-in sequence
};

struct Layout {
  int warmup_runs = 0;
  std::vector<FactorValues> configs;  // every configuration ever planned; index = config_index
  std::vector<LayoutSegment> segments;
  nlohmann::json history = nlohmann::json::array();  // [{at, change}] of each growth

  int last_block() const;      // the highest block any segment numbers (0 if none)
  int next_run_index() const;  // the first run_id no segment uses
  nlohmann::json to_json() const;
  static Layout from_json(const nlohmann::json& j);  // throws gt::Error when malformed
};

// The plan's configurations in plan order, the benchmark first (indices 0..n-1).
std::vector<Configuration> plan_configurations(const Plan& plan);
// A new experiment's layout: every configuration, blocks 1..plan.design.planned_blocks().
Layout initial_layout(const Plan& plan);
// Makes `layout` hold the plan: configurations the plan adds go into every block up to
// `started_blocks` (the highest block with a finished run) and whole blocks follow up to
// planned_blocks(). Returns what was added in words, or "" when nothing changed.
std::string grow_layout(Layout& layout, const Plan& plan, int started_blocks);

// Warm-up runs, then blocks 1..blocks of `layout`, each block's runs in their shuffled order.
ExpandedDesign expand(const Plan& plan, const Layout& layout, int blocks);
// A new experiment: expand(plan, initial_layout(plan), repeats or the stop rule's min_repeats).
ExpandedDesign expand(const Plan& plan);

// The runs of shard `shard` (1-based) of `count`: whole blocks (block b belongs to shard
// ((b - 1) mod count) + 1), so a shard's runs stay randomized within each block and a lost shard
// loses whole blocks, never half a comparison; plus every warm-up run (each machine warms up;
// merge keeps one copy). Empty when the shard has no block (count > repeats).
std::vector<PlannedRun> shard_runs(const std::vector<PlannedRun>& runs, int shard, int count);
// Parses "i/n" (1 <= i <= n); throws gt::UsageError.
std::pair<int, int> parse_shard(const std::string& text);

}  // namespace gt::experiment
