// Design expansion: factorial and one-at-a-time configurations, warm-up runs first, each block
// a permutation of the configurations, the order reproducible from the seed (and different for
// another seed), shards that partition the runs into whole blocks, the run layout as an
// experiment grows, the stopping rule's check, and the command-template substitution.
#include "experiment/design.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "common/error.h"
#include "experiment/stop_rule.h"
#include "experiment/template.h"

namespace gt::experiment {
namespace {

Plan make_plan(const std::string& design) {
  return parse_plan(R"(name = "d"
[workload]
kind = "command"
command = "x {precision} {batch_size} {neurons}"
[benchmark]
precision = "fp32"
batch_size = 64
neurons = 128
[factors]
precision = ["fp32", "fp16", "bf16"]
batch_size = [32, 64, 128]
neurons = [128, 512]
)" + design,
                    "d.toml");
}

TEST(Design, FactorialHasEveryCombinationOnceBenchmarkFirst) {
  auto d = expand(make_plan("[design]\nrepeats = 4\nwarmup_runs = 2\n"));
  ASSERT_EQ(d.configs.size(), 18u);
  EXPECT_TRUE(d.configs[0].benchmark);
  EXPECT_EQ(d.configs[0].label(), "precision=fp32 batch_size=64 neurons=128");
  std::set<std::string> labels;
  for (const auto& c : d.configs) labels.insert(c.label());
  EXPECT_EQ(labels.size(), 18u);
  EXPECT_EQ(d.runs.size(), 2u + 4u * 18u);
}

TEST(Design, OneAtATimeVariesOneFactorFromTheBenchmark) {
  auto d = expand(make_plan("[design]\ntype = \"one-at-a-time\"\n"));
  ASSERT_EQ(d.configs.size(), 1u + 2u + 2u + 1u);
  for (const auto& c : d.configs) {
    int differ = 0;
    for (size_t f = 0; f < c.values.size(); ++f) differ += c.values[f] != d.configs[0].values[f];
    EXPECT_EQ(differ, c.benchmark ? 0 : 1) << c.label();
  }
}

TEST(Design, WarmupFirstThenEachBlockIsAPermutation) {
  auto d = expand(make_plan("[design]\nrepeats = 5\nwarmup_runs = 2\nseed = 11\n"));
  ASSERT_TRUE(d.runs[0].warmup && d.runs[1].warmup);
  EXPECT_EQ(d.runs[0].config_index, 0);
  for (int i = 0; i < static_cast<int>(d.runs.size()); ++i) EXPECT_EQ(d.runs[i].run_index, i + 1);
  for (int b = 1; b <= 5; ++b) {
    std::vector<int> seen;
    std::set<std::int64_t> seeds;
    for (const auto& r : d.runs)
      if (!r.warmup && r.block == b) {
        seen.push_back(r.config_index);
        seeds.insert(r.seed);
        EXPECT_EQ(r.repeat, b);
      }
    std::vector<int> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> all(18);
    for (int i = 0; i < 18; ++i) all[i] = i;
    EXPECT_EQ(sorted, all) << "block " << b << " is not a permutation";
    EXPECT_NE(seen, all) << "block " << b << " was not shuffled";
    EXPECT_EQ(seeds.size(), 1u) << "one training seed per block";
  }
}

TEST(Design, OrderIsReproducibleFromTheSeed) {
  auto order = [](const ExpandedDesign& d) {
    std::vector<int> v;
    for (const auto& r : d.runs) v.push_back(r.config_index);
    return v;
  };
  auto a = expand(make_plan("[design]\nseed = 5\n"));
  auto b = expand(make_plan("[design]\nseed = 5\n"));
  auto c = expand(make_plan("[design]\nseed = 6\n"));
  EXPECT_EQ(order(a), order(b));
  EXPECT_NE(order(a), order(c));
  EXPECT_NE(a.runs.back().seed, c.runs.back().seed);
}

TEST(Design, SequentialKeepsConfigurationOrder) {
  auto d = expand(make_plan("[design]\norder = \"sequential\"\nwarmup_runs = 0\nrepeats = 2\n"));
  for (size_t i = 0; i < d.runs.size(); ++i)
    EXPECT_EQ(d.runs[i].config_index, static_cast<int>(i % 18));
}

TEST(Design, ShardsPartitionTheMeasuredRuns) {
  auto d = expand(make_plan("[design]\nwarmup_runs = 1\n"));
  std::multiset<int> all;
  for (int i = 1; i <= 3; ++i)
    for (const auto& r : shard_runs(d.runs, i, 3))
      if (!r.warmup) all.insert(r.run_index);
  EXPECT_EQ(all.size(), d.runs.size() - 1);
  EXPECT_EQ(std::set<int>(all.begin(), all.end()).size(), all.size());
  // Whole blocks: every block lies in exactly one shard, dealt round-robin.
  for (int i = 1; i <= 3; ++i)
    for (const auto& r : shard_runs(d.runs, i, 3))
      if (!r.warmup) {
        EXPECT_EQ((r.block - 1) % 3, i - 1) << "run " << r.run_index;
      }
  auto first = shard_runs(d.runs, 1, 3);
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(first.front().warmup);
  // More shards than blocks: the extra shards are empty.
  auto two = expand(make_plan("[design]\nwarmup_runs = 1\nrepeats = 2\n"));
  EXPECT_TRUE(shard_runs(two.runs, 3, 3).empty());
  EXPECT_EQ(shard_runs(two.runs, 2, 3).size(), 1u + 18u);
  EXPECT_EQ(parse_shard("2/4"), (std::pair<int, int>{2, 4}));
  EXPECT_THROW(parse_shard("5/4"), gt::UsageError);
  EXPECT_THROW(parse_shard("1-4"), gt::UsageError);
  EXPECT_THROW(parse_shard("1/4x"), gt::UsageError);
}

// (run_id -> (block, configuration values, seed)) of a design.
std::map<int, std::tuple<int, FactorValues, std::int64_t>> identity(const ExpandedDesign& d) {
  std::map<int, std::tuple<int, FactorValues, std::int64_t>> out;
  for (const auto& r : d.runs)
    out[r.run_index] = {r.block, d.configs[static_cast<size_t>(r.config_index)].values, r.seed};
  return out;
}

TEST(Layout, RaisingRepeatsNumbersRunsAsIfPlannedFromTheStart) {
  auto three = make_plan("[design]\nrepeats = 3\n");
  auto five = make_plan("[design]\nrepeats = 5\n");
  Layout l = initial_layout(three);
  EXPECT_EQ(grow_layout(l, five, 3), "blocks 4..5");
  EXPECT_EQ(l.segments.size(), 1u);  // the last segment is extended
  EXPECT_EQ(identity(expand(five, l, 5)), identity(expand(five)));
  EXPECT_EQ(grow_layout(l, five, 5), "");
  // The layout survives the database.
  EXPECT_EQ(identity(expand(five, Layout::from_json(l.to_json()), 5)), identity(expand(five)));
}

TEST(Layout, ANewLevelFillsTheBlocksBegunAndKeepsEveryFinishedRun) {
  auto before = make_plan("[design]\nrepeats = 4\nseed = 3\n");
  auto grown = parse_plan(R"(name = "d"
[workload]
kind = "command"
command = "x {precision} {batch_size} {neurons}"
[benchmark]
precision = "fp32"
batch_size = 64
neurons = 128
[factors]
precision = ["fp32", "fp16", "bf16"]
batch_size = [32, 64, 128, 256]
neurons = [128, 512]
[design]
repeats = 4
seed = 3
)",
                          "d.toml");
  Layout l = initial_layout(before);
  const auto old = identity(expand(before, l, 4));
  // Blocks 1 and 2 have begun: 6 new configurations go into them; blocks 3 and 4 are renumbered
  // with all 24 configurations.
  EXPECT_EQ(grow_layout(l, grown, 2).rfind("6 new configurations (", 0), 0u);
  const auto d = expand(grown, l, 4);
  ASSERT_EQ(d.configs.size(), 24u);
  const auto now = identity(d);
  for (const auto& [id, run] : old) {
    if (std::get<0>(run) <= 2) {
      EXPECT_EQ(now.at(id), run) << "run " << id << " changed";
    }
  }
  std::map<int, std::set<FactorValues>> per_block;
  for (const auto& [id, run] : now) per_block[std::get<0>(run)].insert(std::get<1>(run));
  for (int b = 1; b <= 4; ++b) EXPECT_EQ(per_block[b].size(), 24u) << "block " << b;
  EXPECT_EQ(now.size(), d.runs.size()) << "a run_id is used twice";
  // Execution order: block by block (the fill-ins of block 1 before block 2).
  int last_block = 0;
  for (const auto& r : d.runs) {
    EXPECT_GE(r.block, last_block);
    last_block = r.block;
  }
}

