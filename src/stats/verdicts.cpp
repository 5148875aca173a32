// The plain-language results of an analysis (see analysis_detail.h): one verdict line per
// configuration and metric naming its evidence (the interval, Holm p, the runs behind it, and
// the repeats that would settle an open question), and the headline, which names a best
// configuration only when its accuracy was shown equivalent to the baseline's and its saving is
// significant; otherwise it says "inconclusive" with the observed saving and the repeats needed.
// A configuration whose every run failed is named with its failures, never silently absent.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "stats/analysis_detail.h"
#include "stats/labels.h"

namespace gt::stats::detail {

std::string metric_noun(const std::string& metric) {
  static const std::map<std::string, std::string> nouns{
      {"energy_j", "energy"},         {"net_energy_j", "net energy"},
      {"gpu_energy_j", "GPU energy"}, {"cpu_energy_j", "CPU energy"},
      {"ram_energy_j", "RAM energy"}, {"wall_energy_j", "wall energy"},
      {"duration_s", "time"},         {"avg_power_w", "average power"},
      {"peak_power_w", "peak power"}, {"co2e_g", "CO2e"},
      {"test_accuracy", "accuracy"},  {"final_loss", "final loss"}};
  if (auto it = nouns.find(metric); it != nouns.end()) return it->second;
  // Per-phase metrics: train_energy_j -> "training energy", eval_duration_s -> "eval time".
  for (const auto& [suffix, noun] :
       std::map<std::string, std::string>{{"_net_energy_j", "net energy"},
                                          {"_gpu_energy_j", "GPU energy"},
                                          {"_energy_j", "energy"},
                                          {"_duration_s", "time"}}) {
    if (metric.size() > suffix.size() && metric.ends_with(suffix)) {
      std::string phase = metric.substr(0, metric.size() - suffix.size());
      if (phase == "train") phase = "training";
      return phase + " " + noun;
    }
  }
  return metric;
}

bool in_points(const std::string& metric) { return metric.find("accuracy") != std::string::npos; }

std::string p_text(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p < 0.001) return "< 0.001";
  return fmt::format("= {:.3f}", p);
}

std::string signed_pct(double pct) { return fmt::format("{:+.1f}", pct); }

std::pair<std::string, std::string> sides(const Analysis& a, const Levels& config) {
  std::vector<size_t> differing;
  for (size_t f = 0; f < a.factors.size(); ++f)
    if (config[f] != a.baseline[f]) differing.push_back(f);
  std::vector<std::string> x, y;
  for (size_t f : differing) {
    x.push_back(readable_level(a.factors[f], config[f]));
    y.push_back(readable_level(a.factors[f], a.baseline[f]));
  }
  return {fmt::format("{}", fmt::join(x, " \u00b7 ")), fmt::format("{}", fmt::join(y, " \u00b7 "))};
}

