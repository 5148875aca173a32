// The analysis of a runs table as one typed value, stats::Analysis: per-configuration
// descriptive statistics, every configuration versus the baseline (Welch t, Holm, Hedges g,
// Mann-Whitney U, paired t over blocks, runs needed for 80 % power, and for positive quantities
// the ratio of means on the log scale), one-way / Welch ANOVA, Brown-Forsythe, Tukey HSD,
// Type II factorial ANOVA with two-way interactions, TOST equivalence, plain-language verdicts
// and a headline that names the best configuration only when the evidence supports it.
// to_json() is the public serialisation (`analyze --format json`); the terminal and Markdown
// renderers and the HTML report all read this value, so every number has one source.
#pragma once
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stats/anova.h"
#include "stats/factorial.h"
#include "stats/runs_table.h"

namespace gt::stats {

struct EquivalenceSpec {
  std::string metric;
  double margin;  // in the metric's units: test_accuracy:0.005 = half a percentage point
};

struct AnalysisOptions {
  // Metrics to analyse; empty = the default list in reading order (see default_metrics()),
  // metrics absent from the table skipped with a note. Named explicitly (explicit_metrics =
  // true), a missing one is an error. The primary metric is always analysed, first.
  std::vector<std::string> metrics;
  bool explicit_metrics = false;
  // The metric the headline, the verdicts' order and the stopping rule judge by, when the plan
  // (or `analyze --primary`) names it; empty: see primary_metric().
  std::string primary_metric;
  // A run is contended when more than this share of the machine's CPU capacity was busy outside
  // its process tree (its `outside_cpu_share` column); an idle baseline busier than this
  // (`idle_cpu_busy_share`) is not valid, and net energy from it is not shown.
  double busy_share = 0.2;
  // Reference configuration, factor -> level. Factors with a single level may be omitted;
  // empty = the configuration of the first run used (a note says so).
  std::map<std::string, std::string> baseline;
  double alpha = 0.05;
  std::vector<EquivalenceSpec> equivalence = {{"test_accuracy", 0.005}};
  // Blocking factors for the factorial ANOVA (e.g. the GPU or host a run used) would join the
  // factors passed to factorial_anova_type2() in analysis.cpp's factorial_for(); none today.
};

// One level per factor, in Analysis::factors order.
using Levels = std::vector<std::string>;

// NaN marks an undefined or inapplicable number throughout (null in JSON, "-" in text).
struct CellStats {
  Levels config;
  size_t n = 0;
  // The 95 % interval of the mean: Student's t, or for a positive quantity the modified Cox
  // interval on the log scale (Olsson 2005), which never reaches zero: exp(m + s^2/2 +- t *
  // sqrt(s^2/n + s^4/(2(n-1)))) with m, s the mean and sd of the log values, t with n-1 df.
  double mean, sd, se, ci95_low, ci95_high, median, min, max, cv;
  bool cox_interval = false;
};

struct Comparison {  // config versus the baseline; differences are config minus baseline
  Levels config;
  size_t n = 0, n_baseline = 0;
  double diff, diff_pct, diff_ci_low, diff_ci_high;  // Welch interval at 1 - alpha
  double welch_t, welch_df, welch_p, p_holm, hedges_g;
  double mw_u, mw_p;
  bool mw_exact = false;
  double paired_t, paired_p, n_for_80pct_power;
  double cv;  // pooled sd over the baseline's mean (for the repeats-needed sentence)
  // Runs per configuration at which the test the verdict uses (Welch on log values for a
  // positive quantity, else on the values) would have 80 % power for the observed effect at
  // alpha / m, the strictest step of Holm's correction over this metric's m comparisons; at
  // least one more than the runs each side has. NaN when the difference is already significant
  // or no effect was observed.
  double runs_needed;
  // Ratio of means on the log scale (Welch on log values), for positive quantities only
  // (MetricAnalysis::positive); ratio_p_holm is Holm-adjusted over this metric's comparisons.
  double ratio, ratio_ci_low, ratio_ci_high, ratio_p, ratio_p_holm;
};

struct TukeyRow {
  Levels a, b;
  double diff, p_adj, ci_low, ci_high;  // diff = mean(b) - mean(a)
};

struct MetricAnalysis {
  std::string metric;
  // Every value is > 0 and the name carries a unit of energy, time, power or mass (_j, _s, _w,
  // _g, _wh, _kwh): differences are also given as ratios of means on the log scale.
  bool positive = false;
  bool constant = false;  // every value identical: "no variation", no tests
  std::vector<CellStats> cells;
  std::vector<Comparison> versus_baseline;
  OneWayAnova oneway;
  WelchAnova welch;
  Levene levene;
  FactorialAnova factorial;
  std::vector<TukeyRow> tukey;

