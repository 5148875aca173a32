// Statistics and method tables (see sections.h).
#include "report/sections.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "report/format.h"
#include "report/model.h"

namespace gt::report {
namespace {

using nlohmann::json;

Config config_of(const json& j) {
  Config c;
  if (j.is_object())
    for (auto& [k, v] : j.items()) c[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return c;
}

std::string num(const json& obj, const char* key, int digits = 4) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return "—";
  return format_number(obj[key].get<double>(), digits);
}

// Degrees of freedom: integers as integers, Welch's fractional df with 3 digits.
std::string dfs(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return "—";
  double v = obj[key].get<double>();
  return v == std::floor(v) && std::fabs(v) < 1e9 ? fmt::format("{:.0f}", v) : format_number(v, 3);
}

std::string pval(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return "—";
  return format_p_value(obj[key].get<double>());
}

std::string pct(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return "—";
  return format_signed_pct(obj[key].get<double>());
}

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return format_number(v.get<double>(), 6);
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "—";
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + text_of(e);
    return out;
  }
  return v.dump();
}

void flatten(const json& j, const std::string& prefix, std::vector<std::vector<std::string>>& rows) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, rows);
  } else if (j.is_array() && !j.empty() && j[0].is_object()) {
    for (size_t i = 0; i < j.size(); ++i) flatten(j[i], prefix + "[" + std::to_string(i) + "]", rows);
  } else {
    rows.push_back({prefix, text_of(j)});
  }
}

}  // namespace

std::string metric_title(const std::string& metric) {
  static const std::map<std::string, std::string> names{
      {"energy_j", "energy (J)"},          {"net_energy_j", "net energy (J)"},  {"gpu_energy_j", "GPU energy (J)"},
      {"cpu_energy_j", "CPU energy (J)"},  {"ram_energy_j", "RAM energy (J)"},  {"wall_energy_j", "wall energy (J)"},
      {"duration_s", "duration (s)"},      {"avg_power_w", "average power (W)"}, {"peak_power_w", "peak power (W)"},
      {"co2e_g", "carbon (gCO2e)"},        {"test_accuracy", "test accuracy"},   {"final_loss", "final loss"}};
  auto it = names.find(metric);
  return it == names.end() ? metric : it->second;
}

