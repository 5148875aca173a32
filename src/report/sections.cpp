// Statistics and method tables (see sections.h).
#include "report/sections.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "report/format.h"
#include "report/gpu_settings_table.h"
#include "report/model.h"

namespace gt::report {
namespace {

using nlohmann::json;

std::string num(double v, int digits = 4) {
  return std::isfinite(v) ? format_number(v, digits) : "—";
}

// Degrees of freedom: integers as integers, Welch's fractional df with 3 digits.
std::string dfs(double v) {
  if (!std::isfinite(v)) return "—";
  return v == std::floor(v) && std::fabs(v) < 1e9 ? fmt::format("{:.0f}", v) : format_number(v, 3);
}

std::string pval(double p) { return format_p_value(p); }

std::string pct(double v) { return std::isfinite(v) ? format_signed_pct(v) : "—"; }

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

void flatten(const json& j, const std::string& prefix,
             std::vector<std::vector<std::string>>& rows) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, rows);
  } else if (j.is_array() && !j.empty() && j[0].is_object()) {
    for (size_t i = 0; i < j.size(); ++i)
      flatten(j[i], prefix + "[" + std::to_string(i) + "]", rows);
  } else {
    rows.push_back({prefix, text_of(j)});
  }
}

}  // namespace

std::string metric_title(const std::string& metric) {
  static const std::map<std::string, std::string> names{{"energy_j", "energy (J)"},
                                                        {"net_energy_j", "net energy (J)"},
                                                        {"gpu_energy_j", "GPU energy (J)"},
                                                        {"cpu_energy_j", "CPU energy (J)"},
                                                        {"ram_energy_j", "RAM energy (J)"},
                                                        {"wall_energy_j", "wall energy (J)"},
                                                        {"duration_s", "duration (s)"},
                                                        {"avg_power_w", "average power (W)"},
                                                        {"peak_power_w", "peak power (W)"},
                                                        {"co2e_g", "carbon (gCO2e)"},
                                                        {"test_accuracy", "test accuracy"},
                                                        {"final_loss", "final loss"},
                                                        {"train_energy_j", "training energy (J)"},
                                                        {"train_duration_s", "training time (s)"}};
  auto it = names.find(metric);
  return it == names.end() ? metric : it->second;
}

namespace {

// The tables of one metric, with what every one needs: the analysis, the benchmark's label and
// the confidence level's text.
struct MetricTables {
  const ReportData& data;
  const stats::Analysis& a;
  const stats::MetricAnalysis& m;
  std::string title, bench, level;

