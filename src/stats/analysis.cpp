// Analysis of a runs table (see analysis.h): selects the usable runs, groups them into
// configurations, runs every statistic of analysis.h per metric and assembles the stable JSON,
// then writes one plain-language verdict per comparison. The statistics themselves live in
// descriptive/two_sample/anova/factorial/power; this file only wires them together.
#include "stats/analysis.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "common/error.h"
#include "stats/anova.h"
#include "stats/descriptive.h"
#include "stats/factorial.h"
#include "stats/power.h"
#include "stats/two_sample.h"

namespace gt::stats {
namespace {

using json = nlohmann::json;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::optional<double> as_number(const std::string& s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Orders levels numerically when both are numbers, else as text.
bool level_less(const std::string& a, const std::string& b) {
  auto x = as_number(a), y = as_number(b);
  if (x && y) return *x < *y || (*x == *y && a < b);
  if (x != y) return x.has_value();  // numbers before text
  return a < b;
}

using Config = std::vector<std::string>;

struct Design {
  std::vector<std::string> factors;
  std::vector<std::vector<std::string>> levels;  // per factor, ordered
  std::vector<Config> cells;                     // ordered by level indices
  std::vector<std::vector<size_t>> cell_rows;    // row indices (into used) per cell
  std::vector<const RunRow*> used;
  size_t baseline = 0;
};

int level_index(const Design& d, size_t f, const std::string& v) {
  const auto& lv = d.levels[f];
  return static_cast<int>(std::find(lv.begin(), lv.end(), v) - lv.begin());
}

json config_json(const Design& d, const Config& c) {
  json o = json::object();
  for (size_t f = 0; f < d.factors.size(); ++f) o[d.factors[f]] = c[f];
  return o;
}

std::string fmt_pct(double v) { return fmt::format("{:+.1f}", v); }

std::string fmt_p(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p < 0.001) return "< 0.001";
  return fmt::format("= {:.3f}", p);
}

// "fp16 vs fp32 (batch_size=32, neurons=128)" or "a=1, b=2 vs a=0, b=1".
std::string comparison_label(const Design& d, const Config& c, const Config& base) {
  std::vector<std::string> diff_c, diff_b, same;
  std::vector<size_t> differing;
  for (size_t f = 0; f < d.factors.size(); ++f)
    if (c[f] != base[f]) differing.push_back(f);
  for (size_t f = 0; f < d.factors.size(); ++f) {
    if (c[f] == base[f]) {
      if (d.levels[f].size() > 1) same.push_back(d.factors[f] + "=" + c[f]);
    } else if (differing.size() == 1) {
      diff_c.push_back(c[f]);
      diff_b.push_back(base[f]);
    } else {
      diff_c.push_back(d.factors[f] + "=" + c[f]);
      diff_b.push_back(d.factors[f] + "=" + base[f]);
    }
  }
  std::string s = fmt::format("{} vs {}", fmt::join(diff_c, ", "), fmt::join(diff_b, ", "));
  if (!same.empty()) s += fmt::format(" ({})", fmt::join(same, ", "));
  return s;
}

Design build_design(const RunsTable& table, const AnalysisOptions& opt, json& runs, json& notes) {
  Design d;
  d.factors = table.factors;
  size_t not_ok = 0, warmup = 0;
  for (const auto& r : table.rows) {
    if (r.status != "ok")
      ++not_ok;
    else if (r.warmup)
      ++warmup;
    else
      d.used.push_back(&r);
  }
  runs = {{"total", table.rows.size()},
          {"used", d.used.size()},
          {"excluded", not_ok + warmup},
          {"excluded_not_ok", not_ok},
          {"excluded_warmup", warmup}};
  if (d.used.empty())
    throw gt::Error(fmt::format("no usable runs: all {} runs are failed, aborted or warm-up",
                                table.rows.size()));
  d.levels.resize(d.factors.size());
  for (size_t f = 0; f < d.factors.size(); ++f) {
    std::set<std::string> s;
    for (const auto* r : d.used) s.insert(r->config[f]);
    d.levels[f].assign(s.begin(), s.end());
    std::sort(d.levels[f].begin(), d.levels[f].end(), level_less);
  }
  std::set<std::vector<int>> seen;
  std::vector<std::pair<std::vector<int>, Config>> keyed;
  for (const auto* r : d.used) {
    std::vector<int> key;
    for (size_t f = 0; f < d.factors.size(); ++f) key.push_back(level_index(d, f, r->config[f]));
    if (seen.insert(key).second) keyed.push_back({key, r->config});
  }
  std::sort(keyed.begin(), keyed.end());
  for (auto& k : keyed) d.cells.push_back(k.second);
  d.cell_rows.resize(d.cells.size());
  for (size_t i = 0; i < d.used.size(); ++i) {
    auto it = std::find(d.cells.begin(), d.cells.end(), d.used[i]->config);
    d.cell_rows[it - d.cells.begin()].push_back(i);
  }
  if (d.cells.size() < 2)
    throw gt::Error(fmt::format(
        "only one configuration ({}) among the {} usable runs: every factor has one level only, "
        "so there is nothing to compare",
        fmt::join(d.cells[0], "/"), d.used.size()));

  // Baseline.
  Config base(d.factors.size());
  if (opt.baseline.empty()) {
    base = d.used.front()->config;
    notes.push_back(fmt::format("no baseline given: using the first run's configuration ({})",
                                fmt::join(base, "/")));
  } else {
    for (const auto& [k, v] : opt.baseline)
      if (std::find(d.factors.begin(), d.factors.end(), k) == d.factors.end())
        throw gt::UsageError(fmt::format("--baseline: '{}' is not a factor (factors: {})", k,
                                         fmt::join(d.factors, ",")));
    for (size_t f = 0; f < d.factors.size(); ++f) {
      auto it = opt.baseline.find(d.factors[f]);
      if (it == opt.baseline.end()) {
        if (d.levels[f].size() == 1) {
          base[f] = d.levels[f][0];
          continue;
        }
        throw gt::UsageError(fmt::format("--baseline: no level given for factor '{}' (levels: {})",
                                         d.factors[f], fmt::join(d.levels[f], ", ")));
      }
      if (std::find(d.levels[f].begin(), d.levels[f].end(), it->second) == d.levels[f].end())
        throw gt::Error(
            fmt::format("--baseline: {}={} is not a level in the usable runs (levels: {})",
                        d.factors[f], it->second, fmt::join(d.levels[f], ", ")));
      base[f] = it->second;
    }
  }
  auto it = std::find(d.cells.begin(), d.cells.end(), base);
  if (it == d.cells.end())
    throw gt::Error(
        fmt::format("--baseline: no usable run has the configuration {}", fmt::join(base, "/")));
  d.baseline = it - d.cells.begin();
  return d;
}

struct MetricData {
  std::vector<size_t> cells;                            // cells with at least one value
  Groups values;                                        // per such cell
  std::vector<std::vector<std::optional<int>>> blocks;  // block per value
};

MetricData metric_data(const Design& d, const std::string& metric) {
  MetricData m;
  for (size_t c = 0; c < d.cells.size(); ++c) {
    std::vector<double> v;
    std::vector<std::optional<int>> b;
    for (size_t i : d.cell_rows[c]) {
      auto it = d.used[i]->metrics.find(metric);
      if (it == d.used[i]->metrics.end()) continue;
      v.push_back(it->second);
      b.push_back(d.used[i]->block);
    }
    if (v.empty()) continue;
    m.cells.push_back(c);
    m.values.push_back(std::move(v));
    m.blocks.push_back(std::move(b));
  }
  return m;
}

// Per-block means of a cell's values; blocks absent are skipped.
std::map<int, double> block_means(const std::vector<double>& v,
                                  const std::vector<std::optional<int>>& b) {
  std::map<int, std::vector<double>> by;
  for (size_t i = 0; i < v.size(); ++i)
    if (b[i]) by[*b[i]].push_back(v[i]);
  std::map<int, double> out;
  for (auto& [k, xs] : by) out[k] = mean(xs);
  return out;
}

struct Comparison {  // kept for the verdicts
  size_t cell;
  TTest welch;
  double p_holm, g, n_power, diff_pct, base_mean, cv;
  size_t n_cell, n_base;
};

json analyze_metric(const Design& d, const std::string& metric, const MetricData& m, double alpha,
                    json& notes, std::vector<Comparison>& comparisons) {
  json out;
  json cells = json::array();
  for (size_t i = 0; i < m.cells.size(); ++i) {
    const Description s = describe(m.values[i]);
    cells.push_back({{"config", config_json(d, d.cells[m.cells[i]])},
                     {"n", s.n},
                     {"mean", num(s.mean)},
                     {"sd", num(s.sd)},
                     {"se", num(s.se)},
                     {"ci95_low", num(s.ci95_low)},
                     {"ci95_high", num(s.ci95_high)},
                     {"median", num(s.median)},
                     {"min", num(s.min)},
                     {"max", num(s.max)},
                     {"cv", num(s.cv)}});
  }
  out["cells"] = cells;

  // Versus baseline.
  json versus = json::array();
  auto bit = std::find(m.cells.begin(), m.cells.end(), d.baseline);
  if (bit == m.cells.end()) {
    notes.push_back(fmt::format("{}: the baseline has no values; no comparisons", metric));
  } else {
    const size_t bi = bit - m.cells.begin();
    const auto& base = m.values[bi];
    const auto base_blocks = block_means(base, m.blocks[bi]);
    std::vector<double> pvals;
    std::vector<Comparison> local;
    for (size_t i = 0; i < m.cells.size(); ++i) {
      if (i == bi) continue;
      const auto& x = m.values[i];
      Comparison c{};
      c.cell = m.cells[i];
      c.welch = welch_t(x, base, alpha);
      c.g = hedges_g(x, base);
      c.base_mean = mean(base);
      c.diff_pct = c.base_mean != 0 ? 100 * c.welch.diff / c.base_mean : NAN;
      const double d_cohen = cohens_d(x, base);
      auto n80 = runs_per_group_for_power(d_cohen, 0.8, alpha);
      c.n_power = n80 ? static_cast<double>(*n80) : NAN;
      const double sp = std::abs(c.welch.diff / d_cohen);
      c.cv = c.base_mean != 0 ? sp / std::abs(c.base_mean) : NAN;
      c.n_cell = x.size();
      c.n_base = base.size();
      if (!c.welch.undefined_reason.empty())
        notes.push_back(fmt::format("{}: {}: Welch t-test undefined: {}", metric,
                                    comparison_label(d, d.cells[c.cell], d.cells[d.baseline]),
                                    c.welch.undefined_reason));
      pvals.push_back(c.welch.p);
      local.push_back(c);
    }
    const auto adjusted = holm(pvals);
    size_t k = 0;
    for (size_t i = 0; i < m.cells.size(); ++i) {
      if (i == bi) continue;
      Comparison& c = local[k];
      c.p_holm = adjusted[k++];
      const auto& x = m.values[i];
      const MannWhitney mw = mann_whitney(x, base);
      json paired_t_v = nullptr, paired_p_v = nullptr;
      const auto cell_blocks = block_means(x, m.blocks[i]);
      std::vector<double> diffs;
      for (const auto& [blk, v] : cell_blocks) {
        auto bb = base_blocks.find(blk);
        if (bb != base_blocks.end()) diffs.push_back(v - bb->second);
      }
      if (diffs.size() >= 2) {
        const TTest pt = paired_t(diffs, alpha);
        paired_t_v = num(pt.t);
        paired_p_v = num(pt.p);
      }
      versus.push_back({{"config", config_json(d, d.cells[c.cell])},
                        {"diff", num(c.welch.diff)},
                        {"diff_pct", num(c.diff_pct)},
                        {"diff_ci_low", num(c.welch.ci_low)},
                        {"diff_ci_high", num(c.welch.ci_high)},
                        {"welch_t", num(c.welch.t)},
                        {"welch_df", num(c.welch.df)},
                        {"welch_p", num(c.welch.p)},
                        {"p_holm", num(c.p_holm)},
                        {"hedges_g", num(c.g)},
                        {"mw_u", num(mw.u)},
                        {"mw_p", num(mw.p)},
                        {"mw_exact", mw.exact},
                        {"paired_t", paired_t_v},
                        {"paired_p", paired_p_v},
                        {"n_for_80pct_power", num(c.n_power)}});
    }
    comparisons = local;
  }
  out["versus_baseline"] = versus;

  const OneWayAnova a = oneway_anova(m.values);
  out["oneway_anova"] = {{"f", num(a.f)},
                         {"df_between", num(a.df_between)},
                         {"df_within", num(a.df_within)},
                         {"p", num(a.p)},
                         {"eta_sq", num(a.eta_sq)}};
  if (!a.undefined_reason.empty())
    notes.push_back(fmt::format("{}: one-way ANOVA undefined: {}", metric, a.undefined_reason));
  const WelchAnova w = welch_anova(m.values);
  out["welch_anova"] = {
      {"f", num(w.f)}, {"df_num", num(w.df_num)}, {"df_den", num(w.df_den)}, {"p", num(w.p)}};
  if (!w.undefined_reason.empty())
    notes.push_back(fmt::format("{}: Welch ANOVA undefined: {}", metric, w.undefined_reason));
  const Levene l = brown_forsythe(m.values);
  out["levene"] = {{"w", num(l.w)}, {"p", num(l.p)}};
  if (!l.undefined_reason.empty())
    notes.push_back(
        fmt::format("{}: Brown-Forsythe test undefined: {}", metric, l.undefined_reason));

  // Factorial ANOVA over the runs with a value.
  std::vector<std::vector<int>> lv;
  std::vector<double> y;
  for (size_t i = 0; i < m.cells.size(); ++i) {
    std::vector<int> key;
    for (size_t f = 0; f < d.factors.size(); ++f)
      key.push_back(level_index(d, f, d.cells[m.cells[i]][f]));
    for (double v : m.values[i]) {
      lv.push_back(key);
      y.push_back(v);
    }
  }
  const FactorialAnova fa = factorial_anova_type2(d.factors, lv, y);
  json terms = json::array();
  for (const auto& t : fa.terms)
    terms.push_back({{"term", t.term},
                     {"df", num(t.df)},
                     {"sum_sq", num(t.sum_sq)},
                     {"f", num(t.f)},
                     {"p", num(t.p)},
                     {"partial_eta_sq", num(t.partial_eta_sq)}});
  terms.push_back(
      {{"term", "Residual"}, {"df", num(fa.residual_df)}, {"sum_sq", num(fa.residual_ss)}});
  out["factorial_anova"] = {{"type", 2}, {"terms", terms}, {"dropped", fa.dropped}};
  if (!fa.dropped.empty())
    notes.push_back(fmt::format("{}: factorial ANOVA: the design cannot estimate {}; dropped",
                                metric, fmt::join(fa.dropped, ", ")));
  if (!fa.undefined_reason.empty())
    notes.push_back(
        fmt::format("{}: factorial ANOVA F tests undefined: {}", metric, fa.undefined_reason));

  std::string tukey_reason;
  const auto pairs = tukey_hsd(m.values, &tukey_reason);
  json tukey = json::array();
  for (const auto& p : pairs)
    tukey.push_back({{"a", config_json(d, d.cells[m.cells[p.a]])},
                     {"b", config_json(d, d.cells[m.cells[p.b]])},
                     {"diff", num(p.diff)},
                     {"p_adj", num(p.p_adj)},
                     {"ci_low", num(p.ci_low)},
                     {"ci_high", num(p.ci_high)}});
  out["tukey_hsd"] = tukey;
  if (!tukey_reason.empty())
    notes.push_back(fmt::format("{}: Tukey HSD undefined: {}", metric, tukey_reason));
  return out;
}

std::string verdict_line(const Design& d, const std::string& metric, const Comparison& c,
                         double alpha) {
  std::string s = fmt::format("{}: ", metric);
  if (!std::isfinite(c.welch.p)) {
    s += fmt::format("diff {:.4g}, not testable ({})", c.welch.diff, c.welch.undefined_reason);
    return s;
  }
  const double lo = 100 * c.welch.ci_low / c.base_mean, hi = 100 * c.welch.ci_high / c.base_mean;
  s += fmt::format("{} % [{}, {}], Holm p {}, g = {:.2f}: ", fmt_pct(c.diff_pct), fmt_pct(lo),
                   fmt_pct(hi), fmt_p(c.p_holm), c.g);
  if (c.p_holm < alpha) return s + "significant";
  s += "no significant difference";
  if (std::isfinite(c.n_power) && std::isfinite(c.cv))
    s += fmt::format(
        "; with CV {:.1f} %, detecting a {:.1f} % change needs >= {} runs per group "
        "(you have {})",
        100 * c.cv, std::abs(c.diff_pct), static_cast<long>(c.n_power),
        std::min(c.n_cell, c.n_base));
  (void)d;
  return s;
}

}  // namespace

std::map<std::string, std::string> parse_baseline(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    size_t eq = text.find('=', i);
    if (eq == std::string::npos)
      throw gt::UsageError(fmt::format(
          "--baseline: '{}' is not factor=level (expected e.g. precision=fp32,batch_size=32)",
          text.substr(i)));
    std::string key = text.substr(i, eq - i);
    key.erase(0, key.find_first_not_of(' '));
    key.erase(key.find_last_not_of(' ') + 1);
    i = eq + 1;
    std::string value;
    if (i < n && text[i] == '"') {
      size_t close = text.find('"', i + 1);
      if (close == std::string::npos)
        throw gt::UsageError(fmt::format("--baseline: unclosed quote in '{}'", text));
      value = text.substr(i + 1, close - i - 1);
      i = close + 1;
      if (i < n && text[i] != ',')
        throw gt::UsageError(
            fmt::format("--baseline: expected ',' after the quoted level in '{}'", text));
      if (i < n) ++i;
    } else {
      size_t comma = text.find(',', i);
      // A level may itself contain commas ("512,256") when the next piece has no '='.
      while (comma != std::string::npos) {
        size_t next_comma = text.find(',', comma + 1);
        std::string piece =
            text.substr(comma + 1, next_comma == std::string::npos ? std::string::npos
                                                                   : next_comma - comma - 1);
        if (piece.find('=') != std::string::npos) break;
        comma = next_comma;
      }
      value = text.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
      i = comma == std::string::npos ? n : comma + 1;
    }
    if (key.empty() || value.empty())
      throw gt::UsageError(fmt::format("--baseline: empty factor or level in '{}'", text));
    if (!out.emplace(key, value).second)
      throw gt::UsageError(fmt::format("--baseline: factor '{}' given twice", key));
  }
  if (out.empty()) throw gt::UsageError("--baseline: empty (expected e.g. precision=fp32)");
  return out;
}

