// Renderers of a stats::Analysis (see analysis.h): aligned plain-text tables for the terminal and
// GitHub-flavoured Markdown. The default answers first: the headline, then per metric (primary
// metric first) the per-configuration table and the comparison with the baseline (ratios of
// means on the log scale for positive quantities, "no variation" for constants), then one
// verdict per line. `full` adds the Welch/Mann-Whitney/paired details, one-way and Welch ANOVA,
// Brown-Forsythe, the factorial ANOVA and Tukey HSD. Every figure comes from the Analysis
// value, so what is printed is what `--format json` gives.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "stats/analysis.h"
#include "stats/analysis_detail.h"

namespace gt::stats {
namespace {

using Row = std::vector<std::string>;

std::string g(double v, int digits = 4) {
  return std::isfinite(v) ? fmt::format("{:.{}g}", v, digits) : "-";
}

std::string p(double v) {
  if (!std::isfinite(v)) return "-";
  return v < 1e-4 ? "<1e-4" : fmt::format("{:.4f}", v);
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:+.1f} %", v) : "-"; }

class Writer {
 public:
  explicit Writer(bool markdown) : md_(markdown) {}

  std::string text(const std::string& s) const { return md_ ? markdown_escape(s) : s; }

  void heading(int level, const std::string& t) {
    const std::string s = text(t);
    out_ += md_ ? std::string(level, '#') + " " + s + "\n\n"
                : (level <= 2 ? s + "\n" + std::string(t.size(), '=') + "\n" : s + "\n");
  }
  void para(const std::string& s) { out_ += text(s) + "\n\n"; }
  void line(const std::string& s, int indent = 1) {
    out_ += (md_ ? "- " : std::string(2 * indent, ' ')) + text(s) + "\n";
  }
  void end_list() { out_ += "\n"; }

  void table(const Row& header, const std::vector<Row>& rows) {
    if (md_) {
      auto cells = [&](const Row& r) {
        std::string s = "|";
        for (const auto& c : r) s += " " + markdown_escape(c) + " |";
        return s + "\n";
      };
      out_ += cells(header) + "|";
      for (size_t i = 0; i < header.size(); ++i) out_ += i == 0 ? "---|" : "---:|";
      out_ += "\n";
      for (const auto& r : rows) out_ += cells(r);
      out_ += "\n";
      return;
    }
    std::vector<size_t> w(header.size());
    for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
    for (const auto& r : rows)
      for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
    auto one = [&](const Row& r) {
      std::string s;
      for (size_t i = 0; i < r.size(); ++i)
        s +=
            "  " + (i == 0 ? fmt::format("{:<{}}", r[i], w[i]) : fmt::format("{:>{}}", r[i], w[i]));
      return s + "\n";
    };
    out_ += one(header);
    for (const auto& r : rows) out_ += one(r);
    out_ += "\n";
  }

  std::string str() const { return out_; }