  std::string label(const stats::Levels& l) const { return config_label(data, a.config_map(l)); }
};

NamedTable versus_table(const MetricTables& x) {
  const auto& m = x.m;
  const auto& a = x.a;
  const std::string &title = x.title, &bench = x.bench, &level = x.level;
  auto label = [&](const stats::Levels& l) { return x.label(l); };
  NamedTable t{"Versus the benchmark: " + title, "", {}};
  auto runs_needed = [](const stats::Comparison& c) {
    return std::isfinite(c.runs_needed) ? fmt::format("{:.0f}", c.runs_needed) : "—";
  };
  const std::string decides = fmt::format(
      "The verdicts use “Holm p”: the p-value corrected for this metric's {} comparisons "
      "with the benchmark (uncorrected p-values would find a difference somewhere by chance "
      "far more often than α = {}). Runs needed: whole runs per configuration for 80 % "
      "power with that same test and correction (shown where it found no difference). "
      "Mann–Whitney and paired p are uncorrected cross-checks.",
      m.versus_baseline.size(), fmt::format("{:g}", a.alpha));
  if (m.positive) {
    t.note =
        "Change = ratio of means on the log scale (Welch's t on log values) against the "
        "benchmark (" +
        bench + "), with its " + level + " interval, which never crosses zero. " + decides;
    t.table.columns = {"configuration",    "n",       "change",      level + " CI low",
                       level + " CI high", "Holm p",  "runs needed", "Hedges g",
                       "Mann–Whitney p",   "paired p"};
    t.table.numeric = {false, true, true, true, true, true, true, true, true, true};
    for (const auto& c : m.versus_baseline)
      t.table.rows.push_back({label(c.config), std::to_string(c.n), pct(100 * (c.ratio - 1)),
                              pct(100 * (c.ratio_ci_low - 1)), pct(100 * (c.ratio_ci_high - 1)),
                              pval(c.ratio_p_holm), runs_needed(c), num(c.hedges_g, 3),
                              pval(c.mw_p), pval(c.paired_p)});
  } else {
    t.note = "Difference = configuration − benchmark (" + bench + "); Welch's t-test with its " +
             level + " interval; Hedges' g. " + decides;
    t.table.columns = {"configuration",
                       "n",
                       "difference",
                       level + " CI low",
                       level + " CI high",
                       "Holm p",
                       "runs needed",
                       "Welch t",
                       "df",
                       "Hedges g",
                       "Mann–Whitney p",
                       "paired p"};
    t.table.numeric = {false, true, true, true, true, true, true, true, true, true, true, true};
    for (const auto& c : m.versus_baseline)
      t.table.rows.push_back({label(c.config), std::to_string(c.n), num(c.diff), num(c.diff_ci_low),
                              num(c.diff_ci_high), pval(c.p_holm), runs_needed(c),
                              num(c.welch_t, 3), dfs(c.welch_df), num(c.hedges_g, 3), pval(c.mw_p),
                              pval(c.paired_p)});
  }
  return t;
}

NamedTable factorial_table(const MetricTables& x) {
  const auto& m = x.m;
  const std::string& title = x.title;
  NamedTable f{"Factorial ANOVA: " + title,
               "Type II sums of squares; main effects and two-way interactions.",
               {}};
  f.table.columns = {"term", "df", "sum of squares", "F", "p", "partial η²"};
  f.table.numeric = {false, true, true, true, true, true};
  for (const auto& term : m.factorial.terms)
    f.table.rows.push_back({term.term, dfs(term.df), num(term.sum_sq), num(term.f), pval(term.p),
                            num(term.partial_eta_sq, 3)});
  f.table.rows.push_back(
      {"Residual", dfs(m.factorial.residual_df), num(m.factorial.residual_ss), "—", "—", "—"});
  if (!m.factorial.dropped.empty())
    f.note += " Not estimable with this design: " +
              fmt::format("{}", fmt::join(m.factorial.dropped, ", ")) + ".";
  return f;
}

NamedTable across_table(const MetricTables& x) {
  const auto& m = x.m;
  const std::string& title = x.title;
  NamedTable across{"Across configurations: " + title, "", {}};
  across.table.columns = {"test", "statistic", "df", "p", "effect"};
  across.table.numeric = {false, true, false, true, true};
  across.table.rows.push_back({"one-way ANOVA (F)", num(m.oneway.f),
                               dfs(m.oneway.df_between) + ", " + dfs(m.oneway.df_within),
                               pval(m.oneway.p), "η² = " + num(m.oneway.eta_sq, 3)});
  across.table.rows.push_back({"Welch's ANOVA (F)", num(m.welch.f),
                               dfs(m.welch.df_num) + ", " + dfs(m.welch.df_den), pval(m.welch.p),
                               ""});
  across.table.rows.push_back({"Brown–Forsythe (W)", num(m.levene.w), "", pval(m.levene.p), ""});
  return across;
}

NamedTable tukey_table(const MetricTables& x) {
  const auto& m = x.m;
  const std::string& title = x.title;
  auto label = [&](const stats::Levels& l) { return x.label(l); };
  NamedTable t{"Tukey HSD: " + title,
               "All pairs; difference = second − first, family-wise 95 % interval.",
               {},
               true};
  t.table.columns = {"first", "second", "difference", "adjusted p", "95 % CI low", "95 % CI high"};
  t.table.numeric = {false, false, true, true, true, true};
  for (const auto& p : m.tukey)
    t.table.rows.push_back(
        {label(p.a), label(p.b), num(p.diff), pval(p.p_adj), num(p.ci_low), num(p.ci_high)});
  return t;
}

NamedTable equivalence_table(const ReportData& data, const stats::Analysis& a) {
  auto label = [&](const stats::Levels& l) { return config_label(data, a.config_map(l)); };
  NamedTable t{"Equivalence with the benchmark (TOST)",
               "Two one-sided Welch tests: equivalent when p < α = " + format_number(a.alpha, 3) +
                   ". Runs needed: per configuration, for the observed difference and spread to "
                   "show equivalence.",
               {}};
  t.table.columns = {"metric", "configuration", "margin",     "difference",
                     "p",      "equivalent",    "runs needed"};
  t.table.numeric = {false, false, true, true, true, false, true};
  for (const auto& e : a.equivalence)
    t.table.rows.push_back({metric_title(e.metric), label(e.config), num(e.margin), num(e.diff),
                            pval(e.p), e.equivalent ? "yes" : "no", num(e.n_needed, 3)});
  return t;
}

}  // namespace

std::vector<NamedTable> statistics_tables(const ReportData& data) {
  std::vector<NamedTable> out;
  if (!data.analysis) return out;
  // Runs compared under different GPU limits or clocks: said before any comparison.
  if (auto warning = gpu_settings_warning(data)) {
    NamedTable settings = gpu_settings_table(data);
    settings.title = "Runs under different GPU settings";
    out.push_back(std::move(settings));
  }
  const stats::Analysis& a = *data.analysis;
  const std::string bench = config_label(data, data.benchmark);
  const std::string level = fmt::format("{:g} %", 100 * (1 - a.alpha));
  for (const auto& m : a.metrics) {
    const MetricTables x{data, a, m, metric_title(m.metric), bench, level};
    if (m.constant) {
      out.push_back({"No variation: " + x.title,
                     "Every run has " + num(m.cells.front().mean, 6) + ", so no test applies.",
                     {}});
      continue;
    }
    if (!m.versus_baseline.empty()) out.push_back(versus_table(x));
    out.push_back(factorial_table(x));
    out.push_back(across_table(x));
    if (!m.tukey.empty()) out.push_back(tukey_table(x));
  }
  if (!a.equivalence.empty()) out.push_back(equivalence_table(data, a));
  return out;
}