namespace {

std::string fmt_value(double v) { return fmt::format("{:.4g}", v); }

std::string n_text(const Comparison& c) {
  return c.n == c.n_baseline ? fmt::format("n = {} each", c.n)
                             : fmt::format("n = {} and {}", c.n, c.n_baseline);
}

bool significant(const Comparison& c, bool positive, double alpha) {
  const double p = positive ? c.ratio_p_holm : c.p_holm;
  return std::isfinite(p) && p < alpha;
}

// "; about 13 runs per configuration (5 now) would show a difference of this size": from the
// test and the correction the verdict uses (Comparison::runs_needed).
std::string repeats_for_significance(const Comparison& c) {
  if (!std::isfinite(c.runs_needed)) return "";
  return fmt::format(
      "; about {} runs per configuration ({} now) would show a difference of this size (80 % "
      "power, the same Holm-adjusted test)",
      static_cast<long>(c.runs_needed), std::max(c.n, c.n_baseline));
}

std::string metric_line(const Analysis& a, const MetricAnalysis& m, const Comparison& c) {
  const auto [x, y] = sides(a, c.config);
  const std::string noun = metric_noun(m.metric);
  if (m.constant)
    return fmt::format("{}: no variation ({} in every run)", noun, fmt_value(m.cells[0].mean));
  const CellStats* cx = m.cell(c.config);
  const CellStats* cy = m.cell(a.baseline);
  if (m.positive && std::isfinite(c.ratio_p)) {
    const double pct = 100 * (c.ratio - 1);
    std::string s =
        fmt::format("{} {} {:.1f} % {} {} than {} [{}, {} %] (Holm p {}, {})", x,
                    m.metric.starts_with("co2e") ? "emitted" : "used", std::abs(pct),
                    pct < 0 ? "less" : "more", noun, y, signed_pct(100 * (c.ratio_ci_low - 1)),
                    signed_pct(100 * (c.ratio_ci_high - 1)), p_text(c.ratio_p_holm), n_text(c));
    if (!significant(c, true, a.alpha)) s += ": not significant" + repeats_for_significance(c);
    return s;
  }
  if (!std::isfinite(c.welch_p)) {
    const char* why = c.n < 2 || c.n_baseline < 2 ? "a configuration has fewer than two runs"
                                                  : "no variation within the configurations";
    return fmt::format("{}: {} {} versus {} {}, not testable ({})", noun, x,
                       cx ? fmt_value(cx->mean) : "?", y, cy ? fmt_value(cy->mean) : "?", why);
  }
  const bool points = in_points(m.metric);
  const double k = points ? 100 : 1;
  const char* unit = points ? " points" : "";
  std::string s = fmt::format("{}: {} {:+.4g}{} versus {} [{:+.4g}, {:+.4g}] (Holm p {}, {})", noun,
                              x, k * c.diff, unit, y, k * c.diff_ci_low, k * c.diff_ci_high,
                              p_text(c.p_holm), n_text(c));
  if (!significant(c, false, a.alpha)) s += ": not significant" + repeats_for_significance(c);
  return s;
}

std::string margin_text(const EquivalenceResult& e) {
  return in_points(e.metric) ? fmt::format("{:g} points", 100 * e.margin)
                             : fmt::format("{:g}", e.margin);
}

std::string diff_text(const EquivalenceResult& e) {
  return in_points(e.metric) ? fmt::format("{:+.2f} points", 100 * e.diff)
                             : fmt::format("{:+.4g}", e.diff);
}

// Why equivalence was not shown, and what would show it.
std::string equivalence_gap(const EquivalenceResult& e) {
  if (!std::isfinite(e.diff)) return "";
  if (std::abs(e.diff) >= e.margin)
    return fmt::format(
        "; the observed difference ({}) is outside the margin, so more runs would "
        "not show it",
        diff_text(e));
  if (std::isfinite(e.n_needed))
    return fmt::format("; about {} runs per configuration would show it at the observed spread",
                       static_cast<long>(e.n_needed));
  return "";
}

std::string equivalence_line(const EquivalenceResult& e) {
  const std::string noun = metric_noun(e.metric);
  const std::string p =
      std::isfinite(e.p) ? fmt::format("TOST p {}", p_text(e.p)) : "identical values";
  if (e.equivalent)
    return fmt::format("{} equivalent within +/-{} ({}, difference {})", noun, margin_text(e), p,
                       diff_text(e));
  return fmt::format("{} not shown equivalent within +/-{} ({}, difference {}){}", noun,
                     margin_text(e), p, diff_text(e), equivalence_gap(e));
}

std::string failures_line(const ConfigRuns& c, const Analysis& a) {
  const size_t total = c.ok + c.failed + c.aborted;
  const char* what = c.aborted == 0 ? "failed" : c.failed == 0 ? "aborted" : "failed or aborted";
  std::string s = fmt::format("{}: {} of {} runs {}", a.config_text(c.config), c.failed + c.aborted,
                              total, what);
  if (c.ok == 0) s += ", no successful run, so it is not compared";
  return s;
}

}  // namespace

std::vector<Verdict> verdicts(const Analysis& a, const AnalysisOptions& options) {
  std::set<std::string> equivalence_metrics;
  for (const auto& s : options.equivalence) equivalence_metrics.insert(s.metric);
  std::vector<Verdict> out;
  for (const auto& cfg : a.configurations) {
    if (cfg.config == a.baseline) continue;
    Verdict v{cfg.config, {}};
    if (cfg.ok == 0) {
      v.lines.push_back(failures_line(cfg, a));
      out.push_back(std::move(v));
      continue;
    }
    for (const auto& m : a.metrics) {
      if (equivalence_metrics.count(m.metric)) continue;
      if (const Comparison* c = m.versus(cfg.config)) v.lines.push_back(metric_line(a, m, *c));
    }
    for (const auto& spec : options.equivalence)
      if (const EquivalenceResult* e = a.equivalence_of(spec.metric, cfg.config))
        v.lines.push_back(equivalence_line(*e));
    if (!v.lines.empty()) out.push_back(std::move(v));
  }
  return out;
}