 private:
  bool md_;
  std::string out_;
};

void metric_section(Writer& w, const Analysis& a, const MetricAnalysis& m, bool full) {
  const std::string key = "configuration";
  w.heading(2, "Metric " + m.metric + " (" + detail::metric_noun(m.metric) + ")");
  if (m.constant) {
    w.para(fmt::format("No variation: every run has {} (so no test applies).",
                       g(m.cells.front().mean, 6)));
    return;
  }
  std::vector<Row> rows;
  for (const auto& c : m.cells)
    rows.push_back({a.config_text(c.config), fmt::format("{}", c.n), g(c.mean, 6), g(c.sd),
                    "[" + g(c.ci95_low, 6) + ", " + g(c.ci95_high, 6) + "]", g(c.median, 6),
                    std::isfinite(c.cv) ? fmt::format("{:.2f}", 100 * c.cv) : "-"});
  w.table({key, "n", "mean", "sd", "95% CI", "median", "CV %"}, rows);
  if (full) {
    rows.clear();
    for (const auto& c : m.cells)
      rows.push_back({a.config_text(c.config), g(c.se), g(c.min, 6), g(c.max, 6)});
    w.table({key, "se", "min", "max"}, rows);
  }

  const std::string level = fmt::format("{:g}%", 100 * (1 - a.alpha));
  rows.clear();
  if (m.positive) {
    for (const auto& c : m.versus_baseline)
      rows.push_back({a.config_text(c.config), fmt::format("{}", c.n), pct(100 * (c.ratio - 1)),
                      std::isfinite(c.ratio_ci_low)
                          ? fmt::format("[{}, {}]", pct(100 * (c.ratio_ci_low - 1)),
                                        pct(100 * (c.ratio_ci_high - 1)))
                          : "-",
                      p(c.ratio_p_holm)});
    if (!rows.empty()) {
      w.para(
          fmt::format("Versus the baseline ({}): ratio of means on the log scale (Welch's "
                      "t on log values), {} interval, Holm-adjusted p (the p the verdicts use: "
                      "corrected for the {} comparisons of this metric):",
                      a.config_text(a.baseline), level, m.versus_baseline.size()));
      w.table({key, "n", "change", level + " CI", "p Holm"}, rows);
    }
  } else {
    for (const auto& c : m.versus_baseline)
      rows.push_back({a.config_text(c.config), fmt::format("{}", c.n), g(c.diff),
                      std::isfinite(c.diff_ci_low)
                          ? fmt::format("[{}, {}]", g(c.diff_ci_low), g(c.diff_ci_high))
                          : "-",
                      pct(c.diff_pct), p(c.p_holm)});
    if (!rows.empty()) {
      w.para(
          fmt::format("Versus the baseline ({}): difference of means, Welch {} interval, "
                      "Holm-adjusted p (the p the verdicts use: corrected for the {} comparisons "
                      "of this metric):",
                      a.config_text(a.baseline), level, m.versus_baseline.size()));
      w.table({key, "n", "diff", level + " CI", "diff %", "p Holm"}, rows);
    }
  }
  if (!full) return;
  rows.clear();
  for (const auto& c : m.versus_baseline)
    rows.push_back({a.config_text(c.config), g(c.diff), g(c.diff_pct, 3), g(c.welch_t),
                    g(c.welch_df), p(c.welch_p), p(c.p_holm), g(c.hedges_g, 3), g(c.mw_u),
                    p(c.mw_p), g(c.paired_t), p(c.paired_p), g(c.runs_needed)});
  if (!rows.empty()) {
    w.para(
        "Versus the baseline, absolute differences (for reference: unadjusted p-values except "
        "p Holm; runs needed is the verdict's advice, from the Holm-adjusted test it uses):");
    w.table({key, "diff", "diff %", "Welch t", "df", "p", "p Holm", "Hedges g", "MW U", "MW p",
             "paired t", "paired p", "runs needed"},
            rows);
  }
  w.para(fmt::format(
      "One-way ANOVA: F({}, {}) = {}, p = {}, eta^2 = {}. Welch ANOVA: F({}, {}) = {}, p = {}. "
      "Brown-Forsythe: W = {}, p = {}.",
      g(m.oneway.df_between), g(m.oneway.df_within), g(m.oneway.f), p(m.oneway.p),
      g(m.oneway.eta_sq, 3), g(m.welch.df_num), g(m.welch.df_den), g(m.welch.f), p(m.welch.p),
      g(m.levene.w), p(m.levene.p)));
  rows.clear();
  for (const auto& t : m.factorial.terms)
    rows.push_back({t.term, g(t.df), g(t.sum_sq), g(t.f), p(t.p), g(t.partial_eta_sq, 3)});
  rows.push_back(
      {"Residual", g(m.factorial.residual_df), g(m.factorial.residual_ss), "-", "-", "-"});
  w.para("Factorial ANOVA (Type II):");
  w.table({"term", "df", "sum sq", "F", "p", "partial eta^2"}, rows);
  rows.clear();
  for (const auto& t : m.tukey)
    rows.push_back({a.config_text(t.a), a.config_text(t.b), g(t.diff), p(t.p_adj),
                    "[" + g(t.ci_low) + ", " + g(t.ci_high) + "]"});
  if (!rows.empty()) {
    w.para("Tukey HSD (diff = b - a):");
    w.table({"a", "b", "diff", "p adj", "95% CI"}, rows);
  }
}

std::string render(const Analysis& a, bool md, bool full) {
  Writer w(md);
  w.heading(1, "greentrain analysis");
  w.para(fmt::format(
      "Runs used: {} of {} ({} excluded: {} not ok, {} warm-up). Baseline: {}. alpha = {:g}. "
      "Primary metric: {}.",
      a.runs.used, a.runs.total, a.runs.excluded_not_ok + a.runs.excluded_warmup,
      a.runs.excluded_not_ok, a.runs.excluded_warmup, a.config_text(a.baseline), a.alpha,
      a.primary_metric));
  w.heading(2, "Headline");
  w.para(a.headline.title + ".");
  for (const auto& d : a.headline.details) w.line(d);
  if (!a.headline.details.empty()) w.end_list();
  for (const auto& m : a.metrics) metric_section(w, a, m, full);
  if (full && !a.equivalence.empty()) {
    w.heading(2, "Equivalence (TOST, Welch)");
    std::vector<Row> rows;
    for (const auto& e : a.equivalence)
      rows.push_back({e.metric, a.config_text(e.config), g(e.margin), g(e.diff), p(e.p),
                      e.equivalent ? "yes" : "no", g(e.n_needed)});
    w.table({"metric", "configuration", "margin", "diff", "p", "equivalent", "runs needed"}, rows);
  }
  w.heading(2, "Verdicts");
  for (const auto& v : a.verdicts) {
    if (md) {
      w.para("**" + markdown_escape(a.comparison_label(v.config)) + "**");
      for (const auto& l : v.lines) w.line(l);
      w.end_list();
    } else {
      w.line(a.comparison_label(v.config) + ":");
      for (const auto& l : v.lines) w.line(l, 2);
    }
  }
  if (!md) w.end_list();
  if (!a.notes.empty()) {
    w.heading(2, "Notes");
    for (const auto& n : a.notes) w.line(n);
    w.end_list();
  }
  return w.str();
}

// The entity of a character that HTML text must escape (& < > " '); nullptr for any other.
const char* html_entity(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return nullptr;
  }
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (const char* entity = html_entity(c))
      out += entity;
    else
      out += c;
  return out;
}

std::string markdown_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\'':  // no entity needed outside HTML attributes
        out += c;
        break;
      case '|':
        out += "\\|";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '#':
        out += '\\';
        out += c;
        break;
      default:
        if (const char* entity = html_entity(c))
          out += entity;
        else
          out += c;
    }
  }
  return out;
}

std::string render_text(const Analysis& analysis, const RenderOptions& options) {
  return render(analysis, false, options.full);
}
std::string render_markdown(const Analysis& analysis, const RenderOptions& options) {
  return render(analysis, true, options.full);
}

}  // namespace gt::stats
