// Design expansion and blocked randomization (see design.h). The shuffle is a Fisher-Yates
// over std::mt19937_64 (whose output the standard fixes), so an order is reproducible on every
// platform from the plan's seed.
#include "experiment/design.h"

#include <fmt/core.h>

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

ExpandedDesign expand(const Plan& plan) {
  ExpandedDesign d;
  const auto& bench = plan.benchmark;
  d.configs.push_back({0, bench, true});
  if (plan.design.type == "one-at-a-time") {
    for (size_t f = 0; f < plan.factors.size(); ++f)
      for (const auto& level : plan.factors[f].levels) {
        if (level == bench[f].second) continue;
        auto values = bench;
        values[f].second = level;
        d.configs.push_back({static_cast<int>(d.configs.size()), values, false});
      }
  } else {
    // Full factorial in plan order (last factor varies fastest), benchmark moved to the front.
    std::vector<size_t> idx(plan.factors.size(), 0);
    while (true) {
      std::vector<std::pair<std::string, std::string>> values;
      for (size_t f = 0; f < plan.factors.size(); ++f)
        values.emplace_back(plan.factors[f].name, plan.factors[f].levels[idx[f]]);
      if (values != bench) d.configs.push_back({static_cast<int>(d.configs.size()), values, false});
      int f = static_cast<int>(plan.factors.size()) - 1;
      while (f >= 0 && ++idx[f] == plan.factors[f].levels.size()) idx[f--] = 0;
      if (f < 0) break;
    }
  }

  int index = 0;
  for (int w = 0; w < plan.design.warmup_runs; ++w)
    d.runs.push_back({++index, 0, 0, 0, true, block_seed(plan.design.seed, 0)});
  std::mt19937_64 rng(plan.design.seed);
  for (int b = 1; b <= plan.design.repeats; ++b) {
    std::vector<int> order(d.configs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    if (plan.design.order == "randomized-blocks")
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (int c : order)
      d.runs.push_back({++index, c, b, b, false, block_seed(plan.design.seed, b)});
  }
  return d;
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