  const CellStats* cell(const Levels& config) const;
  const Comparison* versus(const Levels& config) const;
};

struct EquivalenceResult {
  std::string metric;
  Levels config;
  double margin, diff, p;
  bool equivalent = false;
  // Runs per configuration at which the observed difference and spread would show
  // equivalence (NaN when shown, or when |diff| >= margin so no number of runs would).
  double n_needed;
};

struct RunCounts {
  size_t total = 0, used = 0, excluded_not_ok = 0, excluded_warmup = 0;
};

struct ConfigRuns {  // every configuration seen in the runs table, including failed-only ones
  Levels config;
  size_t ok = 0, failed = 0, aborted = 0;  // warm-up runs not counted
};

struct Verdict {
  Levels config;
  std::vector<std::string> lines;  // one per metric, then one per equivalence test
};

// One factor's effect against the benchmark: the configuration that differs from it in this
// factor alone, on the primary metric, with the accuracy change and a plain verdict.
struct FactorEffect {
  std::string factor, level;  // the level compared with the benchmark's level of the factor
  Levels config;
  std::optional<Comparison> versus;                                 // on the primary metric
  double accuracy_diff = std::numeric_limits<double>::quiet_NaN();  // config minus benchmark
  std::optional<bool> accuracy_kept;  // equivalence shown (TOST); nullopt: not tested
  // saves_accuracy_kept | saves_accuracy_not_shown | costs_more | no_difference_shown |
  // not_testable
  std::string verdict;
  std::string sentence;  // the whole answer in one sentence
};

struct Headline {
  // winner: a configuration other than the baseline is best by the primary metric among those
  // shown accuracy-equivalent; baseline_best: the baseline is, and nothing cheaper was found;
  // inconclusive: something used less but its accuracy was not shown equivalent; unavailable:
  // no primary metric or no comparison.
  enum class Kind { winner, baseline_best, inconclusive, unavailable };
  Kind kind = Kind::unavailable;
  std::string metric;                // the primary metric
  Levels best;                       // winner / baseline_best: the best; inconclusive: cheapest
  std::optional<Comparison> versus;  // best (or cheapest) versus the baseline on the metric
  const char* kind_name() const;
  // The answer to the plan's question: each factor's effect against the benchmark, precision
  // first, then the other factors in plan order.
  std::vector<FactorEffect> effects;
  std::string cheapest;  // one sentence on the cheapest configuration that kept accuracy
  // One sentence: the first factor's effect (precision when it is a factor), or `cheapest`
  // when no configuration differs from the benchmark in one factor alone.
  std::string title;
  std::vector<std::string> details;  // the other effects, the cheapest, evidence, failures
};

// Runs of a configuration whose epochs never reached the target accuracy: they have no
// energy_to_target_j (their column target_reached is 0), and are counted here, never dropped.
struct TargetMissed {
  Levels config;
  size_t missed = 0, of = 0;  // runs that never reached it, of the runs with a target_reached
};

struct ContendedRun {  // a run with more of the machine's CPU busy outside it than busy_share
  std::string run_id;
  Levels config;
  double outside_cpu_share;
};

struct Analysis {
  double alpha = 0.05;
  std::vector<std::string> factors;
  Levels baseline;
  RunCounts runs;
  std::string primary_metric;           // train_energy_j when the runs have it, else energy_j
  std::vector<MetricAnalysis> metrics;  // in reading order, primary metric first
  std::vector<EquivalenceResult> equivalence;
  std::vector<ConfigRuns>
      configurations;             // ordered by level; includes configurations that never succeeded
  std::vector<Verdict> verdicts;  // one per configuration other than the baseline
  Headline headline;
  std::vector<std::string> notes;
  // Successful runs per configuration: fewest and most (unequal: the note names the short ones).
  size_t min_runs = 0, max_runs = 0;
  double busy_share = 0.2;
  std::vector<ContendedRun> contended;      // runs disturbed by other load on the machine
  std::vector<TargetMissed> target_missed;  // per configuration with a run that missed
  // The highest share of the machine's CPU busy while an idle baseline behind these runs was
  // measured (NaN: not recorded); above busy_share the baseline and net figures are not valid.
  double idle_cpu_busy_share = std::numeric_limits<double>::quiet_NaN();
  bool idle_baseline_valid() const;
  // Factors named in labels: those with more than one level among the configurations.
  std::vector<std::string> label_factors;

