// The analysis of a runs table: per-configuration descriptive statistics, every configuration
// versus the baseline (Welch t, Holm, Hedges g, Mann-Whitney U, paired t over blocks, runs needed
// for 80 % power), one-way / Welch ANOVA, Brown-Forsythe, Tukey HSD, Type II factorial ANOVA with
// two-way interactions, TOST equivalence, and plain-language verdicts. analyze() returns the stable
// JSON that `greentrain analyze --format json` prints; the renderers turn that JSON into a terminal
// table or Markdown, so the CLI, the report and users' scripts all read one result.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "stats/runs_table.h"

namespace gt::stats {

struct EquivalenceSpec {
  std::string metric;
  double margin;  // in the metric's units: test_accuracy:0.005 = half a percentage point
};

struct AnalysisOptions {
  // Metrics to analyse; metrics absent from the table are skipped with a note, unless named
  // explicitly (explicit_metrics = true), in which case a missing one is an error.
  std::vector<std::string> metrics = {"energy_j", "duration_s", "avg_power_w", "co2e_g",
                                      "test_accuracy"};
  bool explicit_metrics = false;
  // Reference configuration, factor -> level. Factors with a single level may be omitted;
  // empty = the configuration of the first run used (a note says so).
  std::map<std::string, std::string> baseline;
  double alpha = 0.05;
  std::vector<EquivalenceSpec> equivalence = {{"test_accuracy", 0.005}};
};

// Parses "precision=fp32,batch_size=32" (neurons values with commas may be quoted:
// neurons="512,256"). Throws gt::UsageError on malformed text.
std::map<std::string, std::string> parse_baseline(const std::string& text);
// Parses "test_accuracy:0.005". Throws gt::UsageError on malformed text.
EquivalenceSpec parse_equivalence(const std::string& text);

// Runs the whole analysis. Throws gt::Error (one line) for: fewer than two configurations, an
// unknown baseline factor or level, a baseline configuration with no runs, an explicitly requested
// metric that is missing. JSON keys are those tests/stats/reference.py computes with SciPy, plus:
// "factors" (names in order), "runs" ({"total", "used", "excluded", "excluded_not_ok",
// "excluded_warmup"}), "notes" (strings: zero variance, dropped terms, ...), "verdicts" (one
// plain-language line per comparison), per cell "cv", per comparison "diff_ci_low"/"diff_ci_high"
// (Welch interval at 1 - alpha) and "mw_exact", per equivalence entry "diff", and in
// "factorial_anova" a "dropped" list. Inapplicable or undefined numbers are null, never NaN.
// Configurations are ordered by level (numeric levels numerically); Tukey pairs (a, b) follow that
// order, diff = b - a.
nlohmann::json analyze(const RunsTable& table, const AnalysisOptions& options);

// Renderers over analyze()'s JSON.
std::string render_text(const nlohmann::json& analysis);
std::string render_markdown(const nlohmann::json& analysis);

}  // namespace gt::stats