namespace {

// "18.0 % less training energy [-19.7, -16.2 %]" (a ratio), or "-0.3 s [-0.5, -0.1]" (a
// difference), for a comparison on metric m.
std::string change_text(const MetricAnalysis& m, const Comparison& c, const std::string& noun) {
  if (m.positive && std::isfinite(c.ratio)) {
    std::string s = fmt::format("{:.1f} % {} {}", std::abs(100 * (c.ratio - 1)),
                                c.ratio < 1 ? "less" : "more", noun);
    if (std::isfinite(c.ratio_ci_low))
      s += fmt::format(" [{}, {} %]", signed_pct(100 * (c.ratio_ci_low - 1)),
                       signed_pct(100 * (c.ratio_ci_high - 1)));
    return s;
  }
  const bool points = in_points(m.metric);
  const double k = points ? 100 : 1;
  std::string s = fmt::format("{} {:+.4g}{}", noun, k * c.diff, points ? " points" : "");
  if (std::isfinite(c.diff_ci_low))
    s += fmt::format(" [{:+.4g}, {:+.4g}]", k * c.diff_ci_low, k * c.diff_ci_high);
  return s;
}

// Each factor's effect against the benchmark: precision first, then the factors in plan order,
// each level other than the benchmark's that ran with every other factor at the benchmark.
std::vector<FactorEffect> factor_effects(const Analysis& a, const MetricAnalysis& m,
                                         const std::string& eq_metric) {
  std::vector<size_t> order;
  for (size_t f = 0; f < a.factors.size(); ++f)
    if (a.factors[f] == "precision") order.push_back(f);
  for (size_t f = 0; f < a.factors.size(); ++f)
    if (a.factors[f] != "precision") order.push_back(f);
  const std::string noun = metric_noun(m.metric);
  std::vector<FactorEffect> out;
  for (size_t f : order)
    for (const auto& cfg : a.configurations) {
      if (cfg.config[f] == a.baseline[f]) continue;
      bool one_factor = true;
      for (size_t g = 0; g < a.factors.size(); ++g)
        one_factor = one_factor && (g == f || cfg.config[g] == a.baseline[g]);
      const Comparison* c = one_factor ? m.versus(cfg.config) : nullptr;
      if (!c) continue;
      FactorEffect e;
      e.factor = a.factors[f];
      e.level = cfg.config[f];
      e.config = cfg.config;
      e.versus = *c;
      const EquivalenceResult* eq =
          eq_metric.empty() ? nullptr : a.equivalence_of(eq_metric, cfg.config);
      if (eq) {
        e.accuracy_diff = eq->diff;
        e.accuracy_kept = eq->equivalent;
      }
      const double p = m.positive ? c->ratio_p_holm : c->p_holm;
      const double change = m.positive && std::isfinite(c->ratio) ? c->ratio - 1 : c->diff;
      std::string verdict_text;
      if (!std::isfinite(p)) {
        e.verdict = "not_testable";
        verdict_text = "not testable (fewer than two runs, or no variation)";
      } else if (p >= a.alpha) {
        e.verdict = "no_difference_shown";
        verdict_text = "no difference shown";
        if (std::isfinite(c->runs_needed))
          verdict_text +=
              fmt::format("; about {} runs per configuration would show one of this size",
                          static_cast<long>(c->runs_needed));
      } else if (change > 0) {
        e.verdict = "costs_more";
        verdict_text = "it costs more " + noun;
      } else if (e.accuracy_kept.value_or(false)) {
        e.verdict = "saves_accuracy_kept";
        verdict_text = "a real saving, with accuracy kept";
      } else {
        e.verdict = "saves_accuracy_not_shown";
        verdict_text = e.accuracy_kept ? "a real saving, but accuracy was not shown to be kept"
                                       : "a real saving (accuracy was not tested)";
      }
      const auto [x, y] = sides(a, cfg.config);
      std::string accuracy;
      if (eq && std::isfinite(eq->diff))
        accuracy =
            fmt::format("; {} {}{}", metric_noun(eq_metric),
                        in_points(eq_metric) ? fmt::format("{:+.2f} points", 100 * eq->diff)
                                             : fmt::format("{:+.4g}", eq->diff),
                        eq->equivalent ? fmt::format(", kept within +/-{}", margin_text(*eq))
                                       : fmt::format(", not shown within +/-{}", margin_text(*eq)));
      e.sentence =
          fmt::format("{} versus {}: {} (Holm p {}, {}){}: {}", x, y, change_text(m, *c, noun),
                      p_text(p), n_text(*c), accuracy, verdict_text);
      out.push_back(std::move(e));
    }
  return out;
}

// What the headline's sentences need: the primary metric's analysis, its noun and the metric
// of the accuracy test ("" when none was tested).
struct HeadlineContext {
  const Analysis& a;
  const MetricAnalysis& m;
  std::string noun;
  std::string eq_metric;
  std::string accuracy_clause;  // said with the evidence when accuracy was not tested