// Runs of `d`'s configurations in blocks 1..blocks, metric values from `value(config, block)`.
std::vector<RunRecord> runs_with(const ExpandedDesign& d, int blocks,
                                 const std::function<double(int, int)>& value,
                                 const std::string& metric = "energy_j") {
  std::vector<RunRecord> out;
  for (int b = 1; b <= blocks; ++b)
    for (const auto& c : d.configs) {
      RunRecord r;
      r.config_index = c.index;
      r.block = b;
      r.status = gt::RunStatus::ok;
      if (metric == "energy_j")
        r.energy_j = value(c.index, b);
      else
        r.metrics[metric] = value(c.index, b);
      out.push_back(r);
    }
  return out;
}

TEST(StopRule, ChecksEveryConfigurationAgainstTheBenchmarkOnTheBlocksGiven) {
  auto plan = make_plan("[design]\nrepeats = 3\n[design.stop]\nci_halfwidth_pct = 2\n");
  const auto d = expand(plan);
  const StopRule& rule = *plan.design.stop;
  // Spread 1 % everywhere except configuration 5 (10 %); configuration 0 is the benchmark.
  auto value = [](int c, int b) {
    const double wiggle = (b % 2 ? 1 : -1) * (c == 5 ? 0.10 : 0.01);
    return (100.0 + c) * (1 + wiggle);
  };
  auto runs = runs_with(d, 6, value);
  auto check = check_stop_rule(rule, d, runs, 6);
  EXPECT_EQ(check.metric, "energy_j");  // the runs have no train_energy_j
  EXPECT_FALSE(check.met);
  EXPECT_EQ(check.widest, "batch_size=128 neurons=512") << "configuration 5, named by what differs";
  EXPECT_GT(check.widest_pct, 2.0);
  EXPECT_GT(check.blocks_left, 0);
  // Configuration 5 skipped after failures: every other interval is within +-2 %, but the
  // skipped one has none, so the rule is not met (it says which).
  check = check_stop_rule(rule, d, runs, 6, {5});
  EXPECT_FALSE(check.met) << describe(check, rule);
  EXPECT_TRUE(check.compared_met);
  EXPECT_EQ(check.skipped, std::vector<std::string>{"batch_size=128 neurons=512"});
  EXPECT_LE(check.widest_pct, 2.0);
  EXPECT_EQ(check.blocks_left, 0);
  // Every configuration compared with the benchmark skipped: nothing is met.
  std::set<int> all_but_benchmark;
  for (const auto& c : d.configs)
    if (!c.benchmark) all_but_benchmark.insert(c.index);
  check = check_stop_rule(rule, d, runs, 6, all_but_benchmark);
  EXPECT_FALSE(check.met);
  EXPECT_FALSE(check.compared_met);
  // Blocks after `blocks`, warm-up and failed runs are not used.
  runs.push_back(runs.front());
  runs.back().block = 7;
  runs.back().energy_j = 1e9;
  runs.push_back(runs.front());
  runs.back().warmup = true;
  runs.back().block = 0;
  runs.back().energy_j = 1e9;
  runs.push_back(runs.front());
  runs.back().status = gt::RunStatus::failed;
  runs.back().energy_j = 1e9;
  EXPECT_TRUE(check_stop_rule(rule, d, runs, 6, {5}).compared_met);
}

