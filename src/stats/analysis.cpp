// Analysis of a runs table (see analysis.h): selects the usable runs, groups them into
// configurations, runs every statistic per metric and fills the typed Analysis. The statistics
// themselves live in descriptive/two_sample/ratio/anova/factorial/power, the sentences in
// verdicts.cpp and the JSON in analysis_json.cpp; this file only wires them together.
#include "stats/analysis.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "common/error.h"
#include "stats/analysis_detail.h"
#include "stats/descriptive.h"
#include "stats/labels.h"
#include "stats/missing.h"
#include "stats/power.h"
#include "stats/ratio.h"
#include "stats/two_sample.h"

namespace gt::stats {
namespace {

std::optional<double> as_number(const std::string& s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct Design {
  std::vector<std::string> factors;
  std::vector<std::vector<std::string>> levels;  // per factor, ordered (every non-warm-up run)
  std::vector<Levels> cells;                     // configurations with usable runs, by level
  std::vector<std::vector<size_t>> cell_rows;    // row indices (into used) per cell
  std::vector<const RunRow*> used;
  size_t baseline = 0;
};

int level_index(const Design& d, size_t f, const std::string& v) {
  const auto& lv = d.levels[f];
  return static_cast<int>(std::find(lv.begin(), lv.end(), v) - lv.begin());
}

std::vector<int> level_key(const Design& d, const Levels& c) {
  std::vector<int> key;
  for (size_t f = 0; f < d.factors.size(); ++f) key.push_back(level_index(d, f, c[f]));
  return key;
}

Design build_design(const RunsTable& table, const AnalysisOptions& opt, Analysis& out) {
  Design d;
  d.factors = table.factors;
  auto label = [&](const Levels& l) { return readable_label(out.config_map(l), d.factors); };
  for (const auto& r : table.rows) {
    if (r.status != RunStatus::ok)
      ++out.runs.excluded_not_ok;
    else if (r.warmup)
      ++out.runs.excluded_warmup;
    else
      d.used.push_back(&r);
  }
  out.runs.total = table.rows.size();
  out.runs.used = d.used.size();
  // Every configuration of a non-warm-up run, with its outcomes, so that one that never
  // succeeded is still named; ordered level by level.
  auto config_less = [](const Levels& x, const Levels& y) {
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), level_less);
  };
  std::map<Levels, ConfigRuns, decltype(config_less)> all(config_less);
  for (const auto& r : table.rows) {
    if (r.warmup) continue;
    ConfigRuns& c = all[r.config];
    c.config = r.config;
    if (r.status == RunStatus::ok)
      ++c.ok;
    else if (r.status == RunStatus::failed)
      ++c.failed;
    else
      ++c.aborted;
  }
  for (auto& [key, c] : all) out.configurations.push_back(c);
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
  for (const auto& c : out.configurations)
    if (c.ok > 0) d.cells.push_back(c.config);
  d.cell_rows.resize(d.cells.size());
  for (size_t i = 0; i < d.used.size(); ++i) {
    auto it = std::find(d.cells.begin(), d.cells.end(), d.used[i]->config);
    d.cell_rows[it - d.cells.begin()].push_back(i);
  }
  if (d.cells.size() < 2)
    throw gt::Error(fmt::format(
        "only one configuration ({}) among the {} usable runs: every factor has one level only, "
        "so there is nothing to compare",
        label(d.cells[0]), d.used.size()));