  double mean_of(const Comparison& c) const { return m.cell(c.config)->mean; }
  bool equivalent(const Levels& c) const {
    if (eq_metric.empty()) return true;
    const EquivalenceResult* e = a.equivalence_of(eq_metric, c);
    return e && e->equivalent;
  }
  // "18.0 % less training energy than the baseline fp32 [-19.7, -16.2 %]"
  std::string saving(const Comparison& c) const {
    if (m.positive && std::isfinite(c.ratio)) {
      std::string s =
          fmt::format("{:.1f} % {} {} than the baseline {}", std::abs(100 * (c.ratio - 1)),
                      c.ratio < 1 ? "less" : "more", noun, a.config_text(a.baseline));
      if (std::isfinite(c.ratio_ci_low))
        s += fmt::format(" [{}, {} %]", signed_pct(100 * (c.ratio_ci_low - 1)),
                         signed_pct(100 * (c.ratio_ci_high - 1)));
      return s;
    }
    return fmt::format("{:.1f} % {} {} than the baseline {}", std::abs(c.diff_pct),
                       c.diff < 0 ? "less" : "more", noun, a.config_text(a.baseline));
  }
  std::string evidence(const Comparison& c) const {
    const double p = m.positive ? c.ratio_p_holm : c.p_holm;
    return fmt::format("Holm p {}, n = {} and {}", p_text(p), c.n, c.n_baseline);
  }
};

// The accuracy test: the first equivalence specification that was tested.
std::string accuracy_metric(const Analysis& a, const AnalysisOptions& options) {
  std::string eq_metric;
  for (const auto& s : options.equivalence)
    for (const auto& e : a.equivalence)
      if (eq_metric.empty() && e.metric == s.metric) eq_metric = s.metric;
  return eq_metric;
}

// The cheapest configuration shown to keep accuracy used less than the baseline: a winner when
// the difference is significant, else inconclusive.
void crown_equivalent(const HeadlineContext& x, const Comparison& c, Headline& h,
                      std::vector<std::string>& evidence_lines) {
  const Analysis& a = x.a;
  h.best = c.config;
  h.versus = c;
  const bool sig = significant(c, x.m.positive, a.alpha);
  const std::string eq_text =
      x.eq_metric.empty()
          ? ""
          : fmt::format(" with {} equivalent to the baseline's", metric_noun(x.eq_metric));
  if (sig) {
    h.kind = Headline::Kind::winner;
    h.cheapest = fmt::format("{} is the best configuration by {}{}: it used {}",
                             a.config_text(c.config), x.noun, eq_text, x.saving(c));
  } else {
    h.kind = Headline::Kind::inconclusive;
    h.cheapest = fmt::format("Inconclusive: {}{} used {}, but the difference is not significant",
                             a.config_text(c.config), eq_text, x.saving(c));
  }
  evidence_lines.push_back(fmt::format("Evidence: {}{}.", x.evidence(c), x.accuracy_clause));
  if (const EquivalenceResult* e = a.equivalence_of(x.eq_metric, c.config))
    evidence_lines.push_back(fmt::format("{}: {}.", a.config_text(c.config), equivalence_line(*e)));
  if (!sig && std::isfinite(c.runs_needed))
    evidence_lines.push_back(fmt::format(
        "About {} runs per configuration would show a difference of this size (80 % power with "
        "the same Holm-adjusted test; {} now).",
        static_cast<long>(c.runs_needed), std::max(c.n, c.n_baseline)));
}

// Something used less, but its accuracy was not shown equivalent: never crown the baseline.
void crown_not_equivalent(const HeadlineContext& x, const Comparison& c, Headline& h,
                          std::vector<std::string>& evidence_lines) {
  const Analysis& a = x.a;
  h.kind = Headline::Kind::inconclusive;
  h.best = c.config;
  h.versus = c;
  const EquivalenceResult* e = a.equivalence_of(x.eq_metric, c.config);
  h.cheapest = fmt::format("Inconclusive: {} used {}, but its {} was not shown equivalent",
                           a.config_text(c.config), x.saving(c), metric_noun(x.eq_metric));
  evidence_lines.push_back(fmt::format("Evidence: {}.", x.evidence(c)));
  if (e)
    evidence_lines.push_back(fmt::format("{}: {}.", a.config_text(c.config), equivalence_line(*e)));
}

// No configuration used less than the baseline.
void crown_baseline(const HeadlineContext& x, const Comparison* best_eq, const Comparison* cheapest,
                    Headline& h, std::vector<std::string>& evidence_lines) {
  const Analysis& a = x.a;
  const auto& versus = x.m.versus_baseline;
  h.kind = Headline::Kind::baseline_best;
  h.best = a.baseline;
  const size_t shown =
      best_eq ? std::count_if(versus.begin(), versus.end(),
                              [&](const Comparison& c) { return x.equivalent(c.config); })
              : 0;
  h.cheapest = fmt::format("The baseline {} used the least {}: no other configuration used less",
                           a.config_text(a.baseline), x.noun);
  if (!x.eq_metric.empty())
    evidence_lines.push_back(fmt::format("{} of {} other configurations had {} shown equivalent.",
                                         shown, versus.size(), metric_noun(x.eq_metric)));
  if (cheapest) {
    h.versus = *cheapest;
    evidence_lines.push_back(fmt::format("The closest, {}, used {} ({}).",
                                         a.config_text(cheapest->config), x.saving(*cheapest),
                                         x.evidence(*cheapest)));
  }
}

Headline unavailable_headline(const Analysis& a, const MetricAnalysis* m) {
  Headline h;
  h.metric = a.primary_metric;
  h.kind = Headline::Kind::unavailable;
  h.title = m ? fmt::format(
                    "No headline: no configuration has {} values to compare with the "
                    "baseline",
                    h.metric)
              : fmt::format("No headline: the runs have no {} values", h.metric);
  h.cheapest = h.title;
  return h;
}

}  // namespace

