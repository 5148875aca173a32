// Renderers of analyze()'s JSON (see analysis.h): aligned plain-text tables for the terminal and
// GitHub-flavoured Markdown tables, followed by notes and the plain-language verdicts. They read
// only the JSON, so what is printed is exactly what `--format json` would give.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stats/analysis.h"

namespace gt::stats {
namespace {

using json = nlohmann::json;
using Row = std::vector<std::string>;

std::string g(const json& v, int digits = 4) {
  if (v.is_null()) return "-";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) return fmt::format("{}", v.get<long long>());
  if (v.is_number()) return fmt::format("{:.{}g}", v.get<double>(), digits);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string p(const json& v) {
  if (v.is_null()) return "-";
  const double x = v.get<double>();
  return x < 1e-4 ? "<1e-4" : fmt::format("{:.4f}", x);
}

std::string config(const json& factors, const json& c) {
  std::vector<std::string> parts;
  for (const auto& f : factors) parts.push_back(c.value(f.get<std::string>(), "?"));
  return fmt::format("{}", fmt::join(parts, "/"));
}

std::string table(const Row& header, const std::vector<Row>& rows, bool markdown) {
  std::string out;
  if (markdown) {
    out += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
    for (size_t i = 0; i < header.size(); ++i) out += "---|";
    out += "\n";
    for (const auto& r : rows) out += "| " + fmt::format("{}", fmt::join(r, " | ")) + " |\n";
    return out + "\n";
  }
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const Row& r) {
    std::string s;
    for (size_t i = 0; i < r.size(); ++i)
      s += (i ? "  " : "  ") +
           (i == 0 ? fmt::format("{:<{}}", r[i], w[i]) : fmt::format("{:>{}}", r[i], w[i]));
    return s + "\n";
  };
  out += line(header);
  for (const auto& r : rows) out += line(r);
  return out + "\n";
}

std::string render(const json& a, bool md) {
  const json& factors = a.at("factors");
  const std::string key =
      fmt::format("{}", fmt::join(factors.get<std::vector<std::string>>(), "/"));
  auto heading = [&](int level, const std::string& text) {
    return md ? std::string(level, '#') + " " + text + "\n\n"
              : (level <= 2 ? text + "\n" + std::string(text.size(), '=') + "\n" : text + "\n");
  };
  std::string out = heading(1, "greentrain analysis");
  const json& runs = a.at("runs");
  out += fmt::format(
      "Runs used: {} of {} ({} excluded: {} not ok, {} warm-up). Baseline: {}. "
      "alpha = {}.\n\n",
      g(runs["used"]), g(runs["total"]), g(runs["excluded"]), g(runs["excluded_not_ok"]),
      g(runs["excluded_warmup"]), config(factors, a.at("baseline")), g(a.at("alpha")));
  for (const auto& [metric, m] : a.at("metrics").items()) {
    out += heading(2, "Metric " + metric);
    std::vector<Row> rows;
    for (const auto& c : m["cells"])
      rows.push_back(
          {config(factors, c["config"]), g(c["n"]), g(c["mean"], 6), g(c["sd"]), g(c["se"]),
           "[" + g(c["ci95_low"], 6) + ", " + g(c["ci95_high"], 6) + "]", g(c["median"], 6),
           g(c["min"], 6), g(c["max"], 6),
           c["cv"].is_null() ? "-" : fmt::format("{:.2f}", 100 * c["cv"].get<double>())});
    out +=
        table({key, "n", "mean", "sd", "se", "95% CI", "median", "min", "max", "CV %"}, rows, md);
    rows.clear();
    for (const auto& v : m["versus_baseline"])
      rows.push_back({config(factors, v["config"]), g(v["diff"]), g(v["diff_pct"], 3),
                      g(v["welch_t"]), g(v["welch_df"]), p(v["welch_p"]), p(v["p_holm"]),
                      g(v["hedges_g"], 3), g(v["mw_u"]), p(v["mw_p"]), g(v["paired_t"]),
                      p(v["paired_p"]), g(v["n_for_80pct_power"])});
    if (!rows.empty()) {
      out += md ? "Versus the baseline:\n\n" : "Versus the baseline:\n";
      out += table({key, "diff", "diff %", "Welch t", "df", "p", "p Holm", "Hedges g", "MW U",
                    "MW p", "paired t", "paired p", "n for 80% power"},
                   rows, md);
    }
    const json& o = m["oneway_anova"];
    const json& w = m["welch_anova"];
    const json& l = m["levene"];
    out += fmt::format(
        "One-way ANOVA: F({}, {}) = {}, p = {}, eta^2 = {}. Welch ANOVA: F({}, {}) = {}, p = {}. "
        "Brown-Forsythe: W = {}, p = {}.\n\n",
        g(o["df_between"]), g(o["df_within"]), g(o["f"]), p(o["p"]), g(o["eta_sq"], 3),
        g(w["df_num"]), g(w["df_den"]), g(w["f"]), p(w["p"]), g(l["w"]), p(l["p"]));
    rows.clear();
    for (const auto& t : m["factorial_anova"]["terms"])
      rows.push_back({g(t["term"]), g(t["df"]), g(t["sum_sq"]), g(t.value("f", json())),
                      p(t.value("p", json())), g(t.value("partial_eta_sq", json()), 3)});
    out += md ? "Factorial ANOVA (Type II):\n\n" : "Factorial ANOVA (Type II):\n";
    out += table({"term", "df", "sum sq", "F", "p", "partial eta^2"}, rows, md);
    rows.clear();
    for (const auto& t : m["tukey_hsd"])
      rows.push_back({config(factors, t["a"]), config(factors, t["b"]), g(t["diff"]), p(t["p_adj"]),
                      "[" + g(t["ci_low"]) + ", " + g(t["ci_high"]) + "]"});
    if (!rows.empty()) {
      out += md ? "Tukey HSD (diff = b - a):\n\n" : "Tukey HSD (diff = b - a):\n";
      out += table({"a", "b", "diff", "p adj", "95% CI"}, rows, md);
    }
  }
  if (!a.at("equivalence").empty()) {
    out += heading(2, "Equivalence (TOST, Welch)");
    std::vector<Row> rows;
    for (const auto& e : a["equivalence"])
      rows.push_back({g(e["metric"]), config(factors, e["config"]), g(e["margin"]), g(e["diff"]),
                      p(e["p"]), g(e["equivalent"])});
    out += table({"metric", key, "margin", "diff", "p", "equivalent"}, rows, md);
  }
  if (!a.at("notes").empty()) {
    out += heading(2, "Notes");
    for (const auto& n : a["notes"]) out += (md ? "- " : "  - ") + n.get<std::string>() + "\n";
    out += "\n";
  }
  out += heading(2, "Verdicts");
  for (const auto& v : a.at("verdicts")) out += (md ? "- " : "  ") + v.get<std::string>() + "\n";
  for (size_t at; (at = out.find("p = <")) != std::string::npos;) out.replace(at, 5, "p < ");
  return out;
}

}  // namespace

std::string render_text(const nlohmann::json& analysis) { return render(analysis, false); }
std::string render_markdown(const nlohmann::json& analysis) { return render(analysis, true); }

}  // namespace gt::stats
