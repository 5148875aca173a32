// GPU settings in the report (see gpu_settings_table.h).
#include "report/gpu_settings_table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace gt::report {
namespace {

// "1, 2, 5" (at most 12, then "and N more").
std::string run_list(const std::vector<std::string>& ids) {
  constexpr size_t kShown = 12;
  std::vector<std::string> shown(ids.begin(), ids.begin() + std::min(ids.size(), kShown));
  std::string out = fmt::format("{}", fmt::join(shown, ", "));
  if (ids.size() > kShown) out += fmt::format(" and {} more", ids.size() - kShown);
  return out;
}

bool any_setting(const ReportData& data) {
  for (const auto& r : data.runs)
    for (const auto& [k, v] : r.gpu_settings)
      if (!v.empty()) return true;
  return false;
}

}  // namespace

std::optional<std::string> gpu_settings_warning(const ReportData& data) {
  std::vector<std::string> parts;
  for (const auto& column : data.gpu_comparability_columns) {
    std::map<std::string, std::vector<std::string>> runs_by_value;  // known values only
    for (const auto& r : data.runs) {
      if (!r.analysed()) continue;
      const auto it = r.gpu_settings.find(column);
      if (it != r.gpu_settings.end() && !it->second.empty())
        runs_by_value[it->second].push_back(r.run_id);
    }
    if (runs_by_value.size() < 2) continue;
    std::string values;
    for (const auto& [v, ids] : runs_by_value)
      values += fmt::format("{}{} (runs {})", values.empty() ? "" : ", ", v, run_list(ids));
    parts.push_back(fmt::format("{} {}", column, values));
  }
  if (parts.empty()) return std::nullopt;
  return fmt::format(
      "Warning: the runs compared here ran under different GPU settings: {}. A power cap or a "
      "clock setting changes energy as much as a factor can; block on it (analyze --block-by {}) "
      "or run every configuration under the same settings.",
      fmt::join(parts, "; "), parts.front().substr(0, parts.front().find(' ')));
}

NamedTable gpu_settings_table(const ReportData& data) {
  NamedTable t{"GPU power limits and clocks", "", {}};
  if (!any_setting(data)) {
    t.note =
        "Not recorded: these runs metered no NVIDIA GPU, or were recorded before greentrain kept "
        "the GPU's settings.";
    return t;
  }
  // One row per distinct value of every setting but the throttle reasons, which are a union.
  std::vector<std::string> keys;
  for (const auto& c : data.gpu_setting_columns)
    if (c != "gpu_throttle_reasons") keys.push_back(c);
  struct Row {
    std::vector<std::string> ids;
    std::set<std::string> reasons;
  };
  std::map<std::vector<std::string>, Row> rows;
  std::vector<std::vector<std::string>> order;
  for (const auto& r : data.runs) {
    std::vector<std::string> values;
    for (const auto& k : keys) {
      const auto it = r.gpu_settings.find(k);
      values.push_back(it == r.gpu_settings.end() ? "" : it->second);
    }
    if (!rows.count(values)) order.push_back(values);
    Row& row = rows[values];
    row.ids.push_back(r.run_id);
    const auto it = r.gpu_settings.find("gpu_throttle_reasons");
    if (it != r.gpu_settings.end()) {
      std::istringstream words(it->second);
      for (std::string w; words >> w;) row.reasons.insert(w);
    }
  }
  t.table.columns = {"runs"};
  t.table.columns.insert(t.table.columns.end(), keys.begin(), keys.end());
  t.table.columns.push_back("gpu_throttle_reasons (seen)");
  t.table.numeric.assign(t.table.columns.size(), false);
  for (const auto& values : order) {
    const Row& row = rows[values];
    std::vector<std::string> cells = {run_list(row.ids)};
    for (const auto& v : values) cells.push_back(v.empty() ? "—" : v);
    std::set<std::string> reasons = row.reasons;
    if (reasons.size() > 1) reasons.erase("none");
    cells.push_back(reasons.empty() ? "—" : fmt::format("{}", fmt::join(reasons, " ")));
    t.table.rows.push_back(std::move(cells));
  }
  t.note = gpu_settings_warning(data).value_or(
      "Every run compared here ran under the same GPU power limits and clocks. Throttle reasons "
      "are NVML's, seen during the runs (sw_power_cap: the power limit held the clocks down).");
  return t;
}

}  // namespace gt::report