Headline headline(const Analysis& a, const AnalysisOptions& options) {
  const MetricAnalysis* m = a.metric(a.primary_metric);
  std::vector<std::string> failures;
  for (const auto& c : a.configurations)
    if (c.failed + c.aborted > 0) failures.push_back(failures_line(c, a));
  auto finish = [&](Headline& out) {
    for (auto& f : failures) out.details.push_back("Failed runs: " + f + ".");
    return out;
  };
  if (!m || m->versus_baseline.empty()) {
    Headline h = unavailable_headline(a, m);
    return finish(h);
  }
  Headline h;
  h.metric = a.primary_metric;
  HeadlineContext x{a, *m, metric_noun(h.metric), accuracy_metric(a, options), ""};
  if (x.eq_metric.empty())
    x.accuracy_clause = fmt::format(
        "; {} was not tested for equivalence, so configurations "
        "competed on {} alone",
        options.equivalence.empty() ? std::string("accuracy")
                                    : metric_noun(options.equivalence[0].metric),
        x.noun);
  const CellStats* base = m->cell(a.baseline);
  const Comparison* best_eq = nullptr;  // cheapest among those shown equivalent
  const Comparison* cheapest = nullptr;
  for (const auto& c : m->versus_baseline) {
    if (!cheapest || x.mean_of(c) < x.mean_of(*cheapest)) cheapest = &c;
    if (x.equivalent(c.config) && (!best_eq || x.mean_of(c) < x.mean_of(*best_eq))) best_eq = &c;
  }
  std::vector<std::string> evidence_lines;
  if (best_eq && x.mean_of(*best_eq) < base->mean)
    crown_equivalent(x, *best_eq, h, evidence_lines);
  else if (cheapest && x.mean_of(*cheapest) < base->mean)
    crown_not_equivalent(x, *cheapest, h, evidence_lines);
  else
    crown_baseline(x, best_eq, cheapest, h, evidence_lines);
  // The answer first: each factor's effect (precision first), then the cheapest configuration
  // that kept accuracy, then the evidence for it.
  h.effects = factor_effects(a, *m, x.eq_metric);
  if (h.effects.empty()) {
    h.title = h.cheapest;
  } else {
    h.title = h.effects.front().sentence;
    for (size_t i = 1; i < h.effects.size(); ++i) h.details.push_back(h.effects[i].sentence + ".");
    h.details.push_back("Cheapest that kept accuracy: " + h.cheapest + ".");
  }
  for (auto& l : evidence_lines) h.details.push_back(std::move(l));
  return finish(h);
}

}  // namespace gt::stats::detail
