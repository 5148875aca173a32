// Experiment progress (see progress.h).
#include "experiment/progress.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <map>
#include <optional>
#include <set>

#include "common/error.h"
#include "experiment/plan.h"

namespace gt::experiment {

Progress progress(const ExpandedDesign& design, const std::vector<PlannedRun>& planned,
                  const std::vector<RunRecord>& runs) {
  Progress p;
  p.planned = static_cast<int>(planned.size());
  std::map<int, const RunRecord*> by_index;
  for (const auto& r : runs) by_index[r.run_index] = &r;
  std::set<int> in_plan;
  std::map<int, std::pair<int, int>> per_config;  // config -> (finished, planned), warm-up apart
  for (const auto& run : planned) {
    in_plan.insert(run.run_index);
    auto it = by_index.find(run.run_index);
    const std::optional<RunStatus> status =
        it == by_index.end() ? std::nullopt : std::optional(it->second->status);
    if (status == RunStatus::ok) ++p.ok;
    if (status == RunStatus::failed) ++p.failed;
    if (status == RunStatus::aborted) ++p.aborted;
    const bool finished = status == RunStatus::ok || status == RunStatus::failed;
    if (!finished) ++p.left;
    if (!run.warmup) {
      auto& [done, all] = per_config[run.config_index];
      done += finished ? 1 : 0;
      ++all;
    }
  }
  for (const auto& r : runs)
    if (!in_plan.count(r.run_index)) ++p.outside;
  int most = 0;
  for (const auto& [c, v] : per_config) most = std::max(most, v.first);
  for (const auto& [c, v] : per_config)
    if (v.first < most && c < static_cast<int>(design.configs.size()))
      p.behind.push_back(fmt::format(
          "{} ({} of {})", design.configs[static_cast<size_t>(c)].label(), v.first, v.second));
  return p;
}

std::optional<PlannedExperiment> planned_experiment(const ExperimentRecord& e) {
  try {
    const Plan plan = parse_plan(e.plan_text, e.name + " (the plan in the database)");
    const Layout layout = e.layout.is_null() ? initial_layout(plan) : Layout::from_json(e.layout);
    PlannedExperiment out;
    out.design = expand(plan, layout, layout.last_block());
    // Runs come warm-up first, then block by block: the plan asks for whole blocks.
    int block = -1;
    for (const auto& r : out.design.runs) {
      if (r.block != block && static_cast<int>(out.planned.size()) >= e.planned_runs) break;
      block = r.block;
      out.planned.push_back(r);
    }
    return out;
  } catch (const gt::Error&) {
    return std::nullopt;
  }
}

std::string describe(const Progress& p) {
  std::string out =
      fmt::format("{} runs planned: {} ok, {} failed, {} aborted, {} left{}", p.planned, p.ok,
                  p.failed, p.aborted, p.left, p.left == 0 ? " (complete)" : "");
  if (!p.behind.empty())
    out += fmt::format("; fewer runs finished in {}", fmt::join(p.behind, ", "));
  if (p.outside > 0)
    out += fmt::format("; {} more run{} recorded outside the plan", p.outside,
                       p.outside == 1 ? "" : "s");
  return out;
}

}  // namespace gt::experiment