TEST(StopRule, DefaultMetricIsThePrimaryMetric) {
  auto plan = make_plan("[design.stop]\n");
  const auto d = expand(plan);
  auto runs = runs_with(
      d, 3, [](int c, int b) { return 50.0 + c + b; }, "train_energy_j");
  for (auto& r : runs) r.energy_j = 100;
  // The choice analyze makes (stats::default_primary_metric): train_energy_j when runs have it.
  EXPECT_EQ(stop_metric(*plan.design.stop, "", runs), "train_energy_j");
  EXPECT_EQ(check_stop_rule(*plan.design.stop, d, runs, 3).metric, "train_energy_j");
  for (auto& r : runs) r.metrics.clear();
  EXPECT_EQ(stop_metric(*plan.design.stop, "", runs), "energy_j");
  // The plan's primary metric, unless the rule names its own.
  EXPECT_EQ(stop_metric(*plan.design.stop, "epoch_energy_j", runs), "epoch_energy_j");
  StopRule named = *plan.design.stop;
  named.metric = "no_such_j";
  EXPECT_EQ(stop_metric(named, "epoch_energy_j", runs), "no_such_j");
  EXPECT_TRUE(check_stop_rule(named, d, runs, 3).metric_missing);
  named.metric = "energy_j";
  runs.front().energy_j = 0;
  auto check = check_stop_rule(named, d, runs, 3);
  EXPECT_FALSE(check.met);
  EXPECT_NE(check.problem.find("values <= 0"), std::string::npos) << check.problem;
  EXPECT_FALSE(check.futile);  // an undefined interval is not a spread to project
}