  Levels base(d.factors.size());
  if (opt.baseline.empty()) {
    base = d.used.front()->config;
    out.notes.push_back(
        fmt::format("no baseline given: using the first run's configuration ({})", label(base)));
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
    throw gt::Error(fmt::format("--baseline: no usable run has the configuration {}", label(base)));
  d.baseline = it - d.cells.begin();
  return d;
}

struct MetricData {
  std::vector<size_t> cells;                            // cells with at least one value
  Groups values;                                        // per such cell
  std::vector<std::vector<std::optional<int>>> blocks;  // block per value
};

// The finite values of `metric` per cell. Non-finite values (nan, inf) would poison every
// statistic (and NaN makes sorting undefined): they are left out and named in `notes`.
MetricData metric_data(const Design& d, const std::string& metric,
                       std::vector<std::string>* notes) {
  MetricData m;
  std::vector<std::string> bad;
  for (size_t c = 0; c < d.cells.size(); ++c) {
    std::vector<double> v;
    std::vector<std::optional<int>> b;
    for (size_t i : d.cell_rows[c]) {
      auto it = d.used[i]->metrics.find(metric);
      if (it == d.used[i]->metrics.end()) continue;
      if (!std::isfinite(it->second)) {
        bad.push_back(fmt::format("{} ({})", d.used[i]->run_id.empty() ? "?" : d.used[i]->run_id,
                                  it->second));
        continue;
      }
      v.push_back(it->second);
      b.push_back(d.used[i]->block);
    }
    if (v.empty()) continue;
    m.cells.push_back(c);
    m.values.push_back(std::move(v));
    m.blocks.push_back(std::move(b));
  }
  if (notes && !bad.empty())
    notes->push_back(fmt::format("{}: {} non-finite value{} left out (run {})", metric, bad.size(),
                                 bad.size() == 1 ? "" : "s", fmt::join(bad, ", ")));
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

// Welch's t-test p-value on the log values (the test behind log_ratio_interval's interval).
double log_welch_p(const std::vector<double>& x, const std::vector<double>& y, double alpha) {
  std::vector<double> lx, ly;
  for (double v : x) lx.push_back(std::log(v));
  for (double v : y) ly.push_back(std::log(v));
  return welch_t(lx, ly, alpha).p;
}

// Cohen's d (pooled sd) of the log values: the effect the log-scale Welch test sees.
double log_cohens_d(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> lx, ly;
  for (double v : x) lx.push_back(std::log(v));
  for (double v : y) ly.push_back(std::log(v));
  return cohens_d(lx, ly);
}

// The factorial ANOVA of one metric over the design's factors. Blocking factors (the GPU or
// host of a run) would be appended to `names` and `levels` here.
FactorialAnova factorial_for(const Design& d, const MetricData& m) {
  std::vector<std::vector<int>> lv;
  std::vector<double> y;
  for (size_t i = 0; i < m.cells.size(); ++i) {
    const std::vector<int> key = level_key(d, d.cells[m.cells[i]]);
    for (double v : m.values[i]) {
      lv.push_back(key);
      y.push_back(v);
    }
  }
  return factorial_anova_type2(d.factors, lv, y);
}

// One configuration's values `x` against the baseline's: Welch, Mann-Whitney, the paired test
// over shared blocks, and for a positive quantity the ratio of means. `effect_size` is the
// verdict's (on the log scale for a positive quantity). The Holm columns are filled later.
Comparison compare_with_baseline(const Levels& config, const std::vector<double>& x,
                                 const std::vector<std::optional<int>>& x_blocks,
                                 const std::vector<double>& base,
                                 const std::map<int, double>& base_blocks, bool positive,
                                 bool constant, double alpha, const std::string& metric,
                                 std::vector<std::string>& notes, const Analysis& a,
                                 double& effect_size) {
  Comparison c{};
  c.config = config;
  c.n = x.size();
  c.n_baseline = base.size();
  const TTest w = welch_t(x, base, alpha);
  c.diff = w.diff;
  c.diff_ci_low = w.ci_low;
  c.diff_ci_high = w.ci_high;
  c.welch_t = w.t;
  c.welch_df = w.df;
  c.welch_p = w.p;
  c.hedges_g = hedges_g(x, base);
  const double base_mean = mean(base);
  c.diff_pct = base_mean != 0 ? 100 * w.diff / base_mean : kNaN;
  const double d_cohen = cohens_d(x, base);
  auto n80 = runs_per_group_for_power(d_cohen, 0.8, alpha);
  c.n_for_80pct_power = n80 ? static_cast<double>(*n80) : kNaN;
  c.cv = base_mean != 0 ? std::abs(w.diff / d_cohen) / std::abs(base_mean) : kNaN;
  if (!w.undefined_reason.empty() && !constant)
    notes.push_back(fmt::format("{}: {}: Welch t-test undefined: {}", metric,
                                a.comparison_label(c.config), w.undefined_reason));
  const MannWhitney mw = mann_whitney(x, base);
  c.mw_u = mw.u;
  c.mw_p = mw.p;
  c.mw_exact = mw.exact;
  c.paired_t = c.paired_p = kNaN;
  const auto cell_blocks = block_means(x, x_blocks);
  std::vector<double> diffs;
  for (const auto& [blk, v] : cell_blocks) {
    auto bb = base_blocks.find(blk);
    if (bb != base_blocks.end()) diffs.push_back(v - bb->second);
  }
  if (diffs.size() >= 2) {
    const TTest pt = paired_t(diffs, alpha);
    c.paired_t = pt.t;
    c.paired_p = pt.p;
  }
  c.ratio = c.ratio_ci_low = c.ratio_ci_high = c.ratio_p = c.ratio_p_holm = kNaN;
  if (positive) {
    const RatioInterval r = log_ratio_interval(x, base, alpha);
    c.ratio = r.ratio;
    c.ratio_ci_low = 1 + r.pct_low / 100;
    c.ratio_ci_high = 1 + r.pct_high / 100;
    c.ratio_p = log_welch_p(x, base, alpha);
  }
  effect_size = positive ? log_cohens_d(x, base) : d_cohen;
  return c;
}

// The Holm-adjusted p-values over the metric's comparisons with the baseline, and for those
// that found no difference, the runs per configuration that would show one of this size.
void adjust_comparisons(MetricAnalysis& out, const std::vector<double>& pvals,
                        const std::vector<double>& ratio_pvals,
                        const std::vector<double>& effect_sizes, double alpha) {
  const auto adjusted = holm(pvals), ratio_adjusted = holm(ratio_pvals);
  const auto& decisive = out.positive ? ratio_pvals : pvals;
  const double tests = static_cast<double>(
      std::count_if(decisive.begin(), decisive.end(), [](double p) { return std::isfinite(p); }));
  for (size_t k = 0; k < out.versus_baseline.size(); ++k) {
    Comparison& c = out.versus_baseline[k];
    c.p_holm = adjusted[k];
    c.ratio_p_holm = ratio_adjusted[k];
    c.runs_needed = kNaN;
    const double p = out.positive ? c.ratio_p_holm : c.p_holm;
    if (std::isfinite(p) && p >= alpha) {
      if (auto n = runs_per_group_for_power(effect_sizes[k], 0.8, alpha / tests))
        c.runs_needed = static_cast<double>(
            std::max<long>(*n, static_cast<long>(std::max(c.n, c.n_baseline)) + 1));
    }
  }
}

// Every configuration against the baseline, or a note when the baseline has no values.
void compare_all(const Design& d, const std::string& metric, const MetricData& m, double alpha,
                 std::vector<std::string>& notes, const Analysis& a, MetricAnalysis& out) {
  auto bit = std::find(m.cells.begin(), m.cells.end(), d.baseline);
  if (bit == m.cells.end()) {
    notes.push_back(fmt::format("{}: the baseline has no values; no comparisons", metric));
    return;
  }
  const size_t bi = bit - m.cells.begin();
  const auto& base = m.values[bi];
  const auto base_blocks = block_means(base, m.blocks[bi]);
  std::vector<double> pvals, ratio_pvals, effect_sizes;
  for (size_t i = 0; i < m.cells.size(); ++i) {
    if (i == bi) continue;
    double effect_size = kNaN;
    const Comparison c =
        compare_with_baseline(d.cells[m.cells[i]], m.values[i], m.blocks[i], base, base_blocks,
                              out.positive, out.constant, alpha, metric, notes, a, effect_size);
    pvals.push_back(c.welch_p);
    ratio_pvals.push_back(c.ratio_p);
    effect_sizes.push_back(effect_size);
    out.versus_baseline.push_back(c);
  }
  adjust_comparisons(out, pvals, ratio_pvals, effect_sizes, alpha);
}

// Why a test gave no answer, once per test; a constant metric gets one note ("no variation").
void note_undefined_tests(const MetricAnalysis& out, const std::string& metric,
                          const std::set<double>& distinct, std::vector<std::string>& notes) {
  if (!out.constant) {  // a constant metric gets one note ("no variation"), not five
    if (!out.oneway.undefined_reason.empty())
      notes.push_back(
          fmt::format("{}: one-way ANOVA undefined: {}", metric, out.oneway.undefined_reason));
    if (!out.welch.undefined_reason.empty())
      notes.push_back(
          fmt::format("{}: Welch ANOVA undefined: {}", metric, out.welch.undefined_reason));
    if (!out.levene.undefined_reason.empty())
      notes.push_back(fmt::format("{}: Brown-Forsythe test undefined: {}", metric,
                                  out.levene.undefined_reason));
    if (!out.factorial.undefined_reason.empty())
      notes.push_back(fmt::format("{}: factorial ANOVA F tests undefined: {}", metric,
                                  out.factorial.undefined_reason));
  } else {
    notes.push_back(
        fmt::format("{}: no variation (every run has {:.6g}; zero variance), so no "
                    "test applies",
                    metric, *distinct.begin()));
  }
  if (!out.factorial.dropped.empty())
    notes.push_back(fmt::format("{}: factorial ANOVA: the design cannot estimate {}; dropped",
                                metric, fmt::join(out.factorial.dropped, ", ")));
}

MetricAnalysis analyze_metric(const Design& d, const std::string& metric, const MetricData& m,
                              double alpha, std::vector<std::string>& notes, const Analysis& a) {
  MetricAnalysis out;
  out.metric = metric;
  bool all_positive = true;
  std::set<double> distinct;
  for (const auto& v : m.values)
    for (double x : v) {
      all_positive = all_positive && x > 0;
      distinct.insert(x);
    }
  out.positive = all_positive && positive_quantity(metric);
  out.constant = distinct.size() == 1;
  for (size_t i = 0; i < m.cells.size(); ++i) {
    const Description s = describe(m.values[i]);
    CellStats c{d.cells[m.cells[i]], s.n,      s.mean, s.sd,  s.se, s.ci95_low,
                s.ci95_high,         s.median, s.min,  s.max, s.cv, false};
    if (out.positive) {
      std::tie(c.ci95_low, c.ci95_high) = cox_interval(m.values[i]);
      c.cox_interval = true;
    }
    out.cells.push_back(c);
  }

  compare_all(d, metric, m, alpha, notes, a, out);
  out.oneway = oneway_anova(m.values);
  out.welch = welch_anova(m.values);
  out.levene = brown_forsythe(m.values);
  out.factorial = factorial_for(d, m);
  note_undefined_tests(out, metric, distinct, notes);
  std::string tukey_reason;
  for (const auto& p : tukey_hsd(m.values, &tukey_reason))
    out.tukey.push_back(
        {d.cells[m.cells[p.a]], d.cells[m.cells[p.b]], p.diff, p.p_adj, p.ci_low, p.ci_high});
  if (!tukey_reason.empty() && !out.constant)
    notes.push_back(fmt::format("{}: Tukey HSD undefined: {}", metric, tukey_reason));
  return out;
}

// Configurations with fewer successful runs than others (a grown plan, failures) are named: a
// comparison of 3 runs with 8 is not the balanced design the plan promised.
void note_balance(Analysis& a) {
  std::vector<const ConfigRuns*> compared;
  for (const auto& c : a.configurations)
    if (c.ok > 0) compared.push_back(&c);
  if (compared.empty()) return;
  auto by_ok = [](const ConfigRuns* x, const ConfigRuns* y) { return x->ok < y->ok; };
  a.min_runs = (*std::min_element(compared.begin(), compared.end(), by_ok))->ok;
  a.max_runs = (*std::max_element(compared.begin(), compared.end(), by_ok))->ok;
  if (a.min_runs == a.max_runs) return;
  std::vector<std::string> short_ones;
  for (const auto* c : compared)
    if (c->ok < a.max_runs)
      short_ones.push_back(fmt::format("{} ({})", a.config_text(c->config), c->ok));
  a.notes.push_back(fmt::format(
      "unbalanced: configurations have {} to {} successful runs; fewer than {}: {}. Each "
      "comparison uses the runs its two configurations have",
      a.min_runs, a.max_runs, a.max_runs, fmt::join(short_ones, ", ")));
}

// Runs disturbed by other load on the machine (outside_cpu_share above busy_share), and the
// busiest idle baseline behind the runs (idle_cpu_busy_share).
void note_machine_load(const RunsTable& table, const AnalysisOptions& opt, Analysis& a) {
  a.idle_cpu_busy_share = kNaN;
  for (const auto& r : table.rows) {
    if (r.warmup) continue;
    if (auto it = r.metrics.find("idle_cpu_busy_share");
        it != r.metrics.end() && std::isfinite(it->second))
      a.idle_cpu_busy_share = std::isfinite(a.idle_cpu_busy_share)
                                  ? std::max(a.idle_cpu_busy_share, it->second)
                                  : it->second;
    if (r.status != RunStatus::ok) continue;
    if (auto it = r.metrics.find("outside_cpu_share");
        it != r.metrics.end() && it->second > opt.busy_share)
      a.contended.push_back({r.run_id, r.config, it->second});
  }
  if (!a.contended.empty()) {
    std::vector<std::string> runs;
    for (const auto& c : a.contended)
      runs.push_back(fmt::format("run {} ({}, {:.0f} %)", c.run_id, a.config_text(c.config),
                                 100 * c.outside_cpu_share));
    a.notes.push_back(fmt::format(
        "contended: {} run{} had more than {:.0f} % of the machine's CPU busy outside the run, "
        "which disturbs energy and time: {}",
        runs.size(), runs.size() == 1 ? "" : "s", 100 * opt.busy_share, fmt::join(runs, ", ")));
  }
  if (!a.idle_baseline_valid())
    a.notes.push_back(fmt::format(
        "the idle baseline was measured while the machine was {:.0f} % busy (more than {:.0f} "
        "%): it is not valid, and no net-of-idle figure is given",
        100 * a.idle_cpu_busy_share, 100 * opt.busy_share));
}

// Runs whose epochs never reached the target accuracy (target_reached = 0): counted per
// configuration and named, so energy_to_target_j's missing values are never silent.
void note_target_missed(const RunsTable& table, Analysis& a) {
  std::map<Levels, TargetMissed> per;
  for (const auto& r : table.rows) {
    if (r.status != RunStatus::ok || r.warmup) continue;
    auto it = r.metrics.find("target_reached");
    if (it == r.metrics.end()) continue;
    TargetMissed& t = per[r.config];
    t.config = r.config;
    ++t.of;
    if (it->second == 0) ++t.missed;
  }
  std::vector<std::string> parts;
  for (const auto& c : a.configurations)
    if (auto it = per.find(c.config); it != per.end() && it->second.missed > 0) {
      a.target_missed.push_back(it->second);
      parts.push_back(
          fmt::format("{}: {} of {}", a.config_text(c.config), it->second.missed, it->second.of));
    }
  if (!parts.empty())
    a.notes.push_back(fmt::format(
        "energy_to_target_j: runs that never reached the target accuracy have no value and are "
        "not in its statistics ({}); a configuration that often misses it costs more than its "
        "mean says",
        fmt::join(parts, "; ")));
}

}  // namespace

bool level_less(const std::string& a, const std::string& b) {
  auto x = as_number(a), y = as_number(b);
  if (x && y) return *x < *y || (*x == *y && a < b);
  if (x != y) return x.has_value();  // numbers before text
  return a < b;
}

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

bool positive_quantity(const std::string& m) {
  for (const char* suffix : {"_j", "_s", "_w", "_g", "_wh", "_kwh"})
    if (m.size() > std::string(suffix).size() && m.ends_with(suffix)) return true;
  return false;
}

std::string default_primary_metric(const std::function<bool(const std::string&)>& has_values) {
  return has_values("train_energy_j") ? "train_energy_j" : "energy_j";
}

std::string primary_metric(const RunsTable& table, const AnalysisOptions& options) {
  if (!options.primary_metric.empty()) return options.primary_metric;
  if (options.explicit_metrics && !options.metrics.empty()) return options.metrics.front();
  return default_primary_metric([&](const std::string& metric) {
    for (const auto& r : table.rows) {
      auto it = r.metrics.find(metric);
      if (it != r.metrics.end() && std::isfinite(it->second)) return true;
    }
    return false;
  });
}

namespace {

// A marked phase's own energy (train_energy_j, epoch_energy_j), not a component's, a net
// figure or a per-component split of a phase.
bool phase_energy_column(const std::string& c) {
  if (!c.ends_with("_energy_j") || c == "energy_j") return false;
  for (const char* prefix : {"net_", "gpu_", "cpu_", "ram_", "wall_"})
    if (c.starts_with(prefix)) return false;
  for (const char* suffix :
       {"_net_energy_j", "_gpu_energy_j", "_cpu_energy_j", "_ram_energy_j", "_wall_energy_j"})
    if (c.ends_with(suffix)) return false;
  return true;
}

}  // namespace

std::vector<std::string> default_metrics(const RunsTable& table, const AnalysisOptions& options) {
  std::vector<std::string> out = {primary_metric(table, options)};
  auto add = [&](const std::string& m) {
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  add("energy_j");
  for (const auto& c : table.metric_columns)
    if (phase_energy_column(c) || c == "energy_to_target_j") add(c);
  for (const char* m : {"duration_s", "test_accuracy", "avg_power_w", "co2e_g"}) add(m);
  return out;
}

Analysis analyze(const RunsTable& table, const AnalysisOptions& opt) {
  if (!(opt.alpha > 0 && opt.alpha < 1))
    throw gt::UsageError(fmt::format("--alpha: {} is not between 0 and 1", opt.alpha));
  Analysis a;
  a.alpha = opt.alpha;
  a.factors = table.factors;
  const Design d = build_design(table, opt, a);
  a.baseline = d.cells[d.baseline];
  a.primary_metric = primary_metric(table, opt);
  a.busy_share = opt.busy_share;
  {
    std::vector<std::map<std::string, std::string>> configs;
    for (const auto& c : a.configurations) configs.push_back(a.config_map(c.config));
    a.label_factors = varying_factors(configs, a.factors);
  }
  note_balance(a);
  note_machine_load(table, opt, a);
  note_target_missed(table, a);

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
      a.notes.push_back(fmt::format("{} '{}' is not in the runs table; skipped", what, m));
      return false;
    }
    return true;
  };