  const MetricAnalysis* metric(const std::string& name) const;
  const EquivalenceResult* equivalence_of(const std::string& metric, const Levels& config) const;
  const ConfigRuns* runs_of(const Levels& config) const;
  std::map<std::string, std::string> config_map(const Levels& config) const;
  // "fp16 vs fp32 (batch 32)" for a configuration versus the baseline.
  std::string comparison_label(const Levels& config) const;
  // The readable label (stats/labels.h) over label_factors: "fp16 · batch 32".
  std::string config_text(const Levels& config) const;
  nlohmann::json to_json() const;
};

// Parses "precision=fp32,batch_size=32" (neurons values with commas may be quoted:
// neurons="512,256"). Throws gt::UsageError on malformed text.
std::map<std::string, std::string> parse_baseline(const std::string& text);
// Parses "test_accuracy:0.005". Throws gt::UsageError on malformed text.
EquivalenceSpec parse_equivalence(const std::string& text);

// The order of a factor's levels: numerically when both are numbers ("32" < "128"), numbers
// before text, text alphabetically.
bool level_less(const std::string& a, const std::string& b);

// The primary metric, chosen here for every reader (analyze, report, the stopping rule, the
// headline): the one options name (the plan's [analysis] primary_metric, analyze --primary);
// else the first of explicitly requested metrics; else default_primary_metric() of the table.
std::string primary_metric(const RunsTable& table, const AnalysisOptions& options = {});
// Training-phase energy (train_energy_j) when any run has a value for it, else energy_j.
std::string default_primary_metric(const std::function<bool(const std::string&)>& has_values);
// The default metrics of a table, in reading order: the primary metric, energy_j, the energy
// of each marked phase (<phase>_energy_j) and energy_to_target_j when present, duration_s,
// test_accuracy, avg_power_w, co2e_g.
std::vector<std::string> default_metrics(const RunsTable& table,
                                         const AnalysisOptions& options = {});
// Whether a metric's name carries a unit of a positive quantity (energy, time, power, mass:
// _j, _s, _w, _g, _wh, _kwh): its differences are ratios and its intervals stay above zero.
bool positive_quantity(const std::string& metric);

// Runs the whole analysis. Throws gt::Error (one line) for: fewer than two configurations,
// an unknown baseline factor or level, a baseline configuration with no runs, an explicitly
// requested metric that is missing. Non-finite metric values (nan, inf) are left out with a
// note naming the run. JSON keys: "alpha", "factors", "baseline", "primary_metric", "runs"
// ({"total", "used", "excluded", "excluded_not_ok", "excluded_warmup"}), "configurations"
// (with "ok"/"failed"/"aborted"), "metrics" (per metric: "positive", "constant", "cells",
// "versus_baseline", "oneway_anova", "welch_anova", "levene", "factorial_anova" with
// "dropped", "tukey_hsd"), "equivalence", "verdicts" (one string per configuration),
// "verdict_lines", "headline" (with "effects" and "cheapest"), "balance" ({"min_runs",
// "max_runs", "balanced"}), "contended_runs", "idle_baseline", "target_not_reached", "notes". Every
// "config" object (factor -> level) has a "label" beside it in the readable scheme. Undefined
// numbers are null, never NaN. Configurations are ordered by level (numeric levels numerically);
// Tukey pairs (a, b) follow that order, diff = b - a.
Analysis analyze(const RunsTable& table, const AnalysisOptions& options);

struct RenderOptions {
  bool full = false;  // add ANOVA, Brown-Forsythe, Tukey HSD, factorial tables, Welch details
};
std::string render_text(const Analysis& analysis, const RenderOptions& options = {});
std::string render_markdown(const Analysis& analysis, const RenderOptions& options = {});
// Escapes text for Markdown: HTML-significant characters (& < > ") as entities, the
// punctuation that starts emphasis, links or code (\ ` * [ ] #) with backslashes, table pipes,
// newlines as spaces; used for every name and level written to Markdown. Underscores stay (no
// emphasis inside words such as energy_j).
std::string markdown_escape(const std::string& text);
// Escapes text for HTML: & < > " ' as entities.
std::string html_escape(std::string_view s);

}  // namespace gt::stats
