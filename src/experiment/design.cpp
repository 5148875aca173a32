// Design expansion and blocked randomization (see design.h). The shuffle is a Fisher-Yates
// over std::mt19937_64 (whose output the standard fixes), so an order is reproducible on every
// platform from the plan's seed.
#include "experiment/design.h"

#include <fmt/core.h>

#include <algorithm>
#include <random>

#include "common/error.h"

namespace gt::experiment {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::int64_t block_seed(std::uint64_t plan_seed, int block) {
  return static_cast<std::int64_t>(
      splitmix64(plan_seed * 1000003ULL + static_cast<unsigned>(block)) & 0x7fffffffULL);
}

}  // namespace

std::string Configuration::label() const {
  std::string out;
  for (const auto& [k, v] : values) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

std::vector<Configuration> plan_configurations(const Plan& plan) {
  std::vector<Configuration> configs;
  const auto& bench = plan.benchmark;
  configs.push_back({0, bench, true});
  if (plan.design.type == "one-at-a-time") {
    for (size_t f = 0; f < plan.factors.size(); ++f)
      for (const auto& level : plan.factors[f].levels) {
        if (level == bench[f].second) continue;
        auto values = bench;
        values[f].second = level;
        configs.push_back({static_cast<int>(configs.size()), values, false});
      }
    return configs;
  }
  // Full factorial in plan order (last factor varies fastest), benchmark moved to the front.
  std::vector<size_t> idx(plan.factors.size(), 0);
  while (true) {
    FactorValues values;
    for (size_t f = 0; f < plan.factors.size(); ++f)
      values.emplace_back(plan.factors[f].name, plan.factors[f].levels[idx[f]]);
    if (values != bench) configs.push_back({static_cast<int>(configs.size()), values, false});
    int f = static_cast<int>(plan.factors.size()) - 1;
    while (f >= 0 && ++idx[f] == plan.factors[f].levels.size()) idx[f--] = 0;
    if (f < 0) break;
  }
  return configs;
}

int Layout::last_block() const {
  int b = 0;
  for (const auto& s : segments) b = std::max(b, s.last_block);
  return b;
}

int Layout::next_run_index() const {
  int next = warmup_runs + 1;
  for (const auto& s : segments)
    next = std::max(next, s.first_run_index + (s.last_block - s.first_block + 1) *
                                                  static_cast<int>(s.configs.size()));
  return next;
}

nlohmann::json Layout::to_json() const {
  nlohmann::json j = {{"warmup_runs", warmup_runs},
                      {"configs", configs},
                      {"segments", nlohmann::json::array()},
                      {"history", history}};
  for (const auto& s : segments)
    j["segments"].push_back({{"first_run_index", s.first_run_index},
                             {"first_block", s.first_block},
                             {"last_block", s.last_block},
                             {"configs", s.configs},
                             {"stream", s.stream}});
  return j;
}

Layout Layout::from_json(const nlohmann::json& j) {
  try {
    Layout l;
    l.warmup_runs = j.at("warmup_runs").get<int>();
    l.configs = j.at("configs").get<std::vector<FactorValues>>();
    for (const auto& s : j.at("segments"))
      l.segments.push_back({s.at("first_run_index").get<int>(), s.at("first_block").get<int>(),
                            s.at("last_block").get<int>(), s.at("configs").get<std::vector<int>>(),
                            s.at("stream").get<int>()});
    if (j.contains("history")) l.history = j["history"];
    return l;
  } catch (const nlohmann::json::exception& e) {
    throw gt::Error(
        fmt::format("the experiment's run layout in the database is malformed ({})", e.what()));
  }
}

Layout initial_layout(const Plan& plan) {
  Layout l;
  l.warmup_runs = plan.design.warmup_runs;
  for (const auto& c : plan_configurations(plan)) l.configs.push_back(c.values);
  LayoutSegment s{l.warmup_runs + 1, 1, plan.design.planned_blocks(), {}, 0};
  for (size_t i = 0; i < l.configs.size(); ++i) s.configs.push_back(static_cast<int>(i));
  l.segments.push_back(s);
  return l;
}

std::string grow_layout(Layout& layout, const Plan& plan, int started_blocks) {
  std::vector<std::string> changes;
  std::vector<int> added;
  std::string labels;
  for (const auto& c : plan_configurations(plan))
    if (std::find(layout.configs.begin(), layout.configs.end(), c.values) == layout.configs.end()) {
      added.push_back(static_cast<int>(layout.configs.size()));
      layout.configs.push_back(c.values);
      labels += (labels.empty() ? "" : ", ") + c.label();
    }
  if (!added.empty()) {
    // Blocks numbered but not begun are renumbered with every configuration below.
    if (!layout.segments.empty()) {
      auto& last = layout.segments.back();
      if (last.first_block > started_blocks)
        layout.segments.pop_back();
      else
        last.last_block = std::min(last.last_block, started_blocks);
    }
    if (const int begun = layout.last_block(); begun > 0) {
      int stream = 1;
      for (const auto& s : layout.segments) stream = std::max(stream, s.stream + 1);
      layout.segments.push_back({layout.next_run_index(), 1, begun, added, stream});
      changes.push_back(fmt::format("{} new configuration{} ({}) in blocks 1..{}", added.size(),
                                    added.size() == 1 ? "" : "s", labels, begun));
    } else {
      changes.push_back(fmt::format("{} new configuration{} ({})", added.size(),
                                    added.size() == 1 ? "" : "s", labels));
    }
  }
  const int want = plan.design.planned_blocks(), have = layout.last_block();
  if (want > have) {
    std::vector<int> all(layout.configs.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    if (!layout.segments.empty() && layout.segments.back().stream == 0 &&
        layout.segments.back().configs == all && layout.segments.back().last_block == have)
      layout.segments.back().last_block = want;
    else
      layout.segments.push_back({layout.next_run_index(), have + 1, want, all, 0});
    changes.push_back(have + 1 == want ? fmt::format("block {}", want)
                                       : fmt::format("blocks {}..{}", have + 1, want));
  }
  std::string out;
  for (const auto& c : changes) out += (out.empty() ? "" : "; ") + c;
  return out;
}

namespace {

// The order of a segment's configurations in block b: the (b - first)-th Fisher-Yates shuffle
// of one sequence (stream 0 starts at block 1, so whole blocks are the same whatever the
// segment boundaries; a fill-in stream has a seed of its own).
std::vector<int> block_order(const Plan& plan, const LayoutSegment& s, int block) {
  const size_t n = s.configs.size();
  std::vector<int> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = s.configs[i];
  if (plan.design.order != "randomized-blocks" || n < 2) return order;
  const std::uint64_t seed =
      s.stream == 0 ? plan.design.seed
                    : splitmix64(plan.design.seed ^ (0x5851f42d4c957f2dULL * s.stream));
  std::mt19937_64 rng(seed);
  const int skip = s.stream == 0 ? block - 1 : block - s.first_block;
  rng.discard(static_cast<unsigned long long>(skip) * (n - 1));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

}  // namespace

ExpandedDesign expand(const Plan& plan, const Layout& layout, int blocks) {
  ExpandedDesign d;
  for (size_t i = 0; i < layout.configs.size(); ++i)
    d.configs.push_back(
        {static_cast<int>(i), layout.configs[i], layout.configs[i] == plan.benchmark});
  int index = 0;
  for (int w = 0; w < layout.warmup_runs; ++w)
    d.runs.push_back({++index, 0, 0, 0, true, block_seed(plan.design.seed, 0)});
  for (int b = 1; b <= blocks; ++b)
    for (const auto& s : layout.segments) {
      if (b < s.first_block || b > s.last_block) continue;
      const int base = s.first_run_index + (b - s.first_block) * static_cast<int>(s.configs.size());
      // Position p of the shuffled order gets run_id base + p.
      const auto order = block_order(plan, s, b);
      for (size_t p = 0; p < order.size(); ++p)
        d.runs.push_back(
            {base + static_cast<int>(p), order[p], b, b, false, block_seed(plan.design.seed, b)});
    }
  return d;
}

ExpandedDesign expand(const Plan& plan) {
  return expand(plan, initial_layout(plan),
                plan.design.stop ? plan.design.stop->min_repeats : plan.design.repeats);
}

std::vector<PlannedRun> shard_runs(const std::vector<PlannedRun>& runs, int shard, int count) {
  // Whole blocks, dealt round-robin: block b goes to shard ((b - 1) mod count) + 1. A shard with
  // no block gets nothing (not even the warm-up runs).
  std::vector<PlannedRun> out, warmup;
  for (const auto& r : runs) {
    if (r.warmup)
      warmup.push_back(r);
    else if ((r.block - 1) % count == shard - 1)
      out.push_back(r);
  }
  if (out.empty()) return out;
  warmup.insert(warmup.end(), out.begin(), out.end());
  return warmup;
}

std::pair<int, int> parse_shard(const std::string& text) {
  int i = 0, n = 0;
  char slash = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &i, &slash, &n, &extra) != 3 || slash != '/' || n < 1 ||
      i < 1 || i > n)
    throw gt::UsageError(
        fmt::format("--shard {}: expected i/n with 1 <= i <= n, e.g. --shard 2/4", text));
  return {i, n};
}

}  // namespace gt::experiment
