// `greentrain analyze`: statistics over a runs table. Reads the runs-table CSV (--input, with
// --factors naming the factor columns and --baseline the reference) or an experiment of the
// results database (--db, default greentrain.db; factors, benchmark and primary metric from its
// plan, as the report takes them; --baseline overrides the benchmark), runs gt::stats::analyze
// and prints the answer first
// (headline, per-metric tables, verdicts; --full adds every test) as a table, Markdown or JSON.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/analyze_blocking.h"
#include "cli/cli_number.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "common/output_file.h"
#include "experiment/analysis_input.h"
#include "experiment/store.h"
#include "stats/analysis.h"
#include "stats/blocking.h"

namespace gt::cli {
namespace {

struct AnalyzeArgs {
  std::string db, experiment, input, factors, baseline, format = "table", output;
  std::string block_by, primary;
  std::vector<std::string> metrics, equivalence;
  double alpha = 0.05;
  bool full = false;
};

std::vector<std::string> split_factors(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item.empty()) throw gt::UsageError(fmt::format("--factors: empty name in '{}'", text));
    out.push_back(item);
  }
  if (out.empty()) throw gt::UsageError("--factors: no factor names given");
  return out;
}

int run_analyze(const AnalyzeArgs& a) {
  stats::RunsTable table;
  stats::AnalysisOptions opt;
  const std::string db = a.input.empty() && a.db.empty() ? std::string("greentrain.db") : a.db;
  if (a.input.empty()) {
    // Factors and benchmark come from the plan stored with the experiment; the runs travel
    // through the same CSV runs-table that `export` writes, so both paths share one reader.
    if (!std::filesystem::exists(db))
      throw gt::Error(fmt::format(
          "--db {}: no such file (give --db DB, or --input runs.csv --factors ...)", db));
    const experiment::Store store(db, experiment::Store::Mode::read_only);
    const experiment::ExperimentRecord rec = store.experiment(a.experiment);
    auto input =
        experiment::analysis_input(store, rec, fmt::format("{} (experiment {})", db, rec.name));
    table = std::move(input.table);
    opt = std::move(input.options);
  } else {
    if (a.factors.empty())
      throw gt::UsageError(
          "analyze --input: --factors is required (e.g. --factors precision,batch_size)");
    table = stats::read_runs_csv(a.input, split_factors(a.factors));
  }

  if (!a.metrics.empty()) {
    opt.metrics = a.metrics;
    opt.explicit_metrics = true;
  }
  if (!a.primary.empty()) opt.primary_metric = a.primary;
  if (!a.baseline.empty()) opt.baseline = stats::parse_baseline(a.baseline);
  opt.alpha = a.alpha;
  if (!a.equivalence.empty()) {
    opt.equivalence.clear();
    for (const auto& e : a.equivalence) opt.equivalence.push_back(stats::parse_equivalence(e));
  }
  const stats::Analysis result = stats::analyze(table, opt);
  const stats::RenderOptions render{a.full};
  nlohmann::json blocking;  // the board or host as a blocking factor (analyze_blocking.h)
  if (!a.block_by.empty()) {
    std::vector<std::string> analysed;  // the metrics the analysis covered, in its order
    for (const auto& m : result.metrics) analysed.push_back(m.metric);
    blocking = blocking_analysis(a.db, a.experiment, a.block_by, analysed);
  }
  std::string text;
  if (a.format == "json") {
    nlohmann::json j = result.to_json();
    if (!blocking.is_null()) j["blocking"] = blocking;
    text = j.dump(2) + "\n";
  } else {
    text = a.format == "markdown" ? stats::render_markdown(result, render)
                                  : stats::render_text(result, render);
    if (!blocking.is_null()) text += stats::render_blocking(blocking, a.format == "markdown");
  }
  if (a.output.empty()) {
    std::cout << text;
  } else {
    gt::write_output_file(a.output, text, {db, a.input});
  }
  const auto& runs = result.runs;
  std::cout.flush();  // the analysis first, then the summary line, when both streams are one
  fmt::print(stderr, "analyze: {} runs used, {} excluded ({} not ok, {} warm-up)\n", runs.used,
             runs.excluded_not_ok + runs.excluded_warmup, runs.excluded_not_ok,
             runs.excluded_warmup);
  return 0;
}

}  // namespace

void add_analyze(CLI::App& app, Action& run) {
  auto args = std::make_shared<AnalyzeArgs>();
  auto* sub =
      app.add_subcommand("analyze",
                         "Statistics over an experiment's runs: per-configuration summaries, tests "
                         "versus the baseline, ANOVA, Tukey HSD, equivalence and verdicts");
  auto* db = sub->add_option("--db", args->db,
                             "Results database (SQLite; default greentrain.db unless --input)");
  sub->add_option("--experiment", args->experiment, "Experiment name in the database");
  auto* input = sub->add_option("--input", args->input, "Runs-table CSV (as written by export)")
                    ->check(CLI::ExistingFile);
  db->excludes(input);
  sub->add_option("--factors", args->factors, "Factor columns of the CSV, comma-separated")
      ->needs(input);
  sub->add_option("--metric", args->metrics,
                  "Metric column to analyse (repeatable; default the primary metric, then "
                  "energy_j, each marked phase's energy, duration_s, test_accuracy, avg_power_w, "
                  "co2e_g)");
  sub->add_option("--primary", args->primary,
                  "The metric the headline judges by (default: the plan's "
                  "analysis.primary_metric, else the first --metric, else train_energy_j when "
                  "the runs have it, else energy_j)");
  sub->add_option("--baseline", args->baseline,
                  "Reference configuration, e.g. \"precision=fp32,batch_size=32\"");
  sub->add_option("--alpha", args->alpha, "Significance level")->check(finite_number(0, 1));
  sub->add_option("--equivalence", args->equivalence,
                  "METRIC:MARGIN for a TOST equivalence test (repeatable; default "
                  "test_accuracy:0.005)");
  sub->add_flag("--full", args->full,
                "Also print the absolute differences with Welch, Mann-Whitney and paired tests, "
                "one-way and Welch ANOVA, Brown-Forsythe, the factorial ANOVA and Tukey HSD");
  sub->add_option("--format", args->format, "Output: table, markdown or json (JSON has everything)")
      ->check(CLI::IsMember({"table", "markdown", "json"}));
  sub->add_option("-o,--output", args->output, "Write to this file instead of standard output");
  sub->add_option("--block-by", args->block_by,
                  "Block on the GPU board, the host, the GPU model or a setting the GPUs ran "
                  "under (gpu_power_limit_w, gpu_app_sm_clock_mhz, gpu_throttle_reasons, ...; "
                  "from the database's provenance): its share of variance and F test per metric")
      ->check(CLI::IsMember(blocking_columns()))
      ->needs(db);
  sub->callback([&run, args] { run = [args]() { return run_analyze(*args); }; });
}

}  // namespace gt::cli
