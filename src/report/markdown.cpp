// The Markdown summary (see writers.h): the headline, the per-configuration table (energy with
// its interval, duration, power, accuracy, carbon), energy by component, carbon on other grids,
// the comparisons with the benchmark and equivalence from `analyze`, and a short method note.
// GitHub-flavoured tables, nothing that needs a renderer beyond CommonMark + tables.
#include <fmt/format.h>

#include "report/charts.h"
#include "report/format.h"
#include "report/model.h"
#include "report/sections.h"
#include "report/writers.h"

namespace gt::report {
namespace {

std::string md_table(const Table& t) {
  if (t.rows.empty()) return "";
  std::string out = "|";
  for (const auto& c : t.columns) out += " " + markdown_cell(c) + " |";
  out += "\n|";
  for (size_t i = 0; i < t.columns.size(); ++i) out += (i < t.numeric.size() && t.numeric[i]) ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& cell : row) out += " " + markdown_cell(cell) + " |";
    out += "\n";
  }
  return out + "\n";
}

std::string cell_text(const std::optional<CellSummary>& s, int digits = 4) {
  if (!s || s->n == 0) return "—";
  return format_number(s->mean, digits) + " [" + format_number(s->ci95_low, digits) + ", " +
         format_number(s->ci95_high, digits) + "]";
}

}  // namespace

std::string render_markdown(const ReportData& data) {
  std::string out = "# greentrain report: " + (data.experiment.empty() ? std::string("experiment") : data.experiment) + "\n\n";
  out += "_greentrain " + data.greentrain_version + (data.generated_at.empty() ? "" : ", " + data.generated_at) + "_\n\n";

  out += "## Headline\n\n";
  Headline h = headline(data);
  if (!h.available) {
    out += "No headline: " + h.reason + ".\n\n";
  } else if (h.best_is_benchmark) {
    out += "The benchmark (" + config_label(data, h.benchmark) + ") is the most frugal configuration" +
           (h.accuracy_checked ? " among those with equivalent accuracy" : "") + ": " + format_energy(h.benchmark_energy_j) +
           " per run.\n\n";
  } else {
    out += fmt::format("**Best by energy{}: {}**, saving {} [95 % CI {}, {}] of the benchmark's energy ({} → {} per run): "
                       "{} kWh and {} CO2e per run on {}.\n\n",
                       h.accuracy_checked ? " among configurations with accuracy equivalent to the benchmark's" : "",
                       config_label(data, h.best), format_signed_pct(h.saving_pct, false),
                       format_signed_pct(h.saving_pct_low, false), format_signed_pct(h.saving_pct_high, false),
                       format_energy(h.benchmark_energy_j), format_energy(h.best_energy_j), format_number(h.saving_kwh, 3),
                       format_co2e(h.saving_co2e_g), data.plan_grid.label);
  }
  if (h.available) out += "> " + h.verdict + "\n\n";

  out += "## Per configuration\n\nMeans with 95 % confidence intervals over successful runs (warm-up excluded).\n\n";
  Table per;
  per.columns = {"configuration", "runs", "failed", "energy (J)", "duration (s)", "avg power (W)", "test accuracy", "gCO2e"};
  per.numeric = {false, true, true, true, true, true, true, true};
  for (const auto& c : configurations(data)) {
    auto e = summarize(data, "energy_j", c);
    int failed = 0;
    for (const auto& r : data.runs)
      if (!r.warmup && r.status != "ok" && same_config(r.config, c, data.factors)) ++failed;
    std::string label = config_label(data, c);
    if (same_config(c, data.benchmark, data.factors)) label += " (benchmark)";
    auto acc = summarize(data, "test_accuracy", c);
    per.rows.push_back({label, std::to_string(e ? e->n : 0), std::to_string(failed), cell_text(e),
                        cell_text(summarize(data, "duration_s", c)), cell_text(summarize(data, "avg_power_w", c)),
                        acc && acc->n ? format_number(acc->mean, 4) : "—",
                        format_optional(co2e_on_grid(data, c, data.plan_grid))});
  }
  out += md_table(per);

  if (auto comp = components_chart(data)) out += "## Energy by component\n\n" + md_table(comp->table);

  if (auto p = pareto_chart(data)) out += "## Accuracy versus energy\n\n" + md_table(p->table);

  out += "## Carbon\n\n";
  if (auto c = carbon_chart(data)) out += c->description + "\n\n" + md_table(c->table);
  if (auto g = grids_chart(data)) out += "The same energy on other grids (gCO2e per run):\n\n" + md_table(g->table);
  if (!data.carbon_attribution.empty()) out += "_" + data.carbon_attribution + "_\n\n";

  out += "## Statistics\n\n";
  if (!data.analysis_note.empty()) out += "_" + data.analysis_note + "_\n\n";
  for (const auto& v : data.verdicts) out += "- " + v + "\n";
  if (!data.verdicts.empty()) out += "\n";
  for (const auto& t : statistics_tables(data)) {
    if (t.collapsed) continue;  // Tukey HSD: in the HTML page
    out += "### " + t.title + "\n\n" + (t.note.empty() ? "" : t.note + "\n\n") + md_table(t.table);
  }

  out += "## Method\n\n";
  for (const auto& t : method_tables(data)) {
    if (t.title == "Environment" && t.table.rows.size() > 30) continue;
    out += "### " + t.title + "\n\n" + (t.note.empty() ? "" : t.note + "\n\n") + md_table(t.table);
  }
  return out;
}

}  // namespace gt::report