TEST(StopRule, AMetricThatCanBeZeroOrNegativeIsRefusedBeforeAnyRun) {
  EXPECT_EQ(stop_metric_problem("train_energy_j"), "");
  EXPECT_EQ(stop_metric_problem("duration_s"), "");
  EXPECT_NE(stop_metric_problem("final_loss"), "");
  EXPECT_NE(stop_metric_problem("test_accuracy").find("always > 0"), std::string::npos);
  try {
    make_plan("[design.stop]\nmetric = \"final_loss\"\n");
    ADD_FAILURE() << "a stop metric that can be <= 0 was accepted";
  } catch (const gt::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("design.stop.metric: 'final_loss' can be zero or negative"),
        std::string::npos)
        << e.what();
  }
}

// A seeded workload whose spread (CV about 25 %, a busy machine) is far too large for a +-2 %
// interval: after 3 blocks the rule needs dozens of blocks, even with an optimistic spread, and
// max_repeats = 10 leaves 7; it says so instead of running them.
TEST(StopRule, StopsWhenEvenAnOptimisticSpreadCannotMeetItInTheBlocksLeft) {
  auto plan =
      make_plan("[design]\nrepeats = 3\n[design.stop]\nci_halfwidth_pct = 2\nmax_repeats = 10\n");
  const auto d = expand(plan);
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> z(0, 1);
  auto noisy = [&](int c, int) { return (100.0 + c) * std::exp(0.25 * z(rng)); };
  const auto runs = runs_with(d, 3, noisy);
  const auto check = check_stop_rule(*plan.design.stop, d, runs, 3);
  EXPECT_FALSE(check.met);
  EXPECT_TRUE(check.futile) << describe(check, *plan.design.stop);
  EXPECT_GT(check.blocks_left_optimistic, 7);
  EXPECT_GE(check.blocks_left, check.blocks_left_optimistic);
  // The same spread with room for the blocks it takes: not futile.
  StopRule roomy = *plan.design.stop;
  roomy.max_repeats = 3 + check.blocks_left_optimistic + 1;
  EXPECT_FALSE(check_stop_rule(roomy, d, runs, 3).futile);
  // A quiet workload is never futile.
  auto quiet = [&](int c, int) { return (100.0 + c) * std::exp(0.01 * z(rng)); };
  EXPECT_FALSE(check_stop_rule(*plan.design.stop, d, runs_with(d, 3, quiet), 3).futile);
}

TEST(Template, SubstitutesAndEscapes) {
  EXPECT_EQ(substitute("a {x} {{y}} {x}", {{"x", "1"}}), "a 1 {y} 1");
  EXPECT_THROW(check_template("a {z}", {"x"}), gt::Error);
  EXPECT_THROW(check_template("a } b", {"x"}), gt::Error);
  EXPECT_NO_THROW(check_template("a {x} {{", {"x"}));
}

}  // namespace
}  // namespace gt::experiment