EquivalenceSpec parse_equivalence(const std::string& text) {
  const size_t colon = text.rfind(':');
  auto margin = colon == std::string::npos ? std::nullopt : as_number(text.substr(colon + 1));
  if (colon == 0 || !margin || !(*margin > 0))
    throw gt::UsageError(
        fmt::format("--equivalence: '{}' is not METRIC:MARGIN with a positive margin (e.g. "
                    "test_accuracy:0.005)",
                    text));
  return {text.substr(0, colon), *margin};
}

nlohmann::json analyze(const RunsTable& table, const AnalysisOptions& opt) {
  if (!(opt.alpha > 0 && opt.alpha < 1))
    throw gt::UsageError(fmt::format("--alpha: {} is not between 0 and 1", opt.alpha));
  json notes = json::array(), runs;
  const Design d = build_design(table, opt, runs, notes);
  json result;
  result["alpha"] = opt.alpha;
  result["factors"] = d.factors;
  result["baseline"] = config_json(d, d.cells[d.baseline]);
  result["runs"] = runs;

  auto has_column = [&](const std::string& m) {
    return std::find(table.metric_columns.begin(), table.metric_columns.end(), m) !=
           table.metric_columns.end();
  };
  auto check_metric = [&](const std::string& m, bool required, const char* what) {
    if (std::find(table.text_columns.begin(), table.text_columns.end(), m) !=
        table.text_columns.end())
      throw gt::Error(fmt::format("{} '{}': the column holds text, not numbers", what, m));
    if (!has_column(m)) {
      if (required)
        throw gt::Error(fmt::format("{} '{}' is not a column of the runs table (columns: {})", what,
                                    m, fmt::join(table.metric_columns, ",")));
      notes.push_back(fmt::format("{} '{}' is not in the runs table; skipped", what, m));
      return false;
    }
    return true;
  };

  json metrics = json::object();
  std::vector<std::string> analysed;
  std::map<std::string, std::vector<Comparison>> comparisons;
  for (const auto& m : opt.metrics) {
    if (metrics.contains(m)) continue;
    if (!check_metric(m, opt.explicit_metrics, "metric")) continue;
    const MetricData md = metric_data(d, m);
    if (md.values.empty()) {
      notes.push_back(fmt::format("metric '{}' has no values in the usable runs; skipped", m));
      continue;
    }
    size_t missing = 0;
    for (const auto* r : d.used) missing += r->metrics.count(m) ? 0 : 1;
    if (missing)
      notes.push_back(fmt::format("{}: {} usable runs have no value and are left out", m, missing));
    metrics[m] = analyze_metric(d, m, md, opt.alpha, notes, comparisons[m]);
    analysed.push_back(m);
  }
  result["metrics"] = metrics;

  json equivalence = json::array();
  std::map<std::pair<std::string, size_t>, Tost> tosts;
  for (const auto& spec : opt.equivalence) {
    if (!check_metric(spec.metric, false, "equivalence metric")) continue;
    const MetricData md = metric_data(d, spec.metric);
    auto bit = std::find(md.cells.begin(), md.cells.end(), d.baseline);
    if (bit == md.cells.end()) continue;
    const auto& base = md.values[bit - md.cells.begin()];
    for (size_t i = 0; i < md.cells.size(); ++i) {
      if (md.cells[i] == d.baseline) continue;
      const Tost t = tost_welch(md.values[i], base, spec.margin, opt.alpha);
      if (!t.undefined_reason.empty())
        notes.push_back(fmt::format("{}: {}: TOST p undefined: {}", spec.metric,
                                    comparison_label(d, d.cells[md.cells[i]], d.cells[d.baseline]),
                                    t.undefined_reason));
      equivalence.push_back({{"metric", spec.metric},
                             {"config", config_json(d, d.cells[md.cells[i]])},
                             {"margin", spec.margin},
                             {"diff", num(t.diff)},
                             {"p", num(t.p)},
                             {"equivalent", t.equivalent}});
      tosts[{spec.metric, md.cells[i]}] = t;
    }
  }
  result["equivalence"] = equivalence;

  // Verdicts: one line per configuration versus the baseline.
  json verdicts = json::array();
  std::set<std::string> equivalence_metrics;
  for (const auto& s : opt.equivalence) equivalence_metrics.insert(s.metric);
  for (size_t c = 0; c < d.cells.size(); ++c) {
    if (c == d.baseline) continue;
    std::vector<std::string> parts;
    for (const auto& m : analysed) {
      if (equivalence_metrics.count(m)) continue;
      for (const auto& cmp : comparisons[m])
        if (cmp.cell == c) parts.push_back(verdict_line(d, m, cmp, opt.alpha));
    }
    for (const auto& spec : opt.equivalence) {
      auto it = tosts.find({spec.metric, c});
      if (it == tosts.end()) continue;
      const Tost& t = it->second;
      std::string p = std::isfinite(t.p) ? fmt::format(" (TOST p {})", fmt_p(t.p))
                                         : std::string(" (identical values)");
      parts.push_back(fmt::format("{} {} within +/-{:g}{}", spec.metric,
                                  t.equivalent ? "equivalent" : "not shown equivalent", spec.margin,
                                  p));
    }
    if (parts.empty()) continue;
    verdicts.push_back(fmt::format("{}: {}.", comparison_label(d, d.cells[c], d.cells[d.baseline]),
                                   fmt::join(parts, ". ")));
  }
  result["verdicts"] = verdicts;
  result["notes"] = notes;
  return result;
}

}  // namespace gt::stats
