// Blocking factor for `analyze --db` (see analyze_blocking.h).
#include "cli/analyze_blocking.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "common/error.h"
#include "experiment/run_setup.h"
#include "experiment/store.h"
#include "stats/blocking.h"

namespace gt::cli {
namespace {

std::optional<double> metric_of(const experiment::RunRecord& r, const std::string& m) {
  if (m == "energy_j") return r.energy_j;
  if (m == "net_energy_j") return r.net_energy_j;
  if (m == "duration_s") return r.duration_s;
  if (m == "avg_power_w") return r.avg_power_w;
  if (m == "peak_power_w") return r.peak_power_w;
  if (m == "co2e_g") return r.co2e_g;
  if (m == "wall_energy_j") return r.wall_energy_j;
  for (Component c : {Component::gpu, Component::cpu, Component::ram})
    if (m == fmt::format("{}_energy_j", c)) return r.component_energy_j(c);
  if (auto it = r.metrics.find(m); it != r.metrics.end()) return it->second;
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& blocking_columns() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> c = {"gpu", "host", "gpu_model"};
    for (const auto& f : energy::setting_fields()) c.push_back("gpu_" + f);
    return c;
  }();
  return v;
}

nlohmann::json blocking_analysis(const std::string& db, const std::string& name,
                                 const std::string& by, const std::vector<std::string>& wanted) {
  const auto& allowed = blocking_columns();
  if (std::find(allowed.begin(), allowed.end(), by) == allowed.end())
    throw gt::UsageError(
        fmt::format("--block-by {}: expected one of {}", by, fmt::join(allowed, ", ")));
  const experiment::Store store(db, experiment::Store::Mode::read_only);
  const auto e = store.experiment(name);
  const experiment::RunSetups setups(store, e);
  std::vector<experiment::RunRecord> runs;
  for (auto& r : store.runs(e.id))
    if (r.status == RunStatus::ok && !r.warmup) runs.push_back(std::move(r));
  // Level indices per factor, in the plan's order of levels.
  std::vector<std::vector<int>> levels;
  std::vector<std::string> block;
  for (const auto& r : runs) {
    std::vector<int> row;
    for (const auto& f : e.factor_names) {
      const auto& lv = e.factors[f];
      const auto v = r.factor(f).value_or("");
      int idx = 0;
      for (size_t i = 0; i < lv.size(); ++i)
        if ((lv[i].is_string() ? lv[i].get<std::string>() : lv[i].dump()) == v)
          idx = static_cast<int>(i);
      row.push_back(idx);
    }
    levels.push_back(row);
    const auto& p = r.provenance;
    const std::string label = by == "gpu"    ? p.gpu_uuid
                              : by == "host" ? (p.node.empty() ? p.host : p.node)
                                             : experiment::context_value(setups.of(r), by);
    if (label.empty())
      throw gt::Error(fmt::format(
          "--block-by {}: run {} has no recorded {} (runs recorded before greentrain kept {}, "
          "or a run without a GPU{})",
          by, r.run_index,
          by == "gpu"    ? "GPU board"
          : by == "host" ? "host"
                         : by,
          by == "gpu" || by == "host" ? "provenance" : "the GPU's settings",
          by == "gpu" || by == "host" ? "" : ", or GPUs of one run that differed in it"));
    block.push_back(label);
  }
  const std::vector<std::string>& metrics = wanted;
  nlohmann::json out = {{"by", by}, {"metrics", nlohmann::json::object()}};
  for (const auto& m : metrics) {
    std::vector<std::vector<int>> lv;
    std::vector<std::string> bl;
    std::vector<double> y;
    for (size_t i = 0; i < runs.size(); ++i)
      if (auto v = metric_of(runs[i], m)) {
        lv.push_back(levels[i]);
        bl.push_back(block[i]);
        y.push_back(*v);
      }
    if (y.size() < 2) continue;
    out["metrics"][m] = stats::to_json(stats::blocked_anova_type2(e.factor_names, lv, bl, by, y));
  }
  return out;
}

}  // namespace gt::cli
