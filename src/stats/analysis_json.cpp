// stats::Analysis's look-ups and its JSON serialisation (see analysis.h). The JSON is the public
// contract of `analyze --format json`: key names and shapes stay stable, undefined numbers are
// null, configurations are objects factor -> level.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "stats/analysis.h"
#include "stats/analysis_detail.h"
#include "stats/labels.h"
#include "stats/missing.h"

namespace gt::stats {
namespace {

using json = nlohmann::json;

}  // namespace

const CellStats* MetricAnalysis::cell(const Levels& config) const {
  for (const auto& c : cells)
    if (c.config == config) return &c;
  return nullptr;
}

const Comparison* MetricAnalysis::versus(const Levels& config) const {
  for (const auto& c : versus_baseline)
    if (c.config == config) return &c;
  return nullptr;
}

const char* Headline::kind_name() const {
  switch (kind) {
    case Kind::winner:
      return "winner";
    case Kind::baseline_best:
      return "baseline_best";
    case Kind::inconclusive:
      return "inconclusive";
    case Kind::unavailable:
      break;
  }
  return "unavailable";
}

const MetricAnalysis* Analysis::metric(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.metric == name) return &m;
  return nullptr;
}

const EquivalenceResult* Analysis::equivalence_of(const std::string& metric_name,
                                                  const Levels& config) const {
  for (const auto& e : equivalence)
    if (e.metric == metric_name && e.config == config) return &e;
  return nullptr;
}

const ConfigRuns* Analysis::runs_of(const Levels& config) const {
  for (const auto& c : configurations)
    if (c.config == config) return &c;
  return nullptr;
}

std::map<std::string, std::string> Analysis::config_map(const Levels& config) const {
  std::map<std::string, std::string> out;
  for (size_t f = 0; f < factors.size() && f < config.size(); ++f) out[factors[f]] = config[f];
  return out;
}

std::string Analysis::config_text(const Levels& config) const {
  return readable_label(config_map(config), label_factors.empty() ? factors : label_factors);
}

bool Analysis::idle_baseline_valid() const {
  return !(std::isfinite(idle_cpu_busy_share) && idle_cpu_busy_share > busy_share);
}

std::string Analysis::comparison_label(const Levels& config) const {
  const auto [x, y] = detail::sides(*this, config);
  std::vector<std::string> same;
  for (size_t f = 0; f < factors.size(); ++f) {
    if (config[f] != baseline[f]) continue;
    bool varies = false;  // name only factors that vary among the configurations
    for (const auto& c : configurations) varies = varies || c.config[f] != config[f];
    if (varies) same.push_back(readable_level(factors[f], config[f]));
  }
  std::string s = fmt::format("{} vs {}", x, y);
  if (!same.empty()) s += fmt::format(" ({})", fmt::join(same, " \u00b7 "));
  return s;
}