std::vector<NamedTable> method_tables(const ReportData& data) {
  std::vector<NamedTable> out;
  // Meters: every (component, device, source, model) seen in the runs.
  NamedTable meters{
      "Meters", "Measured = a hardware counter or meter; estimated = a model, named here.", {}};
  meters.table.columns = {"component", "device", "source", "how", "runs"};
  meters.table.numeric = {false, false, false, false, true};
  std::map<std::tuple<std::string, std::string, std::string, std::string>, int> seen;
  for (const auto& r : data.runs)
    for (const auto& c : r.components)
      ++seen[{to_string(c.component), c.device, to_string(c.source), c.model}];
  for (auto& [k, n] : seen) {
    auto& [component, device, source, model] = k;
    meters.table.rows.push_back({component, device.empty() ? "—" : device, source,
                                 model.empty() ? "—" : model, std::to_string(n)});
  }
  if (meters.table.rows.empty()) meters.note = "No per-component energy was recorded.";
  out.push_back(std::move(meters));

  NamedTable idle{
      "Idle baseline",
      "Power drawn with nothing running; net energy subtracts it over the run's duration.",
      {}};
  const bool valid = idle_baseline_valid(data);
  idle.table.columns = {"component", "device", "idle power (W)", "measured over (s)", "valid"};
  idle.table.numeric = {false, false, true, true, false};
  for (const auto& b : data.idle)
    idle.table.rows.push_back({to_string(b.component), b.device.empty() ? "—" : b.device,
                               format_number(b.power_w), format_number(b.duration_s, 3),
                               valid ? "yes" : "no: machine busy"});
  if (idle.table.rows.empty())
    idle.note = "No idle baseline was measured, so only gross energy is shown.";
  else if (!valid)
    idle.note = fmt::format(
        "Not valid: the machine was {:.0f} % busy while the baseline was measured (more than "
        "{:.0f} %), so it is not the machine at rest. No net-of-idle figure is shown; gross "
        "energy is.",
        100 * idle_busy_share(data).value_or(0), 100 * busy_share(data));
  out.push_back(std::move(idle));

  NamedTable busy{"Runs on a busy machine", "", {}};
  busy.table.columns = {"run",        "configuration", "block", "CPU busy outside the run",
                        "energy (J)", "duration (s)"};
  busy.table.numeric = {true, false, true, true, true, true};
  for (const Run* r : contended_runs(data)) {
    auto metric = [&](const char* k) {
      auto it = r->metrics.find(k);
      return it == r->metrics.end() ? std::string("—") : format_number(it->second);
    };
    busy.table.rows.push_back({r->run_id, config_label(data, r->config), std::to_string(r->block),
                               format_signed_pct(100 * r->metrics.at("outside_cpu_share"), false),
                               metric("energy_j"), metric("duration_s")});
  }
  if (!busy.table.rows.empty())
    busy.note = fmt::format(
        "More than {:.0f} % of the machine's CPU capacity was busy outside these runs' "
        "processes while they ran: other load disturbs their energy and time. They are analysed "
        "with the others; compare them before trusting a small difference.",
        100 * busy_share(data));
  else if (has_metric(data, "outside_cpu_share"))
    busy.note = fmt::format("None: no run had more than {:.0f} % of the CPU busy outside it.",
                            100 * busy_share(data));
  else
    busy.note = "Not recorded: these runs did not measure the CPU load outside them.";
  out.push_back(std::move(busy));

  NamedTable design{"Design", "", {}};
  design.table.columns = {"setting", "value"};
  design.table.numeric = {false, false};
  flatten(data.design, "", design.table.rows);
  int total = 0, ok = 0, failed = 0, aborted = 0, warmup = 0;
  for (const auto& r : data.runs) {
    ++total;
    if (r.warmup)
      ++warmup;
    else if (r.status == RunStatus::ok)
      ++ok;
    else if (r.status == RunStatus::failed)
      ++failed;
    else
      ++aborted;
  }
  design.table.rows.push_back({"runs recorded", std::to_string(total)});
  design.table.rows.push_back({"runs analysed / failed / aborted / warm-up",
                               fmt::format("{} / {} / {} / {}", ok, failed, aborted, warmup)});
  if (!data.benchmark.empty())
    design.table.rows.push_back({"benchmark", config_label(data.benchmark, data.factors)});
  for (const auto& [factor, levels] : data.level_labels)
    for (const auto& [level, text] : levels)
      design.table.rows.push_back({"label of " + factor + " = " + level, text});
  design.table.rows.push_back(
      {"carbon grid",
       data.plan_grid.label + " (" + format_number(data.plan_grid.g_per_kwh, 4) + " gCO2e/kWh" +
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
  out.push_back(gpu_settings_table(data));  // per run: limits, clocks, throttle reasons
  return out;
}

}  // namespace gt::report
