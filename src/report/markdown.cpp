// The Markdown summary (see writers.h): the headline, the per-configuration table (energy with
// its interval, duration, power, accuracy, carbon), energy by component, carbon on other grids,
// the comparisons with the benchmark and equivalence from `analyze`, and a short method note.
// GitHub-flavoured tables, nothing that needs a renderer beyond CommonMark + tables. Every name,
// level and sentence is escaped (stats::markdown_escape), so an experiment named "<script>" or a
// level "<img onerror=...>" is shown as text, never as HTML.
#include <fmt/format.h>

#include <cmath>

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
  for (size_t i = 0; i < t.columns.size(); ++i)
    out += (i < t.numeric.size() && t.numeric[i]) ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& cell : row) out += " " + markdown_cell(cell) + " |";
    out += "\n";
  }
  return out + "\n";
}

std::string md(const std::string& s) { return stats::markdown_escape(s); }

std::string cell_text(const std::optional<stats::Description>& s, int digits = 4) {
  if (!s || s->n == 0) return "—";
  if (!std::isfinite(s->ci95_low)) return format_number(s->mean, digits);
  return format_number(s->mean, digits) + " [" + format_number(s->ci95_low, digits) + ", " +
         format_number(s->ci95_high, digits) + "]";
}

}  // namespace

std::string render_markdown(const ReportData& data) {
  std::string out = "# greentrain report: " +
                    md(data.experiment.empty() ? std::string("experiment") : data.experiment) +
                    "\n\n";
  out += "_greentrain " + md(data.greentrain_version) +
         (data.generated_at.empty() ? "" : ", " + md(data.generated_at)) + "_\n\n";

  out += "## Headline\n\n";
  HeadlineView h = headline(data);
  out += "**" + md(h.title) + ".**";
  if (h.saving_kwh && h.saving_co2e_g) out += " " + md(saving_sentence(data, h));
  out += "\n\n";
  for (const auto& d : h.details) out += "- " + md(d) + "\n";
  if (!h.details.empty()) out += "\n";

  out +=
      "## Per configuration\n\nMeans with 95 % confidence intervals over successful runs (warm-up "
      "excluded).\n\n";
  Table per;
  per.columns = {"configuration", "runs",          "failed",        "energy (J)",
                 "duration (s)",  "avg power (W)", "test accuracy", "gCO2e"};
  per.numeric = {false, true, true, true, true, true, true, true};
  const bool phases = has_metric(data, "train_energy_j");
  if (phases) {
    per.columns.insert(per.columns.begin() + 3, "training energy (J)");
    per.numeric.insert(per.numeric.begin() + 3, true);
  }
  for (const auto& c : configurations(data)) {
    auto e = summarize(data, "energy_j", c);
    std::string label = config_label(data, c);
    if (same_config(c, data.benchmark, data.factors)) label += " (benchmark)";
    auto acc = summarize(data, "test_accuracy", c);
    std::vector<std::string> row{label,
                                 std::to_string(e ? e->n : 0),
                                 std::to_string(failed_runs(data, c)),
                                 cell_text(e),
                                 cell_text(summarize(data, "duration_s", c)),
                                 cell_text(summarize(data, "avg_power_w", c)),
                                 acc && acc->n ? format_number(acc->mean, 4) : "—",
                                 format_optional(co2e_on_grid(data, c, data.plan_grid))};
    if (phases) row.insert(row.begin() + 3, cell_text(summarize(data, "train_energy_j", c)));
    per.rows.push_back(row);
  }
  out += md_table(per);

  if (auto comp = components_chart(data))
    out += "## Energy by component\n\n" + md_table(comp->table);

  if (auto p = pareto_chart(data))
    out += "## Accuracy versus energy\n\n" + md(p->description) + "\n\n" + md_table(p->table);

  if (auto t = target_chart(data))
    out += "## Accuracy against training energy\n\n" + md(t->description) + "\n\n" +
           md_table(t->table);
  if (auto e = epochs_chart(data); e && e->table.rows.size() <= 60)
    out += "## Per epoch\n\n" + md(e->description) + "\n\n" + md_table(e->table);

  out += "## Carbon\n\n";
  if (auto c = carbon_chart(data)) out += md(c->description) + "\n\n" + md_table(c->table);
  if (auto g = grids_chart(data))
    out += "The same energy on other grids (gCO2e per run):\n\n" + md_table(g->table);
  if (!data.carbon_attribution.empty()) out += "_" + md(data.carbon_attribution) + "_\n\n";

  out += "## Statistics\n\n";
  if (!data.analysis_note.empty()) out += "_" + md(data.analysis_note) + "_\n\n";
  if (data.analysis && !data.analysis->verdicts.empty()) {
    for (const auto& v : data.analysis->verdicts) {
      out += "- **" + md(data.analysis->comparison_label(v.config)) + "**\n";
      for (const auto& line : v.lines) out += "  - " + md(line) + "\n";
    }
    out += "\n";
  }
  for (const auto& t : statistics_tables(data)) {
    if (t.collapsed) continue;  // Tukey HSD: in the HTML page
    out += "### " + md(t.title) + "\n\n" + (t.note.empty() ? "" : md(t.note) + "\n\n") +
           md_table(t.table);
  }
  if (data.analysis && !data.analysis->notes.empty()) {
    out += "Notes from the analysis:\n\n";
    for (const auto& n : data.analysis->notes) out += "- " + md(n) + "\n";
    out += "\n";
  }

  out += "## Method\n\n";
  for (const auto& t : method_tables(data)) {
    if (t.title == "Environment" && t.table.rows.size() > 30) continue;
    out += "### " + md(t.title) + "\n\n" + (t.note.empty() ? "" : md(t.note) + "\n\n") +
           md_table(t.table);
  }
  return out;
}

}  // namespace gt::report