namespace {

// A configuration as the JSON gives it: an object factor -> level.
json config_json(const Analysis& a, const Levels& c) {
  json o = json::object();
  for (const auto& [k, v] : a.config_map(c)) o[k] = v;
  return o;
}

json cell_json(const Analysis& a, const CellStats& s) {
  return {{"config", config_json(a, s.config)},
          {"label", a.config_text(s.config)},
          {"n", s.n},
          {"mean", finite_or_null(s.mean)},
          {"sd", finite_or_null(s.sd)},
          {"se", finite_or_null(s.se)},
          {"ci95_low", finite_or_null(s.ci95_low)},
          {"ci95_high", finite_or_null(s.ci95_high)},
          {"median", finite_or_null(s.median)},
          {"min", finite_or_null(s.min)},
          {"max", finite_or_null(s.max)},
          {"cv", finite_or_null(s.cv)},
          {"ci95_method", s.cox_interval ? "cox-lognormal" : "t"}};
}

json comparison_json(const Analysis& a, const Comparison& c) {
  return {{"config", config_json(a, c.config)},
          {"label", a.config_text(c.config)},
          {"comparison", a.comparison_label(c.config)},
          {"n", c.n},
          {"n_baseline", c.n_baseline},
          {"diff", finite_or_null(c.diff)},
          {"diff_pct", finite_or_null(c.diff_pct)},
          {"diff_ci_low", finite_or_null(c.diff_ci_low)},
          {"diff_ci_high", finite_or_null(c.diff_ci_high)},
          {"welch_t", finite_or_null(c.welch_t)},
          {"welch_df", finite_or_null(c.welch_df)},
          {"welch_p", finite_or_null(c.welch_p)},
          {"p_holm", finite_or_null(c.p_holm)},
          {"hedges_g", finite_or_null(c.hedges_g)},
          {"mw_u", finite_or_null(c.mw_u)},
          {"mw_p", finite_or_null(c.mw_p)},
          {"mw_exact", c.mw_exact},
          {"paired_t", finite_or_null(c.paired_t)},
          {"paired_p", finite_or_null(c.paired_p)},
          {"n_for_80pct_power", finite_or_null(c.n_for_80pct_power)},
          {"runs_needed", finite_or_null(c.runs_needed)},
          {"ratio", finite_or_null(c.ratio)},
          {"ratio_ci_low", finite_or_null(c.ratio_ci_low)},
          {"ratio_ci_high", finite_or_null(c.ratio_ci_high)},
          {"ratio_p", finite_or_null(c.ratio_p)},
          {"ratio_p_holm", finite_or_null(c.ratio_p_holm)}};
}

// The type 2 factorial ANOVA: one row per term, then the residual.
json factorial_json(const MetricAnalysis& m) {
  json terms = json::array();
  for (const auto& t : m.factorial.terms)
    terms.push_back({{"term", t.term},
                     {"df", finite_or_null(t.df)},
                     {"sum_sq", finite_or_null(t.sum_sq)},
                     {"f", finite_or_null(t.f)},
                     {"p", finite_or_null(t.p)},
                     {"partial_eta_sq", finite_or_null(t.partial_eta_sq)}});
  terms.push_back({{"term", "Residual"},
                   {"df", finite_or_null(m.factorial.residual_df)},
                   {"sum_sq", finite_or_null(m.factorial.residual_ss)}});
  return {{"type", 2}, {"terms", terms}, {"dropped", m.factorial.dropped}};
}

json tukey_json(const Analysis& a, const MetricAnalysis& m) {
  json tukey = json::array();
  for (const auto& p : m.tukey)
    tukey.push_back({{"a", config_json(a, p.a)},
                     {"b", config_json(a, p.b)},
                     {"a_label", a.config_text(p.a)},
                     {"b_label", a.config_text(p.b)},
                     {"diff", finite_or_null(p.diff)},
                     {"p_adj", finite_or_null(p.p_adj)},
                     {"ci_low", finite_or_null(p.ci_low)},
                     {"ci_high", finite_or_null(p.ci_high)}});
  return tukey;
}

json metric_json(const Analysis& a, const MetricAnalysis& m) {
  json out;
  out["positive"] = m.positive;
  out["constant"] = m.constant;
  json cells = json::array();
  for (const auto& s : m.cells) cells.push_back(cell_json(a, s));
  out["cells"] = cells;
  json versus = json::array();
  for (const auto& c : m.versus_baseline) versus.push_back(comparison_json(a, c));
  out["versus_baseline"] = versus;
  out["oneway_anova"] = {{"f", finite_or_null(m.oneway.f)},
                         {"df_between", finite_or_null(m.oneway.df_between)},
                         {"df_within", finite_or_null(m.oneway.df_within)},
                         {"p", finite_or_null(m.oneway.p)},
                         {"eta_sq", finite_or_null(m.oneway.eta_sq)}};
  out["welch_anova"] = {{"f", finite_or_null(m.welch.f)},
                        {"df_num", finite_or_null(m.welch.df_num)},
                        {"df_den", finite_or_null(m.welch.df_den)},
                        {"p", finite_or_null(m.welch.p)}};
  out["levene"] = {{"w", finite_or_null(m.levene.w)}, {"p", finite_or_null(m.levene.p)}};
  out["factorial_anova"] = factorial_json(m);
  out["tukey_hsd"] = tukey_json(a, m);
  return out;
}

json equivalence_json(const Analysis& a, const EquivalenceResult& e) {
  return {{"metric", e.metric},
          {"config", config_json(a, e.config)},
          {"label", a.config_text(e.config)},
          {"margin", e.margin},
          {"diff", finite_or_null(e.diff)},
          {"p", finite_or_null(e.p)},
          {"equivalent", e.equivalent},
          {"n_needed", finite_or_null(e.n_needed)}};
}

json effect_json(const Analysis& a, const FactorEffect& e) {
  json v = json::object();
  if (e.versus)
    v = {{"diff", finite_or_null(e.versus->diff)},
         {"diff_pct", finite_or_null(e.versus->diff_pct)},
         {"diff_ci_low", finite_or_null(e.versus->diff_ci_low)},
         {"diff_ci_high", finite_or_null(e.versus->diff_ci_high)},
         {"p_holm", finite_or_null(e.versus->p_holm)},
         {"ratio", finite_or_null(e.versus->ratio)},
         {"ratio_ci_low", finite_or_null(e.versus->ratio_ci_low)},
         {"ratio_ci_high", finite_or_null(e.versus->ratio_ci_high)},
         {"ratio_p_holm", finite_or_null(e.versus->ratio_p_holm)},
         {"runs_needed", finite_or_null(e.versus->runs_needed)}};
  return {{"factor", e.factor},
          {"level", e.level},
          {"config", config_json(a, e.config)},
          {"label", a.config_text(e.config)},
          {"versus_baseline", v},
          {"accuracy_diff", finite_or_null(e.accuracy_diff)},
          {"accuracy_kept", e.accuracy_kept ? json(*e.accuracy_kept) : json(nullptr)},
          {"verdict", e.verdict},
          {"sentence", e.sentence}};
}

json headline_json(const Analysis& a) {
  const Headline& h = a.headline;
  json effects = json::array();
  for (const auto& e : h.effects) effects.push_back(effect_json(a, e));
  return {{"kind", h.kind_name()},
          {"metric", h.metric},
          {"best", h.best.empty() ? json(nullptr) : config_json(a, h.best)},
          {"best_label", h.best.empty() ? json(nullptr) : json(a.config_text(h.best))},
          {"title", h.title},
          {"effects", effects},
          {"cheapest", h.cheapest},
          {"details", h.details}};
}

// The configurations and runs the analysis saw, before any metric.
void add_runs_json(const Analysis& a, json& result) {
  result["runs"] = {{"total", a.runs.total},
                    {"used", a.runs.used},
                    {"excluded", a.runs.excluded_not_ok + a.runs.excluded_warmup},
                    {"excluded_not_ok", a.runs.excluded_not_ok},
                    {"excluded_warmup", a.runs.excluded_warmup}};
  json configs = json::array();
  for (const auto& c : a.configurations)
    configs.push_back({{"config", config_json(a, c.config)},
                       {"label", a.config_text(c.config)},
                       {"ok", c.ok},
                       {"failed", c.failed},
                       {"aborted", c.aborted}});
  result["configurations"] = configs;
}

void add_verdicts_json(const Analysis& a, json& result) {
  json verdict_strings = json::array(), verdict_lines = json::array();
  for (const auto& v : a.verdicts) {
    verdict_strings.push_back(
        fmt::format("{}: {}.", a.comparison_label(v.config), fmt::join(v.lines, "; ")));
    verdict_lines.push_back({{"config", config_json(a, v.config)},
                             {"label", a.config_text(v.config)},
                             {"comparison", a.comparison_label(v.config)},
                             {"lines", v.lines}});
  }
  result["verdicts"] = verdict_strings;
  result["verdict_lines"] = verdict_lines;
}

// How far the runs can be trusted: balance, contended runs, the idle baseline, missed targets.
void add_evidence_json(const Analysis& a, json& result) {
  result["balance"] = {
      {"min_runs", a.min_runs}, {"max_runs", a.max_runs}, {"balanced", a.min_runs == a.max_runs}};
  json contended_runs = json::array();
  for (const auto& c : a.contended)
    contended_runs.push_back({{"run_id", c.run_id},
                              {"config", config_json(a, c.config)},
                              {"label", a.config_text(c.config)},
                              {"outside_cpu_share", c.outside_cpu_share}});
  result["contended_runs"] = contended_runs;
  result["busy_share"] = a.busy_share;
  result["idle_baseline"] = {{"cpu_busy_share", finite_or_null(a.idle_cpu_busy_share)},
                             {"valid", a.idle_baseline_valid()}};
  json missed = json::array();
  for (const auto& t : a.target_missed)
    missed.push_back({{"config", config_json(a, t.config)},
                      {"label", a.config_text(t.config)},
                      {"missed", t.missed},
                      {"of", t.of}});
  result["target_not_reached"] = missed;
}

}  // namespace

nlohmann::json Analysis::to_json() const {
  json result;
  result["alpha"] = alpha;
  result["factors"] = factors;
  result["baseline"] = config_json(*this, baseline);
  result["primary_metric"] = primary_metric;
  add_runs_json(*this, result);
  json metrics_out = json::object(), order = json::array();
  for (const auto& m : metrics) {
    order.push_back(m.metric);
    metrics_out[m.metric] = metric_json(*this, m);
  }
  result["metrics"] = metrics_out;
  result["metric_order"] = order;
  json eq = json::array();
  for (const auto& e : equivalence) eq.push_back(equivalence_json(*this, e));
  result["equivalence"] = eq;
  add_verdicts_json(*this, result);
  result["headline"] = headline_json(*this);
  add_evidence_json(*this, result);
  result["notes"] = notes;
  return result;
}

}  // namespace gt::stats