std::vector<NamedTable> statistics_tables(const ReportData& data) {
  std::vector<NamedTable> out;
  const json& a = data.analysis;
  if (!a.is_object() || !a.contains("metrics")) return out;
  std::string bench = config_label(data, data.benchmark);
  std::vector<std::string> order{"energy_j", "net_energy_j", "duration_s", "avg_power_w", "co2e_g", "test_accuracy"};
  for (auto& [metric, m] : a["metrics"].items())
    if (std::find(order.begin(), order.end(), metric) == order.end()) order.push_back(metric);
  for (const auto& metric : order) {
    if (!a["metrics"].contains(metric)) continue;
    const json& m = a["metrics"][metric];
    std::string title = metric_title(metric);
    if (m.contains("factorial_anova") && m["factorial_anova"].is_object() && m["factorial_anova"].contains("terms")) {
      NamedTable t{"Factorial ANOVA: " + title, "Type II sums of squares; main effects and two-way interactions.", {}};
      t.table.columns = {"term", "df", "sum of squares", "F", "p", "partial η²"};
      t.table.numeric = {false, true, true, true, true, true};
      for (const auto& term : m["factorial_anova"]["terms"])
        t.table.rows.push_back({term.value("term", "?"), dfs(term, "df"), num(term, "sum_sq"), num(term, "f"),
                                pval(term, "p"), num(term, "partial_eta_sq", 3)});
      if (m["factorial_anova"].contains("dropped") && !m["factorial_anova"]["dropped"].empty())
        t.note += " Not estimable with this design: " + text_of(m["factorial_anova"]["dropped"]) + ".";
      if (!t.table.rows.empty()) out.push_back(std::move(t));
    }
    if (m.contains("versus_baseline") && m["versus_baseline"].is_array() && !m["versus_baseline"].empty()) {
      NamedTable t{"Versus the benchmark: " + title,
                   "Difference = configuration − benchmark (" + bench + "); Welch's t-test, Holm-adjusted p over the "
                   "comparisons of this metric, Hedges' g, Mann–Whitney U, paired t over blocks, and the runs per "
                   "group a two-sample t-test needs for 80 % power.",
                   {}};
      t.table.columns = {"configuration", "difference", "difference %", "Welch t", "df", "p", "Holm p", "Hedges g",
                         "Mann–Whitney p", "paired p", "n for 80 % power"};
      t.table.numeric = {false, true, true, true, true, true, true, true, true, true, true};
      for (const auto& v : m["versus_baseline"])
        t.table.rows.push_back({config_label(data, config_of(v.value("config", json()))), num(v, "diff"),
                                pct(v, "diff_pct"), num(v, "welch_t", 3), dfs(v, "welch_df"), pval(v, "welch_p"),
                                pval(v, "p_holm"), num(v, "hedges_g", 3), pval(v, "mw_p"), pval(v, "paired_p"),
                                num(v, "n_for_80pct_power", 3)});
      out.push_back(std::move(t));
    }
    NamedTable across{"Across configurations: " + title, "", {}};
    across.table.columns = {"test", "statistic", "df", "p", "effect"};
    across.table.numeric = {false, true, false, true, true};
    if (m.contains("oneway_anova") && m["oneway_anova"].is_object()) {
      const auto& o = m["oneway_anova"];
      across.table.rows.push_back({"one-way ANOVA (F)", num(o, "f"), dfs(o, "df_between") + ", " + dfs(o, "df_within"),
                                   pval(o, "p"), "η² = " + num(o, "eta_sq", 3)});
    }
    if (m.contains("welch_anova") && m["welch_anova"].is_object()) {
      const auto& o = m["welch_anova"];
      across.table.rows.push_back({"Welch's ANOVA (F)", num(o, "f"), dfs(o, "df_num") + ", " + dfs(o, "df_den"),
                                   pval(o, "p"), ""});
    }
    if (m.contains("levene") && m["levene"].is_object()) {
      const auto& o = m["levene"];
      across.table.rows.push_back({"Brown–Forsythe (W)", num(o, "w"), "", pval(o, "p"), ""});
    }
    if (!across.table.rows.empty()) out.push_back(std::move(across));
    if (m.contains("tukey_hsd") && m["tukey_hsd"].is_array() && !m["tukey_hsd"].empty()) {
      NamedTable t{"Tukey HSD: " + title, "All pairs; difference = second − first, family-wise 95 % interval.", {}, true};
      t.table.columns = {"first", "second", "difference", "adjusted p", "95 % CI low", "95 % CI high"};
      t.table.numeric = {false, false, true, true, true, true};
      for (const auto& p : m["tukey_hsd"])
        t.table.rows.push_back({config_label(data, config_of(p.value("a", json()))),
                                config_label(data, config_of(p.value("b", json()))), num(p, "diff"),
                                pval(p, "p_adj"), num(p, "ci_low"), num(p, "ci_high")});
      out.push_back(std::move(t));
    }
  }
  if (a.contains("equivalence") && a["equivalence"].is_array() && !a["equivalence"].empty()) {
    NamedTable t{"Equivalence with the benchmark (TOST)",
                 "Two one-sided Welch tests: equivalent when p < α = " + format_number(a.value("alpha", 0.05), 3) + ".", {}};
    t.table.columns = {"metric", "configuration", "margin", "p", "equivalent"};
    t.table.numeric = {false, false, true, true, false};
    for (const auto& e : a["equivalence"])
      t.table.rows.push_back({metric_title(e.value("metric", "?")),
                              config_label(data, config_of(e.value("config", json()))), num(e, "margin"),
                              pval(e, "p"), e.value("equivalent", false) ? "yes" : "no"});
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<NamedTable> method_tables(const ReportData& data) {
  std::vector<NamedTable> out;
  // Meters: every (component, device, source, model) seen in the runs.
  NamedTable meters{"Meters", "Measured = a hardware counter or meter; estimated = a model, named here.", {}};
  meters.table.columns = {"component", "device", "source", "how", "runs"};
  meters.table.numeric = {false, false, false, false, true};
  std::map<std::tuple<std::string, std::string, std::string, std::string>, int> seen;
  for (const auto& r : data.runs)
    for (const auto& c : r.components) ++seen[{c.component, c.device, c.source, c.model}];
  for (auto& [k, n] : seen) {
    auto& [component, device, source, model] = k;
    meters.table.rows.push_back({component, device.empty() ? "—" : device, source, model.empty() ? "—" : model,
                                 std::to_string(n)});
  }
  if (meters.table.rows.empty()) meters.note = "No per-component energy was recorded.";
  out.push_back(std::move(meters));

  NamedTable idle{"Idle baseline", "Power drawn with nothing running; net energy subtracts it over the run's duration.", {}};
  idle.table.columns = {"component", "device", "idle power (W)", "measured over (s)"};
  idle.table.numeric = {false, false, true, true};
  for (const auto& b : data.idle)
    idle.table.rows.push_back({b.component, b.device.empty() ? "—" : b.device, format_number(b.power_w),
                               format_number(b.duration_s, 3)});
  if (idle.table.rows.empty()) idle.note = "No idle baseline was measured, so only gross energy is shown.";
  out.push_back(std::move(idle));

  NamedTable design{"Design", "", {}};
  design.table.columns = {"setting", "value"};
  design.table.numeric = {false, false};
  flatten(data.design, "", design.table.rows);
  int total = 0, ok = 0, failed = 0, aborted = 0, warmup = 0;
  for (const auto& r : data.runs) {
    ++total;
    if (r.warmup) ++warmup;
    else if (r.status == "ok") ++ok;
    else if (r.status == "failed") ++failed;
    else ++aborted;
  }
  design.table.rows.push_back({"runs recorded", std::to_string(total)});
  design.table.rows.push_back(
      {"runs analysed / failed / aborted / warm-up",
       fmt::format("{} / {} / {} / {}", ok, failed, aborted, warmup)});
  if (!data.benchmark.empty()) design.table.rows.push_back({"benchmark", config_label(data.benchmark, data.factors)});
  design.table.rows.push_back({"carbon grid", data.plan_grid.label + " (" + format_number(data.plan_grid.g_per_kwh, 4) +
                                                  " gCO2e/kWh" +
                                                  (data.plan_grid.source.empty() ? "" : ", " + data.plan_grid.source) +
                                                  (data.plan_grid.year ? ", " + std::to_string(data.plan_grid.year) : "") + ")"});
  design.table.rows.push_back({"PUE", format_number(data.pue, 3)});
  out.push_back(std::move(design));

  NamedTable env{"Environment", "Snapshot taken when the experiment started.", {}};
  env.table.columns = {"item", "value"};
  env.table.numeric = {false, false};
  flatten(data.environment, "", env.table.rows);
  if (env.table.rows.empty()) env.note = "No environment snapshot was recorded.";
  out.push_back(std::move(env));
  return out;
}

}  // namespace gt::report