  std::vector<std::string> metrics =
      opt.metrics.empty() ? default_metrics(table, opt) : opt.metrics;
  metrics.insert(metrics.begin(), a.primary_metric);
  for (const auto& m : metrics) {
    if (a.metric(m)) continue;
    const bool named = opt.explicit_metrics || m == opt.primary_metric;
    if (!check_metric(m, named, m == a.primary_metric ? "primary metric" : "metric")) continue;
    const MetricData md = metric_data(d, m, &a.notes);
    if (md.values.empty()) {
      a.notes.push_back(fmt::format("metric '{}' has no values in the usable runs; skipped", m));
      continue;
    }
    size_t missing = 0;
    for (const auto* r : d.used) missing += r->metrics.count(m) ? 0 : 1;
    if (missing)
      a.notes.push_back(
          fmt::format("{}: {} usable runs have no value and are left out", m, missing));
    a.metrics.push_back(analyze_metric(d, m, md, opt.alpha, a.notes, a));
  }

  for (const auto& spec : opt.equivalence) {
    if (!check_metric(spec.metric, false, "equivalence metric")) continue;
    const bool analysed = a.metric(spec.metric) != nullptr;
    const MetricData md = metric_data(d, spec.metric, analysed ? nullptr : &a.notes);
    auto bit = std::find(md.cells.begin(), md.cells.end(), d.baseline);
    if (bit == md.cells.end()) continue;
    const auto& base = md.values[bit - md.cells.begin()];
    for (size_t i = 0; i < md.cells.size(); ++i) {
      if (md.cells[i] == d.baseline) continue;
      const Tost t = tost_welch(md.values[i], base, spec.margin, opt.alpha);
      const Levels& config = d.cells[md.cells[i]];
      if (!t.undefined_reason.empty())
        a.notes.push_back(fmt::format("{}: {}: TOST p undefined: {}", spec.metric,
                                      a.comparison_label(config), t.undefined_reason));
      double n_needed = kNaN;
      if (!t.equivalent) {
        const auto n =
            runs_per_group_for_equivalence(t.diff, std::sqrt(variance(md.values[i])),
                                           std::sqrt(variance(base)), spec.margin, opt.alpha);
        if (n) n_needed = static_cast<double>(*n);
      }
      a.equivalence.push_back(
          {spec.metric, config, spec.margin, t.diff, t.p, t.equivalent, n_needed});
    }
  }

  a.verdicts = detail::verdicts(a, opt);
  a.headline = detail::headline(a, opt);
  return a;
}

}  // namespace gt::stats
